import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimitConfig } from '../../config.js';
import { type Form, field, PageError, sendPage, servePages } from '../../http/pages/fastify.js';
import type { Page } from '../../http/pages/html.js';
import { messagePage } from '../../http/pages/message.js';
import { Problem } from '../../http/problem.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import type { TenancyService } from '../tenancy/service.js';
import { EMAIL_BROWSER_COOKIE, type EmailCodes, type LiveLink, linkPageCookie } from './email-codes.js';
import { signInTotpPage } from './pages/account-pages.js';
import {
  type EmailForms,
  type EmailOutcome,
  emailCodePage,
  emailStartPage,
  magicLinkPage,
} from './pages/email-code-pages.js';
import { SECOND_FACTOR_UNAVAILABLE } from './risk-gate.js';
import type { IdentityService } from './service.js';
import { cookieValue, type SessionAuth } from './session-auth.js';

/** Names the OIDC interaction an emailed sign-in started from, for the magic link opened in this browser. */
export const EMAIL_INTERACTION_COOKIE = 'persona_email_interaction';
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;
const CODE_PATTERN = /^[0-9]{8}$/;
const UID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const BROWSER_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface EmailPageDeps {
  identity: IdentityService;
  emailCodes: EmailCodes;
  tenancy: TenancyService;
  sessionAuth: SessionAuth;
  publicUrl: string;
  /** Whether the project's OIDC interaction `uid` is still open (its sign-in can be finished). */
  interactionOpen: (projectId: string, uid: string) => Promise<boolean>;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}

const LINK_GONE = messagePage(
  400,
  'Link expired',
  'This link has expired or was already used. Ask for a new code on the sign-in page.',
);
const CROSS_ORIGIN = messagePage(403, 'Request refused', 'This form was sent from another site.');
const NO_EMAIL_SIGN_IN = messagePage(404, 'Not found', 'Email sign-in is not available for this project.');

/** The email address and code of a posted form, or '' for one that is missing or malformed. */
export function emailField(form: Form | undefined): string {
  const email = field(form, 'email', 254).trim();
  return EMAIL_PATTERN.test(email) ? email : '';
}

export function codeField(form: Form | undefined): string {
  const code = field(form, 'code', 16).replace(/\s/g, '');
  return CODE_PATTERN.test(code) ? code : '';
}

/**
 * Answers a posted "email me a code" form: the page to show next, and the asking-browser cookie to set
 * when a code was asked for (see EmailCodes.browserCookie).
 */
export async function requestCodePage(
  emailCodes: EmailCodes,
  projectId: string,
  forms: EmailForms,
  form: Form | undefined,
  ip: string,
): Promise<{ page: Page; setCookie?: string }> {
  const email = emailField(form);
  if (!email) return { page: emailStartPage(forms, { status: 400, error: 'Enter your email address.' }) };
  const browser = emailCodes.browserCookie(projectId);
  try {
    await emailCodes.requestSignIn(projectId, email, ip, browser.token);
  } catch (error) {
    return { page: throttledPage(forms, email, error) };
  }
  return { page: emailCodePage(forms, email), setCookie: browser.setCookie };
}

/** The page answering a code request refused for this client address (429), or rethrows. */
function throttledPage(forms: EmailForms, email: string, error: unknown): Page {
  if (!(error instanceof Problem) || error.status !== 429) throw error;
  const retryAfter = Number(error.headers['retry-after']);
  return emailStartPage(forms, {
    status: 429,
    retryAfter,
    email,
    error: 'Too many code requests from your network. Try again later.',
  });
}

/** The Set-Cookie that remembers the interaction (10 minutes, like the code) on the link's path only. */
export function interactionCookie(projectId: string, uid: string, publicUrl: string): string {
  return linkPageCookie(projectId, EMAIL_INTERACTION_COOKIE, uid, publicUrl);
}

/**
 * The email sign-in of the account pages (`/p/{projectId}/pages/account/email`), and the magic link's
 * landing page (`/p/{projectId}/auth/email/link`), which a GET only shows and a POST uses. Forms work
 * without JavaScript and are checked for the platform origin (login CSRF), like the password sign-in.
 */
export async function emailPageRoutes(app: FastifyInstance, deps: EmailPageDeps): Promise<void> {
  const { identity, emailCodes, sessionAuth } = deps;

  await app.register(async (scope) => {
    servePages(scope, 'email sign-in page failed');
    limitPerAddress(scope, deps.limiter, deps.rateLimit, 'identity');
    const base = '/p/:projectId/pages/account/email';
    const link = '/p/:projectId/auth/email/link';
    const opts = { schema: { hide: true } };

    scope.get(base, opts, async (request, reply) => {
      const projectId = await signInProject(request);
      return sendPage(reply, emailStartPage(formsOf(projectId)));
    });

    scope.post(base, opts, async (request, reply) => {
      const projectId = await signInProject(request);
      sameOrigin(request);
      const body = request.body as Form | undefined;
      const { page, setCookie } = await requestCodePage(
        emailCodes,
        projectId,
        formsOf(projectId),
        body,
        request.ip,
      );
      if (setCookie) reply.header('set-cookie', setCookie);
      return sendPage(reply, page);
    });

    scope.post(`${base}/code`, opts, async (request, reply) => {
      const projectId = await signInProject(request);
      sameOrigin(request);
      const form = request.body as Form | undefined;
      const forms = formsOf(projectId);
      const email = emailField(form);
      if (!email)
        return sendPage(reply, emailStartPage(forms, { status: 400, error: 'Enter your email address.' }));
      const userId = await emailCodes.checkSignInCode(projectId, email, codeField(form));
      if (!userId) {
        return sendPage(
          reply,
          emailCodePage(forms, email, {
            status: 401,
            error: 'The code is wrong, expired or was already used.',
          }),
        );
      }
      return signIn(request, reply, projectId, userId, accountPath(projectId));
    });

    scope.get(link, opts, async (request, reply) => {
      const projectId = await project(request);
      const token = tokenOf((request.query as Form | undefined)?.token);
      const live = token ? await emailCodes.peekLink(projectId, token, browserOf(request)) : null;
      if (!live) return sendPage(reply, LINK_GONE);
      reply.header('cache-control', 'no-store');
      return sendPage(reply, linkPage(projectId, token, live));
    });

    scope.post(link, opts, async (request, reply) => {
      const projectId = await project(request);
      sameOrigin(request);
      const form = request.body as Form | undefined;
      const token = tokenOf(form?.token);
      const live = token ? await emailCodes.peekLink(projectId, token, browserOf(request)) : null;
      if (!live) return sendPage(reply, LINK_GONE);
      reply.header('cache-control', 'no-store');
      const refused = await linkRefusal(projectId, live, form);
      if (refused) return sendPage(reply, linkPage(projectId, token, live, refused));
      // A link that needed the code was used up with it; any other is used up now.
      const used = needsCode(live)
        ? live
        : await emailCodes.consumeLink(projectId, token, browserOf(request));
      if (!used) return sendPage(reply, LINK_GONE);
      if (used.purpose === 'verify_email') {
        await identity.markEmailVerified(projectId, used.userId, 'email_link');
        return sendPage(
          reply,
          messagePage(200, 'Email verified', 'Thank you: your email address is verified.'),
        );
      }
      const uid = cookieValue(request.headers.cookie, EMAIL_INTERACTION_COOKIE);
      const continueTo =
        uid && UID_PATTERN.test(uid) && (await deps.interactionOpen(projectId, uid))
          ? `/p/${projectId}/interaction/${uid}`
          : accountPath(projectId);
      return signIn(request, reply, projectId, used.userId, continueTo);
    });
  });

  /** The asking-browser cookie of the request, when it carries one of the right shape. */
  function browserOf(request: FastifyRequest): string | undefined {
    const value = cookieValue(request.headers.cookie, EMAIL_BROWSER_COOKIE);
    return value && BROWSER_TOKEN_PATTERN.test(value) ? value : undefined;
  }

  function linkPage(projectId: string, token: string, live: LiveLink, outcome?: EmailOutcome): Page {
    return magicLinkPage(
      `/p/${projectId}/auth/email/link`,
      token,
      {
        // peekLink never answers for a second factor's code (it has no link).
        purpose: live.purpose === 'sign_in' ? 'sign_in' : 'verify_email',
        maskedEmail: live.maskedEmail,
        askCode: needsCode(live),
        askPassword: live.pendingRegistration,
      },
      outcome,
    );
  }

  /**
   * Why a link's form cannot be used as posted, or null when it can: a registration's link needs the
   * password chosen then (a wrong one costs an attempt of the code), and a sign-in link opened in
   * another browser than the asking one needs the emailed code (checking it uses the link up).
   */
  async function linkRefusal(projectId: string, live: LiveLink, form: Form | undefined) {
    if (live.pendingRegistration) {
      const password = field(form, 'password', 1024);
      if (password && (await identity.pendingPasswordMatches(projectId, live.userId, password))) return null;
      await emailCodes.spendAttempt(projectId, live.userId, 'verify_email');
      return { status: 401, error: 'That is not the password this account was registered with.' };
    }
    if (!needsCode(live)) return null;
    const code = codeField(form);
    if (code && (await emailCodes.checkEmailCode(projectId, live.userId, 'sign_in', code))) return null;
    return { status: 401, error: 'The code is wrong, expired or was already used.' };
  }

  /** Whether the project's policy lets its users sign in by email; the sign-in pages 404 otherwise. */
  async function signInProject(request: FastifyRequest): Promise<string> {
    const projectId = await project(request);
    if (!(await identity.emailSignInAllowed(projectId))) throw new PageError(NO_EMAIL_SIGN_IN);
    return projectId;
  }

  function accountPath(projectId: string): string {
    return `/p/${projectId}/pages/account`;
  }

  function formsOf(projectId: string): EmailForms {
    return { action: accountPath(projectId) };
  }

  /**
   * An emailed code or link proved the mailbox: a session and on to `continueTo`, or the second factor
   * of a TOTP user (the account pages' form), or a restricted session when the project requires MFA.
   */
  async function signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    projectId: string,
    userId: string,
    continueTo: string,
  ) {
    const deviceId = sessionAuth.deviceId(request);
    const outcome = await identity.emailFirstFactor(projectId, userId, { ip: request.ip, deviceId });
    if (!outcome) return sendPage(reply, LINK_GONE);
    if (outcome.status === 'failed') {
      return sendPage(reply, messagePage(403, 'Sign-in refused', SECOND_FACTOR_UNAVAILABLE));
    }
    if (await identity.usesAdaptiveMfa(projectId)) sessionAuth.setDeviceCookie(reply, projectId, deviceId);
    if (outcome.status === 'mfa_required') {
      const notice = outcome.reason ? { notice: outcome.reason } : {};
      return sendPage(reply, signInTotpPage(accountPath(projectId), outcome.challenge, notice));
    }
    const restricted = outcome.mfaEnrollmentRequired;
    const signed = await identity.startSession(projectId, userId, outcome.amr, restricted);
    sessionAuth.setCookie(reply, projectId, signed.token, signed.session.expiresAt);
    return reply
      .header('cache-control', 'no-store')
      .redirect(restricted ? accountPath(projectId) : continueTo, 303);
  }

  async function project(request: FastifyRequest): Promise<string> {
    const { projectId } = request.params as { projectId: string };
    if (!/^prj_[0-9a-f]{32}$/.test(projectId) || !(await deps.tenancy.projectExists(projectId))) {
      throw new PageError(messagePage(404, 'Not found', 'There is no such page.'));
    }
    if (!emailCodes.enabled) {
      throw new PageError(messagePage(404, 'Not found', 'Email sign-in is not available on this server.'));
    }
    return projectId;
  }

  function sameOrigin(request: FastifyRequest): void {
    try {
      sessionAuth.checkSameOrigin(request);
    } catch {
      throw new PageError(CROSS_ORIGIN);
    }
  }
}

/** A sign-in link opened without the asking browser's cookie: the code from the same email is needed too. */
function needsCode(live: LiveLink): boolean {
  return live.purpose === 'sign_in' && !live.sameBrowser;
}

function tokenOf(value: unknown): string {
  return typeof value === 'string' && value.length <= 100 ? value : '';
}
