import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, type JWK, jwtVerify } from 'jose';

/**
 * The JWS algorithms a DPoP proof may use, on the platform API and at the issuers' token endpoints alike:
 * asymmetric only (a proof's key is public by construction).
 */
export const DPOP_ALGORITHMS = ['EdDSA', 'ES256'] as const;
/** How far a proof's `iat` may be from now, either way (clock skew plus transit). */
export const DPOP_IAT_WINDOW_SECONDS = 60;
/** A proof is remembered this long: any proof accepted later than that has an `iat` out of the window. */
const REPLAY_TTL_MS = 2 * DPOP_IAT_WINDOW_SECONDS * 1000;
/** Proofs longer than this are refused unread (a P-256 proof is about 600 bytes). */
const MAX_PROOF_LENGTH = 4096;
const MAX_JTI_LENGTH = 256;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** What claiming a proof id found: new (now claimed), already claimed, or no room to remember it. */
export type ClaimResult =
  | { claimed: true }
  | { claimed: false; reason: 'replayed' }
  | { claimed: false; reason: 'full'; retryAfterMs: number };

/** Remembers proof ids for a while so that each proof is accepted once. */
export interface DpopReplayCache {
  /** Claims `id` for `ttlMs`: refused when it is already claimed, or when the cache has no room left. */
  claim(id: string, ttlMs: number): Promise<ClaimResult>;
  close(): Promise<void>;
}

/**
 * Room for the proofs of about 1,600 requests a second per replica (each id is kept for the replay
 * window of two minutes), in some 30 MB. Ids are claimed only for requests whose token and proof both
 * verified, so filling it takes that many authenticated, rate-limited requests.
 */
export const MEMORY_REPLAY_CAPACITY = 200_000;

/**
 * Proof ids in this process's memory: right for one replica (the embedded default). The cache is per
 * replica: with several replicas behind a load balancer a proof replayed to another replica is not caught,
 * so configure Redis (PERSONA_REDIS_URL) for that. When it is full of ids that have not expired it refuses
 * new ones rather than forget a live id, since a forgotten id could be replayed.
 */
export class MemoryDpopReplayCache implements DpopReplayCache {
  /** Id → expiry, epoch ms; insertion order is expiry order, as every id is kept for the same TTL. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly capacity = MEMORY_REPLAY_CAPACITY,
    private readonly now: () => number = Date.now,
  ) {}

  async claim(id: string, ttlMs: number): Promise<ClaimResult> {
    const now = this.now();
    const expiresAt = this.seen.get(id);
    if (expiresAt !== undefined && expiresAt > now) return { claimed: false, reason: 'replayed' };
    this.seen.delete(id);
    for (const [oldest, at] of this.seen) {
      if (at > now) break;
      this.seen.delete(oldest);
    }
    if (this.seen.size >= this.capacity) {
      const oldestExpiry = this.seen.values().next().value as number;
      return { claimed: false, reason: 'full', retryAfterMs: oldestExpiry - now };
    }
    this.seen.set(id, now + ttlMs);
    return { claimed: true };
  }

  async close(): Promise<void> {
    this.seen.clear();
  }
}

/**
 * Proof ids in Redis, shared by every replica (SET NX with an expiry: one atomic step). Unlike the rate
 * limiter this fails closed: when Redis cannot say a proof is new, the proof is refused.
 */
export class RedisDpopReplayCache implements DpopReplayCache {
  private readonly redis: Redis;

  constructor(url: string) {
    this.redis = new Redis(url, {
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: 500,
      lazyConnect: false,
    });
    this.redis.on('error', () => {});
  }

  async claim(id: string, ttlMs: number): Promise<ClaimResult> {
    const set = await this.redis.set(`persona:dpop:${id}`, '1', 'PX', ttlMs, 'NX');
    return set === 'OK' ? { claimed: true } : { claimed: false, reason: 'replayed' };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/**
 * A proof that verified: the thumbprint of its key, and the id its single use is claimed under (once the
 * access token it comes with has verified too, see DpopProofVerifier.claim).
 */
export type DpopResult = { ok: true; jkt: string; replayId: string } | { ok: false; reason: string };

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'priv'];

function base64urlSha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** The request URI as RFC 9449 §4.3 compares it: scheme, host, port and path; no query, no fragment. */
function comparableUri(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
}

/**
 * Checks DPoP proofs (RFC 9449 §4.3) sent to the platform API with a DPoP-bound access token. No server
 * nonce is asked for (§9 makes nonces optional): the `iat` window plus single-use `jti` bound freshness, and
 * the proof is bound to the token through `ath`.
 */
export class DpopProofVerifier {
  constructor(
    private readonly publicUrl: string,
    private readonly replay: DpopReplayCache,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Verifies `proof` for a request of `method` to `path` (query ignored) presenting `accessToken`: its
   * signature and claims, not yet its single use (see `claim`).
   */
  async verify(
    proof: string,
    request: { method: string; path: string; accessToken: string },
  ): Promise<DpopResult> {
    if (proof.length > MAX_PROOF_LENGTH || !JWT_SHAPE.test(proof)) {
      return { ok: false, reason: 'the DPoP proof is not a JWT' };
    }
    let jwk: JWK;
    try {
      const header = decodeProtectedHeader(proof);
      if (header.typ !== 'dpop+jwt') return { ok: false, reason: 'typ must be dpop+jwt' };
      if (!header.jwk || typeof header.jwk !== 'object') return { ok: false, reason: 'jwk is missing' };
      jwk = header.jwk;
    } catch {
      return { ok: false, reason: 'the DPoP proof header is malformed' };
    }
    if (PRIVATE_MEMBERS.some((member) => member in jwk)) {
      return { ok: false, reason: 'jwk must be a public key' };
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: [...DPOP_ALGORITHMS],
        currentDate: new Date(this.now()),
      }));
    } catch {
      return { ok: false, reason: 'the DPoP proof signature or algorithm is not valid' };
    }
    if (payload.htm !== request.method) return { ok: false, reason: 'htm does not match the request method' };
    const expected = comparableUri(`${this.publicUrl}${request.path.split('?')[0]}`);
    if (typeof payload.htu !== 'string' || comparableUri(payload.htu) !== expected) {
      return { ok: false, reason: 'htu does not match the request URI' };
    }
    const nowSeconds = this.now() / 1000;
    if (typeof payload.iat !== 'number' || Math.abs(nowSeconds - payload.iat) > DPOP_IAT_WINDOW_SECONDS) {
      return { ok: false, reason: 'iat is missing or outside the accepted window' };
    }
    if (payload.ath !== base64urlSha256(request.accessToken)) {
      return { ok: false, reason: 'ath does not match the access token' };
    }
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > MAX_JTI_LENGTH) {
      return { ok: false, reason: 'jti is missing or too long' };
    }
    const jkt = await calculateJwkThumbprint(jwk, 'sha256');
    // Keyed by key and jti, hashed: a fixed-size id, and no client-chosen string in the store.
    return { ok: true, jkt, replayId: base64urlSha256(`${jkt}.${payload.jti}`) };
  }

  /**
   * Claims a verified proof's single use. Call it only after the access token has verified and is bound
   * to the proof's key: a proof anyone can make with a throwaway key and a made-up token must not take
   * room in the replay cache. Rejects when the cache cannot be reached.
   */
  claim(proof: { replayId: string }): Promise<ClaimResult> {
    return this.replay.claim(proof.replayId, REPLAY_TTL_MS);
  }
}
