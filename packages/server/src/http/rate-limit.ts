import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { RateLimitConfig } from '../config.js';
import { Problem } from './problem.js';

export interface TakeResult {
  allowed: boolean;
  limit: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until the next request would be allowed (0 when allowed now). */
  retryAfterSeconds: number;
}

/** Token buckets by name. One implementation per process (memory) or shared across replicas (Redis). */
export interface RateLimiter {
  take(bucket: string, limit: RateLimitConfig): Promise<TakeResult>;
  close(): Promise<void>;
}

function result(allowed: boolean, tokens: number, limit: RateLimitConfig): TakeResult {
  return {
    allowed,
    limit: limit.burst,
    remaining: Math.max(0, Math.floor(tokens)),
    resetSeconds: Math.ceil((limit.burst - tokens) / limit.perSecond),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / limit.perSecond)),
  };
}

/** Buckets in this process's memory: right for one replica, the embedded default. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = () => performance.now()) {
    // Forget buckets that have refilled completely; they hold no information.
    this.sweeper = setInterval(() => this.sweep(), 60_000).unref();
  }

  async take(bucket: string, limit: RateLimitConfig): Promise<TakeResult> {
    const now = this.now();
    let state = this.buckets.get(bucket);
    if (!state) {
      state = { tokens: limit.burst, at: now };
      this.buckets.set(bucket, state);
    }
    let tokens = Math.min(limit.burst, state.tokens + ((now - state.at) / 1000) * limit.perSecond);
    const allowed = tokens >= 1;
    if (allowed) tokens -= 1;
    state.tokens = tokens;
    state.at = now;
    return result(allowed, tokens, limit);
  }

  private sweep(): void {
    const cutoff = this.now() - 3_600_000;
    for (const [name, state] of this.buckets) if (state.at < cutoff) this.buckets.delete(name);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

// One atomic step of a token bucket, on Redis's clock so replicas agree.
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return { allowed, tostring(tokens) }
`;

/** Buckets in Redis, shared by every replica. If Redis is unreachable, requests are let through. */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly onError: (error: Error) => void,
    private readonly prefix = 'persona:rl:',
  ) {
    this.redis = new Redis(url, {
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: 500,
      lazyConnect: false,
    });
    this.redis.on('error', () => {});
    this.redis.defineCommand('personaTake', { numberOfKeys: 1, lua: TAKE_SCRIPT });
  }

  async take(bucket: string, limit: RateLimitConfig): Promise<TakeResult> {
    try {
      const [allowed, tokens] = (await (
        this.redis as unknown as {
          personaTake(key: string, rate: number, burst: number): Promise<[number, string]>;
        }
      ).personaTake(this.prefix + bucket, limit.perSecond, limit.burst)) as [number, string];
      return result(allowed === 1, Number(tokens), limit);
    } catch (error) {
      // Availability over strictness: a Redis outage must not take the API down with it.
      this.onError(error as Error);
      return result(true, limit.burst, limit);
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Headers of draft-ietf-httpapi-ratelimit-headers, plus Retry-After when refused. */
export function rateLimitHeaders(taken: TakeResult): Record<string, string> {
  const headers: Record<string, string> = {
    'ratelimit-limit': String(taken.limit),
    'ratelimit-remaining': String(taken.remaining),
    'ratelimit-reset': String(taken.resetSeconds),
  };
  if (!taken.allowed) headers['retry-after'] = String(taken.retryAfterSeconds);
  return headers;
}

/**
 * Limits every request of the scope `app` per client address: for public endpoints, which have no API key
 * to count against. `bucket` names the scope, so each public surface has its own budget.
 */
export function limitPerAddress(
  app: FastifyInstance,
  limiter: RateLimiter,
  limit: RateLimitConfig,
  bucket: string,
): void {
  app.addHook('onRequest', async (request, reply) => {
    const taken = await limiter.take(`${bucket}:${request.ip}`, limit);
    reply.headers(rateLimitHeaders(taken));
    if (!taken.allowed) {
      throw new Problem('rate-limited', `Rate limit reached; retry in ${taken.retryAfterSeconds} s.`);
    }
  });
}
