import { randomBytes, toBase64Url } from '@personachain/crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Problem } from '../../http/problem.js';
import type { ActiveSession, Sessions } from './sessions.js';

export const SESSION_COOKIE = 'persona_session';
/** Adaptive MFA's device id: which browser a sign-in comes from, compared with the user's history. */
export const DEVICE_COOKIE = 'persona_device';
const DEVICE_ID = /^pcd_[A-Za-z0-9_-]{43}$/;
/** 400 days, the longest browsers keep a cookie. */
const DEVICE_COOKIE_SECONDS = 400 * 86_400;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * How end-user requests carry their session, and the CSRF rule for the cookie: a state-changing request
 * authenticated by the cookie must come from the platform's own origin (the public URL's, or the host the
 * request was sent to) or a configured CORS origin: its Origin header says so, or, when a browser sends no
 * Origin, Sec-Fetch-Site is same-origin. Bearer tokens are never sent by browsers on their own, so
 * they need no such check.
 */
export class SessionAuth {
  private readonly origins: Set<string>;
  private readonly secure: boolean;

  /** `corsOrigins`: other origins the platform already trusts (PERSONA_CORS_ORIGINS). */
  constructor(
    private readonly sessions: Sessions,
    publicUrl: string,
    corsOrigins: string[],
  ) {
    const url = new URL(publicUrl);
    this.origins = new Set([url.origin, ...corsOrigins]);
    this.secure = url.protocol === 'https:';
  }

  /**
   * The session of the request for the project, or 401. A restricted session (MFA enrollment pending)
   * passes only where `allowRestricted` says so.
   */
  async require(
    request: FastifyRequest,
    projectId: string,
    options: { allowRestricted?: boolean } = {},
  ): Promise<ActiveSession> {
    const bearer = request.headers.authorization?.match(/^Bearer (\S+)$/)?.[1];
    const token = bearer ?? cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (!bearer && token && !SAFE_METHODS.has(request.method)) this.checkSameOrigin(request);
    const session = token ? await this.sessions.resolve(projectId, token) : null;
    if (!session) throw new Problem('unauthorized', 'Sign in first: no valid session for this project.');
    if (session.restricted && !options.allowRestricted) {
      throw new Problem('forbidden', 'The project requires TOTP: enroll it before anything else.');
    }
    return session;
  }

  /** The live session the browser's cookie names for the project, or null (no throw, no CSRF check). */
  async fromCookie(cookieHeader: string | undefined, projectId: string): Promise<ActiveSession | null> {
    const token = cookieValue(cookieHeader, SESSION_COOKIE);
    return token ? this.sessions.resolve(projectId, token) : null;
  }

  /** Sign-in and registration: a page of another origin must not sign the browser in (login CSRF). */
  checkSameOrigin(request: FastifyRequest): void {
    const origin = request.headers.origin;
    const fetchSite = request.headers['sec-fetch-site'];
    // Under `Referrer-Policy: no-referrer` (a page of an embedding app may set it) browsers send
    // `Origin: null` even on same-origin POSTs (Fetch, "serializing a request origin"); Sec-Fetch-Site,
    // which scripts cannot set, then says where the request came from.
    const trusted =
      origin === undefined
        ? fetchSite === undefined || fetchSite === 'same-origin'
        : origin === 'null'
          ? fetchSite === 'same-origin'
          : this.origins.has(origin) || origin === `${request.protocol}://${request.host}`;
    if (!trusted) {
      throw new Problem('forbidden', 'Cross-origin request refused: send it from the platform origin.');
    }
  }

  setCookie(reply: FastifyReply, projectId: string, token: string, expiresAt: string): void {
    reply.header('set-cookie', this.cookie(projectId, token, `Expires=${new Date(expiresAt).toUTCString()}`));
  }

  clearCookie(reply: FastifyReply, projectId: string): void {
    reply.header('set-cookie', this.clearedCookie(projectId));
  }

  /** The Set-Cookie value that removes the project's session cookie. */
  clearedCookie(projectId: string): string {
    return this.cookie(projectId, '', 'Max-Age=0');
  }

  /**
   * The browser's adaptive-MFA device id for the project: the one its cookie holds, or a new random one
   * (256 bits) for a browser without it. Only a completed sign-in makes an id known.
   */
  deviceId(request: FastifyRequest): string {
    const held = cookieValue(request.headers.cookie, DEVICE_COOKIE);
    return held && DEVICE_ID.test(held) ? held : `pcd_${toBase64Url(randomBytes(32))}`;
  }

  /** Sets or refreshes the device cookie for the browser's cap on cookie lifetime. */
  setDeviceCookie(reply: FastifyReply, projectId: string, deviceId: string): void {
    const secure = this.secure ? '; Secure' : '';
    reply.header(
      'set-cookie',
      `${DEVICE_COOKIE}=${deviceId}; Path=/p/${projectId}/; Max-Age=${DEVICE_COOKIE_SECONDS}; HttpOnly; SameSite=Lax${secure}`,
    );
  }

  /** Scoped to the project's path, so the sessions of two projects never overwrite each other. */
  private cookie(projectId: string, value: string, lifetime: string): string {
    const secure = this.secure ? '; Secure' : '';
    return `${SESSION_COOKIE}=${value}; Path=/p/${projectId}/; ${lifetime}; HttpOnly; SameSite=Lax${secure}`;
  }
}
