import { afterEach, describe, expect, it } from 'vitest';
import { ReplayCache, SIGNATURE_WINDOW_MS } from '../src/http/ownership.js';
import { RateLimiter } from '../src/http/rate-limit.js';

const limiters: RateLimiter[] = [];
afterEach(() => {
  for (const limiter of limiters.splice(0)) limiter.close();
});

function limiter(rate: number, burst: number, maxClients?: number) {
  let now = 1_000_000;
  const instance = new RateLimiter(rate, burst, maxClients, () => now);
  limiters.push(instance);
  return {
    instance,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('RateLimiter', () => {
  it('admits a burst, then refills at the rate, and says how long to wait', () => {
    const { instance, advance } = limiter(2, 4);
    for (let i = 0; i < 4; i++) expect(instance.take('a')).toBe(0);
    expect(instance.take('a')).toBe(1); // one token takes 0.5 s at 2/s: retry after 1 whole second
    advance(500);
    expect(instance.take('a')).toBe(0);
    expect(instance.take('a')).toBe(1);
    expect(instance.take('b')).toBe(0); // clients are independent
  });

  it('rounds Retry-After up for slow rates', () => {
    const { instance } = limiter(0.1, 1);
    expect(instance.take('a')).toBe(0);
    expect(instance.take('a')).toBe(10);
  });

  it('forgets refilled buckets and bounds the number of clients it tracks', () => {
    const { instance, advance } = limiter(10, 10, 3);
    for (const client of ['a', 'b', 'c', 'd']) instance.take(client);
    expect(instance.clientCount).toBe(3);
    advance(1_000);
    instance.prune();
    expect(instance.clientCount).toBe(0);
  });
});

describe('ReplayCache', () => {
  it('accepts a signature once and forgets it after the timestamp window', () => {
    let now = 5_000_000;
    const cache = new ReplayCache(10, () => now);
    expect(cache.remember('sig', now)).toBe(true);
    expect(cache.remember('sig', now)).toBe(false);
    now += 2 * SIGNATURE_WINDOW_MS + 1;
    cache.prune();
    expect(cache.size).toBe(0);
  });

  it('refuses new signatures rather than forget ones still inside the window', () => {
    let now = 5_000_000;
    const cache = new ReplayCache(2, () => now);
    expect(cache.remember('a', now)).toBe(true);
    expect(cache.remember('b', now)).toBe(true);
    expect(cache.remember('c', now)).toBe(false);
    expect(cache.remember('a', now)).toBe(false);
    now += SIGNATURE_WINDOW_MS + 1;
    expect(cache.remember('c', now)).toBe(true); // 'a' and 'b' have left the window
  });
});
