import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcKeyStateRepo } from '../src/modules/oidc/key-state-repo.js';
import { RETIRED_KEY_RETENTION_MS } from '../src/modules/oidc/signing-keys.js';
import { freshPgSchema, PG_URL, skipReason } from './helpers.js';
import {
  createTenant,
  createUser,
  ENGINES,
  GOOD_PASSWORD,
  type IdentityTestServer,
  startIdentityServer,
  type Tenant,
} from './identity-helpers.js';
import { freePort, registerClient } from './oidc-helpers.js';
import { Browser, expectPage, expectRp } from './page-browser.js';

if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const DAY_MS = 24 * 3_600_000;

interface ViewKey {
  kid: string;
  alg: string;
  state: 'next' | 'active' | 'retired';
  active: boolean;
  publishedAt: string;
  activatesAt: string;
  retiredAt: string | null;
}

describe.each(ENGINES)('OIDC issuer keys: RS256 and staged rotation (%s)', (engine) => {
  let server: IdentityTestServer;
  let publicUrl: string;
  let a: Tenant;
  let machine: client.Configuration;

  const issuer = () => `${publicUrl}/p/${a.projectId}/oidc`;
  const jwks = async () => {
    const response = await fetch(`${issuer()}/jwks`);
    expect(response.status).toBe(200);
    return {
      cacheControl: response.headers.get('cache-control'),
      keys: ((await response.json()) as { keys: Record<string, unknown>[] }).keys,
    };
  };
  const keysView = async (): Promise<ViewKey[]> => {
    const response = await server.json('GET', `/v1/projects/${a.projectId}/oidc-keys`, { key: a.keys.admin });
    expect(response.status).toBe(200);
    return response.body.keys;
  };
  const rotate = (body?: Record<string, unknown>) =>
    server.json('POST', `/v1/projects/${a.projectId}/oidc-keys/rotate`, {
      key: a.keys.admin,
      ...(body && { body }),
    });
  const platformToken = async () =>
    (await client.clientCredentialsGrant(machine, { scope: 'issuers:read', resource: `${publicUrl}/v1` }))
      .access_token;
  const kidOf = (token: string) => decodeProtectedHeader(token).kid;
  const apiStatus = async (token: string) =>
    (await server.call('GET', `/v1/projects/${a.projectId}/issuers`, { key: token })).status;

  function registerWebClient(body: Record<string, unknown>) {
    return registerClient(server, a, issuer(), {
      name: 'Acme Web',
      scopes: ['openid'],
      grantTypes: ['authorization_code'],
      redirectUris: [REDIRECT_URI],
      skipConsent: true,
      ...body,
    });
  }

  /** Signs a user in through the pages and returns the ID token the client gets. */
  async function idTokenFor(config: client.Configuration, username: string): Promise<string> {
    const browser = new Browser(publicUrl);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const stop = await browser.navigate(url.href);
    expectPage(stop, 'Sign in');
    const done = await browser.submit(stop, { identifier: username, password: GOOD_PASSWORD });
    const tokens = await client.authorizationCodeGrant(config, expectRp(done), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return tokens.id_token as string;
  }

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = await startIdentityServer(engine, { PERSONA_PORT: String(port), PERSONA_PUBLIC_URL: publicUrl });
    a = await createTenant(server, 'Acme');
    machine = (
      await registerClient(server, a, issuer(), {
        name: 'billing service',
        role: 'developer',
        scopes: ['issuers:read'],
      })
    ).config;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('publishes an RS256 key next to EdDSA and ES256, cacheable for an hour', async () => {
    expect(machine.serverMetadata().id_token_signing_alg_values_supported).toEqual(
      expect.arrayContaining(['EdDSA', 'ES256', 'RS256']),
    );
    const { keys, cacheControl } = await jwks();
    expect(cacheControl).toBe('public, max-age=3600');
    expect(keys.map((key) => key.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    const rsa = keys.find((key) => key.alg === 'RS256') as Record<string, string>;
    expect(rsa).toMatchObject({ kty: 'RSA', e: 'AQAB', use: 'sig' });
    // A 3072-bit modulus: 384 bytes, 512 base64url characters.
    expect(rsa.n).toHaveLength(512);
    expect(JSON.stringify(keys)).not.toMatch(/"(d|p|q)":/);
    const view = await keysView();
    expect(view.map((key) => [key.alg, key.state])).toEqual(
      expect.arrayContaining([
        ['EdDSA', 'active'],
        ['ES256', 'active'],
        ['RS256', 'active'],
      ]),
    );
  });

  it('creates one key per algorithm when a new project’s first requests arrive all at once', async () => {
    const fresh = await createTenant(server, 'Burst');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${publicUrl}/p/${fresh.projectId}/oidc/jwks`)),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
    const published = await Promise.all(
      responses.map(async (response) => ((await response.json()) as { keys: { kid: string }[] }).keys),
    );
    const kids = published[0]?.map((key) => key.kid) ?? [];
    expect(kids).toHaveLength(3);
    for (const keys of published) expect(keys.map((key) => key.kid)).toEqual(kids);
  });

  it('signs ID tokens with RS256 for a client registered for it, ES256 for the others', async () => {
    const user = await createUser(server, a);
    const rs256 = await registerWebClient({ idTokenSignedResponseAlg: 'RS256' });
    expect(rs256.body.idTokenSignedResponseAlg).toBe('RS256');
    const plain = await registerWebClient({});
    expect(plain.body.idTokenSignedResponseAlg).toBeNull();
    const keySet = createRemoteJWKSet(new URL(`${issuer()}/jwks`));

    const rsaToken = await idTokenFor(rs256.config, user.username);
    expect(decodeProtectedHeader(rsaToken).alg).toBe('RS256');
    const verified = await jwtVerify(rsaToken, keySet, {
      issuer: issuer(),
      audience: rs256.body.clientId,
      algorithms: ['RS256'],
    });
    expect(verified.payload.sub).toBe(user.id);

    const defaultToken = await idTokenFor(plain.config, user.username);
    expect(decodeProtectedHeader(defaultToken).alg).toBe('ES256');
    await jwtVerify(defaultToken, keySet, { issuer: issuer(), audience: plain.body.clientId });

    const invalid = await server.json('POST', `/v1/projects/${a.projectId}/oidc-clients`, {
      key: a.keys.developer,
      body: { name: 'x', idTokenSignedResponseAlg: 'HS256' },
    });
    expect(invalid.status).toBe(400);
    const changed = await server.json(
      'PATCH',
      `/v1/projects/${a.projectId}/oidc-clients/${plain.body.clientId}`,
      {
        key: a.keys.developer,
        body: { idTokenSignedResponseAlg: 'RS256' },
      },
    );
    expect(changed.status).toBe(200);
    expect(changed.body.idTokenSignedResponseAlg).toBe('RS256');
  });

  it('stages a rotation: new keys are published first and sign only after the delay', async () => {
    const before = await platformToken();
    const rotated = await rotate();
    expect(rotated.status).toBe(200);
    const next = (rotated.body.keys as ViewKey[]).filter((key) => key.state === 'next');
    expect(next.map((key) => key.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    for (const key of next) {
      expect(key.active).toBe(false);
      expect(Date.parse(key.activatesAt) - Date.parse(key.publishedAt)).toBe(DAY_MS);
    }
    const nextEdDsa = next.find((key) => key.alg === 'EdDSA') as ViewKey;

    // In the JWKS at once, marked verify-only; tokens are still signed by the current key.
    const published = await jwks();
    const entry = published.keys.find((key) => key.kid === nextEdDsa.kid);
    expect(entry).toMatchObject({ alg: 'EdDSA', key_ops: ['verify'] });
    const during = await platformToken();
    expect(kidOf(during)).toBe(kidOf(before));
    expect(await apiStatus(during)).toBe(200);

    // A second staged rotation while one is pending is refused.
    expect((await rotate()).status).toBe(409);

    server.clock.advance(DAY_MS + 1000);
    const after = await platformToken();
    expect(kidOf(after)).toBe(nextEdDsa.kid);
    const view = await keysView();
    const old = view.find((key) => key.kid === kidOf(before)) as ViewKey;
    expect(old).toMatchObject({ state: 'retired', retiredAt: nextEdDsa.activatesAt });
    expect(view.find((key) => key.kid === nextEdDsa.kid)?.state).toBe('active');
    // The retired key stays published, and the tokens it signed keep working.
    expect((await jwks()).keys.map((key) => key.kid)).toEqual(
      expect.arrayContaining([kidOf(before), nextEdDsa.kid]),
    );
    for (const token of [before, during, after]) expect(await apiStatus(token)).toBe(200);

    // After the retention (the longest token lifetime plus clock skew) the old key leaves the JWKS.
    expect(RETIRED_KEY_RETENTION_MS).toBe(15 * 60_000);
    server.clock.advance(RETIRED_KEY_RETENTION_MS - 2000);
    expect((await jwks()).keys.map((key) => key.kid)).toContain(kidOf(before));
    server.clock.advance(2000);
    expect((await jwks()).keys.map((key) => key.kid)).not.toContain(kidOf(before));
  });

  it('refuses the second of two concurrent staged rotations', async () => {
    const [first, second] = await Promise.all([rotate(), rotate()]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const next = (await keysView()).filter((key) => key.state === 'next');
    expect(next.map((key) => key.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    // Let it activate, so the immediate rotation below starts from one active key per algorithm.
    server.clock.advance(DAY_MS + 1000);
    expect((await keysView()).filter((key) => key.state === 'next')).toEqual([]);
  });

  it('claims the staged-rotation slot for one of two concurrent claims only', async () => {
    const repo = new OidcKeyStateRepo(server.db);
    const project = `prj_${'c'.repeat(32)}`;
    const now = new Date(server.clock.now().getTime());
    const claim = {
      pendingUntil: new Date(now.getTime() + DAY_MS).toISOString(),
      now: now.toISOString(),
      interruptedBefore: new Date(now.getTime() - 300_000).toISOString(),
    };
    const claims = await Promise.all([
      repo.claimStagedRotation(project, claim),
      repo.claimStagedRotation(project, claim),
      repo.claimStagedRotation(project, claim),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    const again = await Promise.all([
      repo.claimStagedRotation(project, claim),
      repo.claimStagedRotation(project, claim),
    ]);
    expect(again).toEqual([false, false]);
    // Once it has activated, or if it never finished (claimed long ago), the slot is free again.
    const later = new Date(now.getTime() + DAY_MS).toISOString();
    const after = { ...claim, now: later, pendingUntil: new Date(now.getTime() + 2 * DAY_MS).toISOString() };
    expect(
      await Promise.all([repo.claimStagedRotation(project, after), repo.claimStagedRotation(project, after)]),
    ).toContain(true);
  });

  it('rotates immediately after a compromise: the new keys sign at once, the old ones are revoked', async () => {
    const before = await platformToken();
    expect(await apiStatus(before)).toBe(200);
    const staged = await rotate();
    expect(staged.status).toBe(200);
    const pending = (staged.body.keys as ViewKey[]).filter((key) => key.state === 'next');
    const rotated = await rotate({ immediate: true });
    expect(rotated.status).toBe(200);
    const view = rotated.body.keys as ViewKey[];
    expect(view.map((key) => key.state)).toEqual(['active', 'active', 'active']);
    const after = await platformToken();
    expect(kidOf(after)).not.toBe(kidOf(before));
    expect(view.map((key) => key.kid)).toContain(kidOf(after));

    // The old keys (and the pending staged ones) leave the JWKS at once, and their tokens stop working.
    const published = (await jwks()).keys.map((key) => key.kid);
    expect(published.sort()).toEqual(view.map((key) => key.kid).sort());
    expect(published).not.toContain(kidOf(before));
    for (const key of pending) expect(published).not.toContain(key.kid);
    expect(await apiStatus(before)).toBe(401);
    expect(await apiStatus(after)).toBe(200);
    // The revocation ended the pending staged rotation: a new one may start.
    expect((await rotate()).status).toBe(200);

    const audit = await server.db
      .selectFrom('audit_events')
      .select('entry')
      .where('project_id', '=', a.projectId)
      .where('type', '=', 'oidc_keys.rotated')
      .execute();
    expect(audit).toHaveLength(5);
    const immediate = audit.find((row) => row.entry.includes('"immediate":true'));
    expect(immediate?.entry).toContain(`"revokedKids":[`);
    expect(immediate?.entry).toContain(kidOf(before) as string);

    expect((await rotate({ immediate: 'yes' })).status).toBe(400);
    const developer = await server.call('POST', `/v1/projects/${a.projectId}/oidc-keys/rotate`, {
      key: a.keys.developer,
    });
    expect(developer.status).toBe(403);
  });
});

describe.skipIf(!PG_URL)('OIDC key revocation across replicas (two app instances over one database)', () => {
  let database: Awaited<ReturnType<typeof freshPgSchema>>;
  let first: IdentityTestServer;
  let second: IdentityTestServer;
  let publicUrl: string;
  let a: Tenant;
  let machine: client.Configuration;

  const issuerPath = () => `/p/${a.projectId}/oidc`;
  const platformToken = async () =>
    (await client.clientCredentialsGrant(machine, { scope: 'issuers:read', resource: `${publicUrl}/v1` }))
      .access_token;
  const apiStatus = async (replica: IdentityTestServer, token: string) =>
    (await replica.call('GET', `/v1/projects/${a.projectId}/issuers`, { key: token })).status;
  const publishedKids = async (replica: IdentityTestServer) => {
    const response = await fetch(`${replica.url}${issuerPath()}/jwks`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
  };
  const rotate = (replica: IdentityTestServer, body?: Record<string, unknown>) =>
    replica.json('POST', `/v1/projects/${a.projectId}/oidc-keys/rotate`, {
      key: a.keys.admin,
      ...(body && { body }),
    });

  beforeAll(async () => {
    database = await freshPgSchema(PG_URL as string);
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    // One database and master key, one public URL (the load balancer's); each replica its own port.
    const shared = {
      PERSONA_DATABASE_URL: database.url,
      PERSONA_MASTER_KEY: randomBytes(32).toString('hex'),
      PERSONA_PUBLIC_URL: publicUrl,
    };
    first = await startIdentityServer('sqlite', { ...shared, PERSONA_PORT: String(port) });
    second = await startIdentityServer('sqlite', shared);
    a = await createTenant(first, 'Acme');
    machine = (
      await registerClient(first, a, `${publicUrl}${issuerPath()}`, {
        name: 'billing service',
        role: 'developer',
        scopes: ['issuers:read'],
      })
    ).config;
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
    await database?.drop();
  });

  it('stops the revoked keys on the other replica at its next request', async () => {
    const before = await platformToken();
    const kid = decodeProtectedHeader(before).kid as string;
    // The second replica has verified the token and built its provider: both are cached there now.
    expect(await apiStatus(second, before)).toBe(200);
    expect(await apiStatus(second, before)).toBe(200);
    expect(await publishedKids(second)).toContain(kid);

    expect((await rotate(first, { immediate: true })).status).toBe(200);
    expect(await apiStatus(second, before)).toBe(401);
    expect(await publishedKids(second)).not.toContain(kid);
    expect(await apiStatus(first, before)).toBe(401);
    const after = await platformToken();
    expect(await apiStatus(second, after)).toBe(200);
  });

  it('lets one of two staged rotations on different replicas proceed at the same moment', async () => {
    const [one, other] = await Promise.all([rotate(first), rotate(second)]);
    expect([one.status, other.status].sort()).toEqual([200, 409]);
    const view = (await first.json('GET', `/v1/projects/${a.projectId}/oidc-keys`, { key: a.keys.admin }))
      .body.keys as ViewKey[];
    expect(view.filter((key) => key.state === 'next')).toHaveLength(3);
  });
});
