import { createServer } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, skipReason } from './helpers.js';
import {
  createTenant,
  createUser,
  ENGINES,
  GOOD_PASSWORD,
  type IdentityTestServer,
  startIdentityServer,
  type Tenant,
} from './identity-helpers.js';
import { Browser, expectPage, expectRp } from './page-browser.js';

if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const DAY_MS = 24 * 3_600_000;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

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

  async function registerClient(body: Record<string, unknown>) {
    const created = await server.json('POST', `/v1/projects/${a.projectId}/oidc-clients`, {
      key: a.keys.developer,
      body: {
        name: 'Acme Web',
        scopes: ['openid'],
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
        skipConsent: true,
        ...body,
      },
    });
    expect(created.status).toBe(201);
    return {
      body: created.body,
      config: await client.discovery(
        new URL(issuer()),
        created.body.clientId,
        undefined,
        client.ClientSecretBasic(created.body.clientSecret),
        { execute: [client.allowInsecureRequests] },
      ),
    };
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
    const created = await server.json('POST', `/v1/projects/${a.projectId}/oidc-clients`, {
      key: a.keys.developer,
      body: { name: 'billing service', role: 'developer', scopes: ['issuers:read'] },
    });
    expect(created.status).toBe(201);
    machine = await client.discovery(
      new URL(issuer()),
      created.body.clientId,
      undefined,
      client.ClientSecretBasic(created.body.clientSecret),
      { execute: [client.allowInsecureRequests] },
    );
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

  it('signs ID tokens with RS256 for a client registered for it, ES256 for the others', async () => {
    const user = await createUser(server, a);
    const rs256 = await registerClient({ idTokenSignedResponseAlg: 'RS256' });
    expect(rs256.body.idTokenSignedResponseAlg).toBe('RS256');
    const plain = await registerClient({});
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

    // After the retention (2 h past its retirement) the old key leaves the JWKS.
    server.clock.advance(2 * 3_600_000);
    expect((await jwks()).keys.map((key) => key.kid)).not.toContain(kidOf(before));
  });

  it('rotates immediately on request: the new keys sign at once, the old ones stay published', async () => {
    const before = await platformToken();
    const rotated = await rotate({ immediate: true });
    expect(rotated.status).toBe(200);
    const active = (rotated.body.keys as ViewKey[]).filter((key) => key.state === 'active');
    expect(active).toHaveLength(3);
    const after = await platformToken();
    expect(kidOf(after)).not.toBe(kidOf(before));
    expect(active.map((key) => key.kid)).toContain(kidOf(after));
    expect((rotated.body.keys as ViewKey[]).find((key) => key.kid === kidOf(before))?.state).toBe('retired');
    for (const token of [before, after]) expect(await apiStatus(token)).toBe(200);

    const audit = await server.db
      .selectFrom('audit_events')
      .select('entry')
      .where('project_id', '=', a.projectId)
      .where('type', '=', 'oidc_keys.rotated')
      .execute();
    expect(audit).toHaveLength(2);
    expect(audit.some((row) => row.entry.includes('"immediate":true'))).toBe(true);

    expect((await rotate({ immediate: 'yes' })).status).toBe(400);
    const developer = await server.call('POST', `/v1/projects/${a.projectId}/oidc-keys/rotate`, {
      key: a.keys.developer,
    });
    expect(developer.status).toBe(403);
  });
});
