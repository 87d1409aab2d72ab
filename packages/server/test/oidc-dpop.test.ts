import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { decodeJwt, exportJWK, type JWK, SignJWT } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DpopReplayCache,
  MemoryDpopReplayCache,
  RedisDpopReplayCache,
} from '../src/modules/oidc/dpop.js';
import {
  createTenant,
  PG_URL,
  REDIS_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');
if (!REDIS_URL) skipReason('PERSONA_TEST_REDIS_URL', 'Redis');

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

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
    const created = await server.json('POST', `/v1/projects/${a.projectId}/oidc-clients`, {
      key: a.keys.developer,
      body: { name: 'billing service', role: 'developer', scopes: ['issuers:read'] },
    });
    expect(created.status).toBe(201);
    config = await client.discovery(
      new URL(`${publicUrl}/p/${a.projectId}/oidc`),
      created.body.clientId,
      undefined,
      client.ClientSecretBasic(created.body.clientSecret),
      { execute: [client.allowInsecureRequests] },
    );
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
      expect(await cache.claim(id, 60_000)).toBe(true);
      expect(await cache.claim(id, 60_000)).toBe(false);
      expect(await cache.claim(randomUUID(), 60_000)).toBe(true);
    } finally {
      await cache.close();
    }
  });
});

describe('DPoP replay cache in memory', () => {
  it('forgets ids once they expire and stays within its capacity', async () => {
    let now = 0;
    const cache = new MemoryDpopReplayCache(2, () => now);
    expect(await cache.claim('a', 1000)).toBe(true);
    now = 1001;
    expect(await cache.claim('a', 1000)).toBe(true);
    expect(await cache.claim('b', 1000)).toBe(true);
    expect(await cache.claim('c', 1000)).toBe(true);
    // At capacity the oldest id ('a') was dropped; the newer ones are still remembered.
    expect(await cache.claim('c', 1000)).toBe(false);
    expect(await cache.claim('b', 1000)).toBe(false);
  });
});
