import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter, RedisRateLimiter } from '../src/http/rate-limit.js';
import { REDIS_URL, skipReason, startTestServer, type TestServer } from './helpers.js';

describe('rate limits over HTTP', () => {
  let server: TestServer;
  const tenant = { projectId: '', keys: { viewer: '', auditor: '', developer: '' } };

  beforeAll(async () => {
    server = await startTestServer({
      PERSONA_RATE_LIMIT_KEY: '1/s:5',
      PERSONA_RATE_LIMIT_PROJECT: '1/s:8',
      PERSONA_RATE_LIMIT_ANONYMOUS: '1/s:3',
    });
    // Exactly five calls of the admin key (its own burst): an org, a project and three keys.
    const org = await server.json('POST', '/v1/organizations', { body: { name: 'Limited' } });
    const project = await server.json('POST', `/v1/organizations/${org.body.id}/projects`, {
      body: { name: 'p' },
    });
    tenant.projectId = project.body.id;
    for (const role of ['viewer', 'auditor', 'developer'] as const) {
      const key = await server.json('POST', `/v1/projects/${tenant.projectId}/api-keys`, {
        body: { name: role, role },
      });
      tenant.keys[role] = key.body.secret;
    }
  });
  afterAll(() => server?.close());

  it('limits each key: 429 with Retry-After and RateLimit-* headers once the bucket is empty', async () => {
    const path = `/v1/projects/${tenant.projectId}`;
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await server.call('GET', path, { key: tenant.keys.viewer });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(last?.headers.get('retry-after')).toBe('1');
    expect(last?.headers.get('ratelimit-limit')).toBe('5');
    expect(last?.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(last?.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    expect((await (last as Response).json()).type).toBe('urn:personachain:problem:rate-limited');
  });

  it('limits the project across its keys', async () => {
    // The viewer key spent 5 of the project's 8; the auditor key has its own 5 but the project only 3 left.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await server.call('GET', `/v1/projects/${tenant.projectId}`, { key: tenant.keys.auditor })).status,
      );
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('limits unauthenticated attempts per client address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await server.call('GET', '/v1/organizations', { key: `sk_${'z'.repeat(43)}` })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('refills over time', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(
      (await server.call('GET', `/v1/projects/${tenant.projectId}`, { key: tenant.keys.developer })).status,
    ).toBe(200);
  });
});

describe('token bucket arithmetic (memory)', () => {
  it('allows the burst, then one request per 1/rate seconds', async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter(() => now);
    const limit = { perSecond: 2, burst: 3 };
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.take('b', limit));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]?.retryAfterSeconds).toBe(1);
    now += 500;
    expect((await limiter.take('b', limit)).allowed).toBe(true);
    expect((await limiter.take('b', limit)).allowed).toBe(false);
    expect((await limiter.take('other', limit)).remaining).toBe(2);
    await limiter.close();
  });
});

const redisReason = REDIS_URL ? undefined : skipReason('PERSONA_TEST_REDIS_URL', 'Redis');
describe.skipIf(!REDIS_URL)(
  `token buckets shared through Redis${redisReason ? ` (${redisReason})` : ''}`,
  () => {
    it('two limiters (two replicas) share one bucket', async () => {
      const errors: Error[] = [];
      const prefix = `persona:test:${process.pid}:${Date.now()}:`;
      const one = new RedisRateLimiter(REDIS_URL as string, (e) => errors.push(e), prefix);
      const two = new RedisRateLimiter(REDIS_URL as string, (e) => errors.push(e), prefix);
      try {
        const limit = { perSecond: 1, burst: 4 };
        const results = [];
        for (let i = 0; i < 3; i++) results.push(await one.take('k', limit), await two.take('k', limit));
        expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, false, false]);
        expect(results[5]?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(errors).toEqual([]);
      } finally {
        await one.close();
        await two.close();
      }
    });

    it('lets requests through (and reports it) when Redis is unreachable', async () => {
      const errors: Error[] = [];
      const down = new RedisRateLimiter('redis://127.0.0.1:1', (e) => errors.push(e));
      try {
        const result = await down.take('k', { perSecond: 1, burst: 1 });
        expect(result.allowed).toBe(true);
        expect(errors.length).toBe(1);
      } finally {
        await down.close();
      }
    });

    it('serves the API with Redis-backed limits', async () => {
      const server = await startTestServer({
        PERSONA_REDIS_URL: REDIS_URL as string,
        PERSONA_RATE_LIMIT_KEY: '1/s:2',
      });
      try {
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await server.call('GET', '/v1/organizations')).status);
        expect(statuses).toEqual([200, 200, 429]);
      } finally {
        await server.close();
      }
    });
  },
);
