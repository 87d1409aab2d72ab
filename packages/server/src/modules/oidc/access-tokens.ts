import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { Principal } from '../policy/model.js';
import { type ClientIdentity, isPlatformScope } from './clients.js';
import type { IssuerKey, IssuerKeys } from './signing-keys.js';

/** Verified tokens kept so a token used again costs no signature check. */
const VERIFIED_CAPACITY = 10_000;
/** How long a key looked up by kid is trusted before it is read again (its retention may end meanwhile). */
const KEY_CACHE_MS = 60_000;
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

interface VerifiedToken {
  projectId: string;
  clientId: string;
  scopes: string[];
  expiresAtMs: number;
  /** The project's key fingerprint when the token was verified: a revocation since then changes it. */
  keysFingerprint: string;
  /** The RFC 7638 thumbprint of the DPoP key the token is bound to (`cnf.jkt`); undefined: a bearer token. */
  jkt: string | undefined;
  /** One principal object per token while its client is unchanged, so per-principal policy caches hit. */
  principal?: { identity: ClientIdentity; value: Principal };
}

/**
 * How a token was presented: as a bearer token, or with the DPoP scheme and a verified proof whose key
 * has the thumbprint `jkt`.
 */
export type TokenPresentation = { scheme: 'Bearer' } | { scheme: 'DPoP'; jkt: string };

/**
 * Accepts the projects' JWT access tokens (RFC 9068) on the platform API, verified locally: signature by
 * a published key of the issuing project, `typ: at+jwt`, `iss` that project's issuer, `aud` the platform
 * API, not expired. A DPoP-bound token (`cnf.jkt`) is accepted only with the DPoP scheme and a proof made
 * with that key (RFC 9449 §7.1; the proof is checked by DpopProofVerifier); an unbound token only as a
 * bearer token. The principal is the client, in the issuer's project, with the client's role and the
 * token's platform scopes.
 *
 * Verified tokens and keys are cached. A key rotation made here clears the caches (`clear`); with a shared
 * database (several replicas) each request also compares the project's key fingerprint, one indexed read,
 * so a revocation made on another replica stops its keys' tokens here on the next request.
 */
export class AccessTokenVerifier {
  private readonly verified = new Map<string, VerifiedToken>();
  private readonly keys = new Map<
    string,
    { key: IssuerKey | undefined; readAt: number; keysFingerprint: string }
  >();
  private readonly issuerPattern: RegExp;

  constructor(
    private readonly publicUrl: string,
    private readonly platformAudience: string,
    private readonly issuerKeys: IssuerKeys,
    private readonly clientIdentity: (
      projectId: string,
      clientId: string,
    ) => Promise<ClientIdentity | undefined>,
    private readonly now: () => number = Date.now,
    /** True when other processes share the database and may rotate keys (not embedded SQLite). */
    private readonly sharedDatabase = false,
  ) {
    this.issuerPattern = new RegExp(`^${escapeRegExp(publicUrl)}/p/(prj_[0-9a-f]{32})/oidc$`);
  }

  static looksLikeJwt(bearer: string): boolean {
    return JWT_SHAPE.test(bearer);
  }

  /** The principal the token stands for, or null when it is not a valid platform access token. */
  async authenticate(token: string, presentation: TokenPresentation): Promise<Principal | null> {
    let verified = this.verified.get(token);
    if (verified && verified.keysFingerprint !== (await this.keysFingerprint(verified.projectId))) {
      this.verified.delete(token);
      verified = undefined;
    }
    if (!verified) {
      verified = await this.verify(token);
      if (!verified) return null;
      if (this.verified.size >= VERIFIED_CAPACITY)
        this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, verified);
    }
    if (verified.expiresAtMs <= this.now()) {
      this.verified.delete(token);
      return null;
    }
    const boundTo = presentation.scheme === 'DPoP' ? presentation.jkt : undefined;
    if (verified.jkt !== boundTo) return null;
    const identity = await this.clientIdentity(verified.projectId, verified.clientId);
    if (!identity) return null;
    let principal = verified.principal;
    if (!principal || !sameIdentity(principal.identity, identity)) {
      principal = {
        identity,
        value: {
          kind: 'project',
          keyId: identity.clientId,
          role: identity.role,
          scopes: verified.scopes,
          projectId: identity.projectId,
          orgId: identity.orgId,
          expiresAt: new Date(verified.expiresAtMs).toISOString(),
        },
      };
      verified.principal = principal;
    }
    return principal.value;
  }

  /** Forgets verified tokens and keys (after a client change or a key rotation). */
  clear(): void {
    this.verified.clear();
    this.keys.clear();
  }

  private async verify(token: string): Promise<VerifiedToken | undefined> {
    let kid: string | undefined;
    let issuer: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
      issuer = decodeJwt(token).iss;
    } catch {
      return undefined;
    }
    const projectId = typeof issuer === 'string' ? this.issuerPattern.exec(issuer)?.[1] : undefined;
    if (!kid || !projectId) return undefined;
    const keysFingerprint = await this.keysFingerprint(projectId);
    const key = await this.key(projectId, kid, keysFingerprint);
    if (!key) return undefined;
    try {
      const { payload } = await jwtVerify(token, key.publicKey, {
        issuer: `${this.publicUrl}/p/${projectId}/oidc`,
        audience: this.platformAudience,
        typ: 'at+jwt',
        algorithms: [key.alg],
        requiredClaims: ['exp', 'client_id'],
        currentDate: new Date(this.now()),
      });
      const jkt = boundKeyOf(payload.cnf);
      if (jkt === null || typeof payload.client_id !== 'string') return undefined;
      const scopes =
        typeof payload.scope === 'string' ? payload.scope.split(' ').filter(isPlatformScope) : [];
      return {
        projectId,
        clientId: payload.client_id,
        scopes,
        expiresAtMs: (payload.exp as number) * 1000,
        keysFingerprint,
        jkt,
      };
    } catch {
      return undefined;
    }
  }

  /**
   * A published key of the project by kid; another project's key is never found under this one. A cached
   * lookup stands while the project's keys are unchanged (`keysFingerprint`) and for KEY_CACHE_MS at most.
   */
  private async key(projectId: string, kid: string, keysFingerprint: string): Promise<IssuerKey | undefined> {
    const cacheKey = `${projectId}/${kid}`;
    const cached = this.keys.get(cacheKey);
    if (cached && cached.keysFingerprint === keysFingerprint && this.now() - cached.readAt < KEY_CACHE_MS) {
      return cached.key;
    }
    const key = await this.issuerKeys.find(projectId, kid);
    this.keys.delete(cacheKey);
    if (this.keys.size >= VERIFIED_CAPACITY) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(cacheKey, { key, readAt: this.now(), keysFingerprint });
    return key;
  }

  /** The project's key fingerprint with a shared database; constant otherwise (`clear` covers rotations). */
  private keysFingerprint(projectId: string): Promise<string> {
    return this.sharedDatabase ? this.issuerKeys.fingerprint(projectId) : Promise.resolve('');
  }
}

function sameIdentity(a: ClientIdentity | undefined, b: ClientIdentity): boolean {
  return (
    a?.clientId === b.clientId && a.projectId === b.projectId && a.orgId === b.orgId && a.role === b.role
  );
}

/**
 * The DPoP key thumbprint of a token's `cnf` claim: undefined when there is none (a bearer token), null
 * for a confirmation the API cannot check (mTLS `x5t#S256`, anything malformed), which refuses the token.
 */
function boundKeyOf(cnf: unknown): string | undefined | null {
  if (cnf === undefined) return undefined;
  if (typeof cnf !== 'object' || cnf === null) return null;
  const members = Object.keys(cnf);
  const jkt = (cnf as { jkt?: unknown }).jkt;
  return members.length === 1 && typeof jkt === 'string' && jkt.length > 0 ? jkt : null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
