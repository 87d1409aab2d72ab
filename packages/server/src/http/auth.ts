import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { AccessTokenVerifier, type TokenPresentation } from '../modules/oidc/access-tokens.js';
import { DPOP_ALGORITHMS, type DpopProofVerifier } from '../modules/oidc/dpop.js';
import type { Principal } from '../modules/policy/model.js';
import type { TenancyService } from '../modules/tenancy/service.js';
import { Problem, sendProblem } from './problem.js';
import { type RateLimiter, rateLimitHeaders, type TakeResult } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by authentication on every /v1 route before any handler runs. */
    principal: Principal;
    /** The bearer secret as sent, for request-scoped key derivation (idempotency). Never logged. */
    bearerSecret: string;
  }
}

/**
 * Remembers when each key was last used and writes it in one batch a minute, so authentication costs no
 * write per request. Lost on a crash at most one interval's worth; written on shutdown.
 */
export class LastUsedTracker {
  /** Key id → epoch milliseconds of its last use; turned into timestamps only when written. */
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly write: (times: Map<string, string>) => Promise<void>,
    intervalMs = 60_000,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => {}), intervalMs).unref();
  }

  record(keyId: string): void {
    this.pending.set(keyId, Date.now());
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = new Map([...this.pending].map(([keyId, at]) => [keyId, new Date(at).toISOString()]));
    this.pending = new Map();
    await this.write(batch);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

const BEARER = /^Bearer +([A-Za-z0-9_\-.~+/]+=*) *$/i;
const DPOP = /^DPoP +([A-Za-z0-9_\-.~+/]+=*) *$/i;

function unauthorized(
  detail: string,
  error: 'invalid_request' | 'invalid_token',
  scheme: TokenPresentation['scheme'] = 'Bearer',
): Problem {
  return new Problem('unauthorized', detail, {
    headers: { 'www-authenticate': `${scheme} realm="persona", error="${error}"` },
  });
}

/** RFC 9449 §7.1: a DPoP-scheme request whose proof is missing or not valid. */
function invalidDpopProof(reason: string): Problem {
  return new Problem('unauthorized', `The DPoP proof is not valid: ${reason}.`, {
    headers: {
      'www-authenticate': `DPoP realm="persona", error="invalid_dpop_proof", algs="${DPOP_ALGORITHMS.join(' ')}"`,
    },
  });
}

/**
 * Bucket names of a principal, built once per (cached) principal object rather than per request: the
 * limiter's map then looks up strings whose hash V8 has already computed.
 */
const bucketNames = new WeakMap<Principal, { key: string; project: string }>();

function bucketsOf(principal: Principal): { key: string; project: string } {
  let names = bucketNames.get(principal);
  if (!names) {
    names = {
      key: `key:${principal.keyId}`,
      project: principal.kind === 'project' ? `project:${principal.projectId}` : '',
    };
    bucketNames.set(principal, names);
  }
  return names;
}

/** The more restrictive of two bucket results: what the caller should pace itself by. */
function tighter(a: TakeResult, b: TakeResult): TakeResult {
  if (a.allowed !== b.allowed) return a.allowed ? b : a;
  return a.remaining / a.limit <= b.remaining / b.limit ? a : b;
}

/**
 * Authenticates every request of the scope it is registered in (the /v1 API), then applies the per-key
 * and per-project token buckets. Requests without a valid key are limited per client address: each
 * costs one indexed lookup at most, and an address that keeps failing is refused with 429.
 */
export function registerAuthentication(
  app: FastifyInstance,
  deps: {
    tenancy: TenancyService;
    /** Verifies the projects' JWT access tokens, accepted besides API keys. */
    accessTokens: AccessTokenVerifier;
    /** Verifies the proof that comes with a DPoP-bound access token (`Authorization: DPoP …`). */
    dpop: DpopProofVerifier;
    limiter: RateLimiter;
    rateLimits: Config['rateLimits'];
    lastUsed: LastUsedTracker;
  },
): void {
  const { tenancy, accessTokens, dpop, limiter, rateLimits, lastUsed } = deps;

  /**
   * The verified proof of a DPoP-scheme request (its key thumbprint and replay id), or the problem to
   * answer. Its single use is claimed later, once the token has verified too.
   */
  async function checkDpop(
    request: FastifyRequest,
    token: string,
  ): Promise<{ presentation: TokenPresentation; replayId: string } | { problem: Problem }> {
    const proof = request.headers.dpop;
    // Several DPoP headers arrive joined by commas, which no JWT contains: refused as malformed.
    if (typeof proof !== 'string' || !AccessTokenVerifier.looksLikeJwt(token)) {
      return { problem: invalidDpopProof('send one DPoP header with the access token') };
    }
    const checked = await dpop
      .verify(proof, { method: request.method, path: request.url, accessToken: token })
      .catch(() => undefined);
    if (!checked) {
      return { problem: new Problem('unavailable', 'DPoP proofs cannot be checked right now; retry.') };
    }
    if (!checked.ok) return { problem: invalidDpopProof(checked.reason) };
    return { presentation: { scheme: 'DPoP', jkt: checked.jkt }, replayId: checked.replayId };
  }

  /** Claims the single use of a proof whose token verified; the problem to answer when it cannot. */
  async function claimDpop(replayId: string): Promise<Problem | undefined> {
    const claimed = await dpop.claim({ replayId }).catch(() => undefined);
    if (!claimed) return new Problem('unavailable', 'DPoP proofs cannot be checked right now; retry.');
    if (claimed.claimed) return undefined;
    if (claimed.reason === 'replayed') return invalidDpopProof('the DPoP proof was already used');
    return new Problem('unavailable', 'Too many DPoP proofs to remember right now; retry shortly.', {
      headers: { 'retry-after': String(Math.max(1, Math.ceil(claimed.retryAfterMs / 1000))) },
    });
  }

  async function refuseAnonymous(request: FastifyRequest, problem: Problem): Promise<Problem> {
    const taken = await limiter.take(`ip:${request.ip}`, rateLimits.anonymous);
    if (taken.allowed) return problem;
    return new Problem('rate-limited', 'Too many unauthenticated requests from this address.', {
      headers: rateLimitHeaders(taken),
    });
  }

  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    if (!header) {
      return sendProblem(
        reply,
        await refuseAnonymous(
          request,
          unauthorized(
            'Send an API key ("Authorization: Bearer sk_…") or an access token of the project\'s issuer.',
            'invalid_request',
          ),
        ),
      );
    }
    let secret = BEARER.exec(header)?.[1];
    let presentation: TokenPresentation = { scheme: 'Bearer' };
    let dpopReplayId: string | undefined;
    const dpopToken = secret === undefined ? DPOP.exec(header)?.[1] : undefined;
    if (dpopToken !== undefined) {
      const checked = await checkDpop(request, dpopToken);
      if ('problem' in checked) return sendProblem(reply, await refuseAnonymous(request, checked.problem));
      secret = dpopToken;
      presentation = checked.presentation;
      dpopReplayId = checked.replayId;
    }
    // API keys first and unchanged (the fast path); a JWT is an access token of a project's issuer.
    const isAccessToken = secret !== undefined && AccessTokenVerifier.looksLikeJwt(secret);
    const principal = !secret
      ? null
      : isAccessToken
        ? await accessTokens.authenticate(secret, presentation)
        : await tenancy.authenticate(secret);
    if (!secret || !principal) {
      return sendProblem(
        reply,
        await refuseAnonymous(
          request,
          unauthorized(
            'The API key or access token is not valid, or it was revoked or has expired (a DPoP-bound token needs the DPoP scheme and a proof).',
            'invalid_token',
            presentation.scheme,
          ),
        ),
      );
    }

    const buckets = bucketsOf(principal);
    let taken = await limiter.take(buckets.key, rateLimits.key);
    // A request the key's own bucket refuses must not spend its project's shared budget.
    if (taken.allowed && principal.kind === 'project') {
      taken = tighter(taken, await limiter.take(buckets.project, rateLimits.project));
    }
    reply.headers(rateLimitHeaders(taken));
    if (!taken.allowed) {
      return sendProblem(
        reply,
        new Problem('rate-limited', `Rate limit reached; retry in ${taken.retryAfterSeconds} s.`),
      );
    }

    // Only now, with the token verified and bound to the proof's key, does the proof take a replay entry.
    if (dpopReplayId !== undefined) {
      const problem = await claimDpop(dpopReplayId);
      if (problem) return sendProblem(reply, problem);
    }

    if (!isAccessToken) lastUsed.record(principal.keyId);
    request.principal = principal;
    request.bearerSecret = secret;
  });
}
