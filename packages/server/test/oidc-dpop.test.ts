import { createHash, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { calculateJwkThumbprint, decodeJwt, exportJWK, type JWK, SignJWT } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LastUsedTracker, registerAuthentication } from '../src/http/auth.js';
import { MemoryRateLimiter } from '../src/http/rate-limit.js';
import type { AccessTokenVerifier, TokenPresentation } from '../src/modules/oidc/access-tokens.js';
import {
  DpopProofVerifier,
  type DpopReplayCache,
  MemoryDpopReplayCache,
  RedisDpopReplayCache,
} from '../src/modules/oidc/dpop.js';
import type { Principal } from '../src/modules/policy/model.js';
import type { TenancyService } from '../src/modules/tenancy/service.js';
import {
  createTenant,
  PG_URL,
  REDIS_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';
import { discoverClient, freePort, registerClient } from './oidc-helpers.js';

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');
if (!REDIS_URL) skipReason('PERSONA_TEST_REDIS_URL', 'Redis');

const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

describe.each(engines)('DPoP-bound access tokens on the platform API (%s)', (engine) => {
  let server: TestServer;
  let a: Tenant;
  let publicUrl: string;
  let config: client.Configuration;
  let keyPair: CryptoKeyPair;
  let publicJwk: JWK;
  let token: string;

  const issuersPath = () => `/v1/projects/${a.projectId}/issuers`;

  /** A proof made by hand, valid for GET issuers with `token` unless `claims`/`key` say otherwise. */
  async function proof(
    claims: Record<string, unknown> = {},
    key: { privateKey: CryptoKey; jwk: JWK } = { privateKey: keyPair.privateKey, jwk: publicJwk },
  ) {
    return new SignJWT({
      htm: 'GET',
      htu: `${publicUrl}${issuersPath()}`,
      iat: Math.floor(Date.now() / 1000),
      jti: randomUUID(),
      ath: ath(token),
      ...claims,
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
      .sign(key.privateKey);
  }

  const call = (headers: Record<string, string>, path = issuersPath()) =>
    fetch(`${publicUrl}${path}`, { headers });
  const withProof = async (dpopProof: string, path?: string) =>
    call({ authorization: `DPoP ${token}`, dpop: dpopProof }, path);

  async function expectInvalidProof(response: Response) {
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  }

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = await startTestServer({ PERSONA_PORT: String(port), PERSONA_PUBLIC_URL: publicUrl }, engine);
    a = await createTenant(server, 'Acme');
    config = (
      await registerClient(server, a, `${publicUrl}/p/${a.projectId}/oidc`, {
        name: 'billing service',
        role: 'developer',
        scopes: ['issuers:read'],
      })
    ).config;
    keyPair = await client.randomDPoPKeyPair('ES256', { extractable: true });
    publicJwk = await exportJWK(keyPair.publicKey);
    const tokens = await client.clientCredentialsGrant(
      config,
      { scope: 'issuers:read', resource: `${publicUrl}/v1` },
      { DPoP: client.getDPoPHandle(config, keyPair) },
    );
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    token = tokens.access_token;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('issues a platform token bound to the client\u2019s DPoP key', () => {
    expect(decodeJwt(token).cnf).toEqual({ jkt: expect.any(String) });
  });

  it('accepts the token with a proof made by openid-client', async () => {
    const response = await client.fetchProtectedResource(
      config,
      token,
      new URL(`${publicUrl}${issuersPath()}?limit=5`),
      'GET',
      undefined,
      undefined,
      { DPoP: client.getDPoPHandle(config, keyPair) },
    );
    expect(response.status).toBe(200);
  });

  it('accepts a hand-made proof; the query string is not part of htu', async () => {
    expect((await withProof(await proof(), `${issuersPath()}?limit=5`)).status).toBe(200);
  });

  it('refuses a proof for another method, another URI, or with a stale or future iat', async () => {
    await expectInvalidProof(await withProof(await proof({ htm: 'POST' })));
    await expectInvalidProof(await withProof(await proof({ htu: `${publicUrl}/v1/projects` })));
    await expectInvalidProof(await withProof(await proof({ htu: `http://other.test${issuersPath()}` })));
    const now = Math.floor(Date.now() / 1000);
    await expectInvalidProof(await withProof(await proof({ iat: now - 300 })));
    await expectInvalidProof(await withProof(await proof({ iat: now + 300 })));
  });

  it('refuses a replayed proof, and one without ath or for another token', async () => {
    const once = await proof();
    expect((await withProof(once)).status).toBe(200);
    await expectInvalidProof(await withProof(once));
    await expectInvalidProof(await withProof(await proof({ ath: undefined })));
    await expectInvalidProof(await withProof(await proof({ ath: ath('another token') })));
  });

  it('refuses a proof with a wrong typ, a symmetric alg or a private key in its header', async () => {
    const wrongTyp = await new SignJWT({ htm: 'GET', htu: `${publicUrl}${issuersPath()}`, jti: randomUUID() })
      .setIssuedAt()
      .setProtectedHeader({ typ: 'JWT', alg: 'ES256', jwk: publicJwk })
      .sign(keyPair.privateKey);
    await expectInvalidProof(await withProof(wrongTyp));
    const secret = new Uint8Array(32).fill(7);
    const symmetric = await new SignJWT({
      htm: 'GET',
      htu: `${publicUrl}${issuersPath()}`,
      jti: randomUUID(),
    })
      .setIssuedAt()
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'Bwc' } })
      .sign(secret);
    await expectInvalidProof(await withProof(symmetric));
    const privateJwk = await exportJWK(keyPair.privateKey);
    await expectInvalidProof(
      await withProof(await proof({}, { privateKey: keyPair.privateKey, jwk: privateJwk })),
    );
  });

  it('refuses a valid proof made with another key than the token is bound to', async () => {
    const other = await client.randomDPoPKeyPair('ES256', { extractable: true });
    const response = await withProof(
      await proof({}, { privateKey: other.privateKey, jwk: await exportJWK(other.publicKey) }),
    );
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^DPoP .*error="invalid_token"/);
  });

  it('refuses the bound token as a bearer token, and the DPoP scheme without a proof', async () => {
    const bearer = await call({ authorization: `Bearer ${token}` });
    expect(bearer.status).toBe(401);
    expect(bearer.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    await expectInvalidProof(await call({ authorization: `DPoP ${token}` }));
    // An API key is not a DPoP token.
    await expectInvalidProof(await call({ authorization: `DPoP ${a.keys.developer}`, dpop: await proof() }));
  });
});

describe.each([
  ['memory', () => new MemoryDpopReplayCache(2)],
  ...(REDIS_URL ? [['redis', () => new RedisDpopReplayCache(REDIS_URL as string)] as const] : []),
] as const)('DPoP replay cache (%s)', (_name, create) => {
  it('accepts an id once within its lifetime', async () => {
    const cache: DpopReplayCache = create();
    const id = randomUUID();
    try {
      expect(await cache.claim(id, 60_000)).toEqual({ claimed: true });
      expect(await cache.claim(id, 60_000)).toEqual({ claimed: false, reason: 'replayed' });
      expect(await cache.claim(randomUUID(), 60_000)).toEqual({ claimed: true });
    } finally {
      await cache.close();
    }
  });
});

describe('DPoP replay cache in memory', () => {
  it('forgets ids once they expire, and when full of live ids refuses new ones instead of evicting', async () => {
    let now = 0;
    const cache = new MemoryDpopReplayCache(2, () => now);
    expect(await cache.claim('a', 1000)).toEqual({ claimed: true });
    now = 1001;
    expect(await cache.claim('a', 1000)).toEqual({ claimed: true });
    now = 1500;
    expect(await cache.claim('b', 1000)).toEqual({ claimed: true });
    // Full of ids that have not expired: 'c' is refused until the oldest ('a', until 2001) expires.
    expect(await cache.claim('c', 1000)).toEqual({ claimed: false, reason: 'full', retryAfterMs: 501 });
    expect(await cache.claim('a', 1000)).toEqual({ claimed: false, reason: 'replayed' });
    expect(await cache.claim('b', 1000)).toEqual({ claimed: false, reason: 'replayed' });
    now = 2001;
    expect(await cache.claim('c', 1000)).toEqual({ claimed: true });
    expect(await cache.claim('b', 1000)).toEqual({ claimed: false, reason: 'replayed' });
  });
});

describe('DPoP proof verification', () => {
  it('claims nothing while verifying: only DpopProofVerifier.claim takes a replay entry', async () => {
    const claims: string[] = [];
    const cache: DpopReplayCache = {
      claim: async (id) => {
        claims.push(id);
        return { claimed: true };
      },
      close: async () => {},
    };
    const publicUrl = 'http://127.0.0.1:1';
    const verifier = new DpopProofVerifier(publicUrl, cache);
    const key = await client.randomDPoPKeyPair('ES256', { extractable: true });
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    const made = await new SignJWT({
      htm: 'GET',
      htu: `${publicUrl}/v1/projects`,
      iat: Math.floor(Date.now() / 1000),
      jti: randomUUID(),
      ath: ath(token),
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(key.publicKey) })
      .sign(key.privateKey);
    const checked = await verifier.verify(made, { method: 'GET', path: '/v1/projects', accessToken: token });
    expect(checked.ok).toBe(true);
    expect(claims).toEqual([]);
    if (!checked.ok) return;
    expect(await verifier.claim(checked)).toEqual({ claimed: true });
    expect(claims).toEqual([checked.replayId]);
  });
});

describe.skipIf(!REDIS_URL)(
  'DPoP proofs with invalid tokens on the platform API (Redis replay cache)',
  () => {
    let server: TestServer;
    let redis: Redis;
    let publicUrl: string;
    let projectId: string;
    let token: string;
    let keyPair: CryptoKeyPair;

    const replayKey = (jkt: string, jti: string) =>
      `persona:dpop:${createHash('sha256').update(`${jkt}.${jti}`).digest('base64url')}`;

    /** A valid proof for GET issuers presenting `accessToken`, made with `key`; its replay-cache key too. */
    async function proofFor(accessToken: string, key: CryptoKeyPair) {
      const jwk = await exportJWK(key.publicKey);
      const jti = randomUUID();
      const proof = await new SignJWT({
        htm: 'GET',
        htu: `${publicUrl}/v1/projects/${projectId}/issuers`,
        iat: Math.floor(Date.now() / 1000),
        jti,
        ath: ath(accessToken),
      })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
        .sign(key.privateKey);
      return { proof, cacheKey: replayKey(await calculateJwkThumbprint(jwk, 'sha256'), jti) };
    }

    const send = (accessToken: string, proof: string) =>
      fetch(`${publicUrl}/v1/projects/${projectId}/issuers`, {
        headers: { authorization: `DPoP ${accessToken}`, dpop: proof },
      });

    beforeAll(async () => {
      const port = await freePort();
      publicUrl = `http://127.0.0.1:${port}`;
      server = await startTestServer({
        PERSONA_PORT: String(port),
        PERSONA_PUBLIC_URL: publicUrl,
        PERSONA_REDIS_URL: REDIS_URL as string,
      });
      redis = new Redis(REDIS_URL as string);
      const tenant = await createTenant(server, 'Acme');
      projectId = tenant.projectId;
      const created = await server.json('POST', `/v1/projects/${projectId}/oidc-clients`, {
        key: tenant.keys.developer,
        body: { name: 'billing service', role: 'developer', scopes: ['issuers:read'] },
      });
      const config = await discoverClient(
        `${publicUrl}/p/${projectId}/oidc`,
        created.body.clientId,
        created.body.clientSecret,
      );
      keyPair = await client.randomDPoPKeyPair('ES256', { extractable: true });
      const tokens = await client.clientCredentialsGrant(
        config,
        { scope: 'issuers:read', resource: `${publicUrl}/v1` },
        { DPoP: client.getDPoPHandle(config, keyPair) },
      );
      token = tokens.access_token;
    });

    afterAll(async () => {
      redis?.disconnect();
      await server?.close();
    });

    it('claims no replay entry for a flood of valid proofs whose tokens do not verify', async () => {
      const attacker = await client.randomDPoPKeyPair('ES256', { extractable: true });
      const forged = `${token.split('.').slice(0, 2).join('.')}.${'A'.repeat(86)}`;
      const cacheKeys: string[] = [];
      for (let i = 0; i < 20; i++) {
        // A token with a forged signature, and the real token with a proof by a key it is not bound to.
        const accessToken = i % 2 === 0 ? forged : token;
        const { proof, cacheKey } = await proofFor(accessToken, attacker);
        const response = await send(accessToken, proof);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^DPoP .*error="invalid_token"/);
        cacheKeys.push(cacheKey);
      }
      expect(await redis.exists(...cacheKeys)).toBe(0);

      const { proof, cacheKey } = await proofFor(token, keyPair);
      expect((await send(token, proof)).status).toBe(200);
      expect(await redis.exists(cacheKey)).toBe(1);
      const replayed = await send(token, proof);
      expect(replayed.status).toBe(401);
      expect(replayed.headers.get('www-authenticate')).toMatch(/error="invalid_dpop_proof"/);
    });
  },
);

describe('DPoP replay entries on the platform API (in-memory cache)', () => {
  const publicUrl = 'http://127.0.0.1:1';
  const goodToken = 'eyJhbGciOiJFZERTQSJ9.eyJjbGllbnRfaWQiOiJvY19nb29kIn0.c2lnbmF0dXJl';
  const badToken = 'eyJhbGciOiJFZERTQSJ9.eyJjbGllbnRfaWQiOiJvY19iYWQifQ.c2lnbmF0dXJl';
  let app: FastifyInstance;
  let boundKey: CryptoKeyPair;
  let boundJkt: string;
  let lastUsed: LastUsedTracker;
  let limiter: MemoryRateLimiter;

  /** A valid proof for GET /v1/ping presenting `accessToken`, by `key`. */
  const proofFor = async (accessToken: string, key: CryptoKeyPair) =>
    new SignJWT({
      htm: 'GET',
      htu: `${publicUrl}/v1/ping`,
      iat: Math.floor(Date.now() / 1000),
      jti: randomUUID(),
      ath: ath(accessToken),
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(key.publicKey) })
      .sign(key.privateKey);
  const send = async (accessToken: string, proof: string) =>
    app.inject({ url: '/v1/ping', headers: { authorization: `DPoP ${accessToken}`, dpop: proof } });

  beforeAll(async () => {
    boundKey = await client.randomDPoPKeyPair('ES256', { extractable: true });
    boundJkt = await calculateJwkThumbprint(await exportJWK(boundKey.publicKey), 'sha256');
    const principal: Principal = {
      kind: 'project',
      keyId: 'oc_good',
      role: 'developer',
      scopes: [],
      projectId: `prj_${'a'.repeat(32)}`,
      orgId: 'org_a',
      expiresAt: null,
    };
    // Stands in for the access-token verifier: one valid token, bound to `boundKey`.
    const accessTokens = {
      authenticate: async (token: string, presentation: TokenPresentation) =>
        token === goodToken && presentation.scheme === 'DPoP' && presentation.jkt === boundJkt
          ? principal
          : null,
    } as unknown as AccessTokenVerifier;
    const tenancy = { authenticate: async () => null } as unknown as TenancyService;
    const limit = { perSecond: 10_000, burst: 10_000 };
    limiter = new MemoryRateLimiter();
    lastUsed = new LastUsedTracker(async () => {});
    app = Fastify();
    await app.register(async (scope) => {
      registerAuthentication(scope, {
        tenancy,
        accessTokens,
        // Room for two proofs: enough to show a flood claims none, and what a full cache answers.
        dpop: new DpopProofVerifier(publicUrl, new MemoryDpopReplayCache(2)),
        limiter,
        rateLimits: { key: limit, project: limit, anonymous: limit, public: limit },
        lastUsed,
      });
      scope.get('/v1/ping', async () => ({ ok: true }));
    });
  });

  afterAll(async () => {
    await app?.close();
    await lastUsed?.close();
    await limiter?.close();
  });

  it('claims nothing for proofs with invalid tokens, and refuses with 503 rather than evict when full', async () => {
    const attacker = await client.randomDPoPKeyPair('ES256', { extractable: true });
    for (let i = 0; i < 10; i++) {
      // Valid proofs, with a token that does not verify or one bound to another key.
      const response =
        i % 2 === 0
          ? await send(badToken, await proofFor(badToken, attacker))
          : await send(goodToken, await proofFor(goodToken, attacker));
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^DPoP .*error="invalid_token"/);
    }
    // The flood took no room: both places are still free for the legitimate client.
    const first = await proofFor(goodToken, boundKey);
    expect((await send(goodToken, first)).statusCode).toBe(200);
    expect((await send(goodToken, await proofFor(goodToken, boundKey))).statusCode).toBe(200);
    const replayed = await send(goodToken, first);
    expect(replayed.statusCode).toBe(401);
    expect(replayed.headers['www-authenticate']).toMatch(/error="invalid_dpop_proof"/);
    // Full of live ids: a new proof is refused for now, and the remembered ones are not forgotten.
    const full = await send(goodToken, await proofFor(goodToken, boundKey));
    expect(full.statusCode).toBe(503);
    expect(Number(full.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(full.headers['retry-after'])).toBeLessThanOrEqual(120);
    expect((await send(goodToken, first)).statusCode).toBe(401);
  });
});
