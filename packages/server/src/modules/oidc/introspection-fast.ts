import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseForm } from 'node:querystring';
import type { OidcClientsTable } from '../../store/schema.js';
import { visiblePayload } from './adapter.js';
import { hashClientSecret } from './clients.js';
import { epochNow, type OidcPayload, type OidcPayloadRepo } from './payload-repo.js';

/** oidc-provider's default clock tolerance: a stored token within it of its expiry is still found. */
const CLOCK_TOLERANCE_SECONDS = 15;
const TOKEN_MODELS = ['AccessToken', 'ClientCredentials', 'RefreshToken'] as const;
type TokenModel = (typeof TOKEN_MODELS)[number];
/** The parameters the engine reads at this endpoint (token, hint and every client-auth parameter). */
const ENGINE_PARAMS = [
  'token',
  'token_type_hint',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
];
/** What no client credential may contain once decoded (the engine's noVSCHAR). */
const NON_VSCHAR = /[^\x20-\x7E]/;
const BASE64 = /^([A-Za-z0-9+/]*)(={0,2})$/;

/** The engine answers instead: the request is not the common case this path reproduces exactly. */
const ENGINE = undefined;

export interface IntrospectionFastPathDeps {
  payloads: OidcPayloadRepo;
  findClient: (projectId: string, clientId: string) => Promise<OidcClientsTable | undefined>;
  issuer: (projectId: string) => string;
}

/**
 * RFC 7662 introspection of opaque tokens for a confidential client authenticated with its secret (basic
 * or post), answered from the same storage the engine reads, without oidc-provider's Koa pipeline. It
 * reproduces `lib/actions/introspection.js` of oidc-provider 9 for the platform's configuration (every
 * confidential client may introspect any token of its project; no pairwise subjects, no RAR, no JWT
 * responses). Whatever it does not reproduce exactly — other client authentication, wrong credentials,
 * malformed or duplicated parameters, structured tokens, session-bound tokens, unusual stored payloads —
 * it leaves to the engine (`undefined`), so errors, their headers and events stay the engine's own.
 */
export class IntrospectionFastPath {
  constructor(private readonly deps: IntrospectionFastPathDeps) {}

  /** The JSON body of the engine's 200 answer, or undefined when the engine must answer. */
  async answer(projectId: string, headers: IncomingHttpHeaders, body: Buffer): Promise<string | undefined> {
    if (
      // A browser's request: the engine checks its origin against the client (clientBasedCORS).
      headers.origin !== undefined ||
      headers.dpop !== undefined ||
      headers['oauth-client-attestation'] !== undefined ||
      headers['oauth-client-attestation-pop'] !== undefined
    ) {
      return ENGINE;
    }
    const params = readParams(body);
    if (!params) return ENGINE;
    const { token } = params;
    // Opaque tokens are base64url: a dot may be a JWT, which the engine rejects with its own error.
    if (!token || token.includes('.') || params.client_assertion !== undefined) return ENGINE;
    if (params.client_assertion_type !== undefined) return ENGINE;
    const credentials = clientCredentials(headers.authorization, params);
    if (!credentials) return ENGINE;

    const client = await this.deps.findClient(projectId, credentials.clientId);
    if (!client || client.public_client === 1 || !secretMatches(client.secret_hash, credentials.secret)) {
      return ENGINE;
    }
    const found = await this.findToken(projectId, token, params.token_type_hint);
    if (found === ENGINE) return ENGINE;
    if (found === null) return INACTIVE;
    const { model, payload } = found;
    if (!(await this.activeGrant(projectId, payload))) return INACTIVE;
    // The engine looks the token's own client up when another client asks about a user's token (for
    // pairwise subjects); a token whose client is gone makes it fail, so let it answer that itself.
    if (payload.accountId !== undefined && payload.clientId !== credentials.clientId) {
      if (!(await this.deps.findClient(projectId, String(payload.clientId)))) return ENGINE;
    }
    return JSON.stringify(activeBody(model, payload, token, this.deps.issuer(projectId)));
  }

  /**
   * The engine's `findToken`: the models in the hint's order, the first stored, well-formed and not
   * long-expired record wins; null when none is found and valid.
   */
  private async findToken(
    projectId: string,
    token: string,
    hint: string | undefined,
  ): Promise<{ model: TokenModel; payload: OidcPayload } | null | undefined> {
    const order: TokenModel[] =
      hint === 'refresh_token' || hint === 'urn:ietf:params:oauth:token-type:refresh_token'
        ? ['RefreshToken', 'AccessToken', 'ClientCredentials']
        : [...TOKEN_MODELS];
    const stored = await this.deps.payloads.findInModels(projectId, TOKEN_MODELS, token);
    const now = epochNow();
    for (const model of order) {
      const record = stored.get(model);
      if (!record) continue;
      const payload = visiblePayload(model, record);
      if (!plainOpaquePayload(model, payload, now)) return ENGINE;
      if (now - CLOCK_TOLERANCE_SECONDS >= (payload.exp as number)) continue;
      const valid = (payload.exp as number) > now && !(model === 'RefreshToken' && payload.consumed);
      return valid ? { model, payload } : null;
    }
    return null;
  }

  /** The engine's grant checks: present, not expired, of the token's client and user. */
  private async activeGrant(projectId: string, token: OidcPayload): Promise<boolean> {
    if (token.grantId === undefined) return true;
    const grant = await this.deps.payloads.find(projectId, 'Grant', token.grantId);
    if (!grant) return false;
    if (typeof grant.exp === 'number' && grant.exp <= epochNow()) return false;
    return grant.clientId === token.clientId && grant.accountId === token.accountId;
  }
}

const INACTIVE = JSON.stringify({ active: false });

/** The single-valued form parameters, or null when the engine would reject or read them differently. */
function readParams(body: Buffer): Record<string, string | undefined> | null {
  const form = parseForm(body.toString('utf8'));
  const params: Record<string, string | undefined> = {};
  for (const name of ENGINE_PARAMS) {
    const value = form[name];
    if (Array.isArray(value) || value === '') return null;
    params[name] = value;
  }
  return params;
}

/** client_secret_basic or client_secret_post, decoded as the engine decodes them; null otherwise. */
function clientCredentials(
  authorization: string | undefined,
  params: Record<string, string | undefined>,
): { clientId: string; secret: string } | null {
  if (params.client_secret !== undefined) {
    if (authorization !== undefined || params.client_id === undefined) return null;
    return { clientId: params.client_id, secret: params.client_secret };
  }
  if (authorization === undefined) return null;
  const [scheme, encoded, ...rest] = authorization.split(' ');
  if (rest.length > 0 || scheme?.toLowerCase() !== 'basic' || !encoded || !validBase64(encoded)) return null;
  const basic = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = basic.indexOf(':');
  if (colon === -1) return null;
  const clientId = decodeCredential(basic.slice(0, colon));
  const secret = decodeCredential(basic.slice(colon + 1));
  if (!clientId || !secret) return null;
  if (params.client_id !== undefined && params.client_id !== clientId) return null;
  return { clientId, secret };
}

function validBase64(input: string): boolean {
  const match = BASE64.exec(input);
  if (!match?.[1]) return false;
  const remainder = match[1].length % 4;
  if (!match[2]) return remainder !== 1;
  return (match[1].length + match[2].length) % 4 === 0 && match[2].length === 4 - remainder;
}

function decodeCredential(value: string): string | undefined {
  try {
    const decoded = decodeURIComponent(value.replace(/\+/g, '%20'));
    return NON_VSCHAR.test(decoded) ? undefined : decoded;
  } catch {
    return undefined;
  }
}

/** Secrets are stored as their SHA-256 (clients.ts): compare hashes in constant time, as provider.ts does. */
function secretMatches(storedHash: string | null, presented: string): boolean {
  const stored = Buffer.from(storedHash ?? '', 'hex');
  const hashed = Buffer.from(hashClientSecret(presented), 'hex');
  return stored.length === hashed.length && timingSafeEqual(stored, hashed);
}

/**
 * Whether the stored record is one this path answers for exactly as the engine would: an opaque token of
 * this model with numeric times, no session binding (checked against the session store by the engine),
 * no rich authorization details and no values the engine's payload checks reject.
 */
function plainOpaquePayload(model: TokenModel, payload: OidcPayload, now: number): boolean {
  if ('jwt' in payload || 'jwt-ietf' in payload || 'paseto' in payload) return false;
  if ('format' in payload && payload.format !== 'opaque') return false;
  if (payload.kind !== model || typeof payload.exp !== 'number' || typeof payload.iat !== 'number')
    return false;
  if (
    payload.nbf !== undefined &&
    (typeof payload.nbf !== 'number' || payload.nbf > now + CLOCK_TOLERANCE_SECONDS)
  ) {
    return false;
  }
  if (payload.expiresWithSession || payload.rar !== undefined || Object.hasOwn(payload, '__proto__')) {
    return false;
  }
  if (
    typeof payload.clientId !== 'string' ||
    (payload.jti !== undefined && typeof payload.jti !== 'string')
  ) {
    return false;
  }
  const { aud, iss } = payload;
  if (iss !== undefined && typeof iss !== 'string') return false;
  return (
    aud === undefined ||
    typeof aud === 'string' ||
    (Array.isArray(aud) && aud.every((a) => typeof a === 'string'))
  );
}

/** The members the engine assigns for an active token, in its order (undefined ones are not serialized). */
function activeBody(
  model: TokenModel,
  payload: OidcPayload,
  token: string,
  issuer: string,
): Record<string, unknown> {
  const body: Record<string, unknown> = { active: false };
  if (payload.accountId) body.sub = payload.accountId;
  const jkt = payload.jkt as string | undefined;
  const x5t = payload['x5t#S256'] as string | undefined;
  const senderConstrained = Boolean(jkt || x5t);
  Object.assign(body, {
    ...(model === 'RefreshToken' ? undefined : (payload.extra as object | undefined)),
    active: true,
    client_id: payload.clientId,
    exp: payload.exp,
    iat: payload.iat,
    sid: payload.sid,
    iss: issuer,
    // Opaque tokens are their own jti: the engine leaves it out then.
    jti: payload.jti !== token ? payload.jti : undefined,
    aud: model === 'RefreshToken' ? undefined : payload.aud,
    authorization_details: undefined,
    scope: payload.scope || undefined,
    cnf: senderConstrained ? {} : undefined,
    token_type: model === 'RefreshToken' ? undefined : jkt ? 'DPoP' : 'Bearer',
  });
  const cnf = body.cnf as Record<string, string> | undefined;
  if (x5t && cnf) cnf['x5t#S256'] = x5t;
  if (jkt && cnf) cnf.jkt = jkt;
  return body;
}
