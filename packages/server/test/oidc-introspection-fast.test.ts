import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IntrospectionFastPath } from '../src/modules/oidc/introspection-fast.js';
import { OidcPayloadRepo } from '../src/modules/oidc/payload-repo.js';
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
import { discoverClient, freePort } from './oidc-helpers.js';
import { Browser, expectPage, expectRp } from './page-browser.js';

if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const RESOURCE_SERVER = 'https://rs.example.test/api';
const FORM = 'application/x-www-form-urlencoded';
/** Hop-by-hop and per-response headers that differ between any two responses. */
const VARYING_HEADERS = new Set(['date', 'connection', 'keep-alive']);

interface Credentials {
  id: string;
  secret: string;
}

interface IntrospectionRequest {
  headers: Record<string, string>;
  body: string;
}

const basic = (credentials: Credentials) =>
  `Basic ${Buffer.from(`${encodeURIComponent(credentials.id)}:${encodeURIComponent(credentials.secret)}`).toString('base64')}`;

const withBasic = (credentials: Credentials, fields: Record<string, string>): IntrospectionRequest => ({
  headers: { authorization: basic(credentials), 'content-type': FORM },
  body: new URLSearchParams(fields).toString(),
});

const withPost = (credentials: Credentials, fields: Record<string, string>): IntrospectionRequest => ({
  headers: { 'content-type': FORM },
  body: new URLSearchParams({
    client_id: credentials.id,
    client_secret: credentials.secret,
    ...fields,
  }).toString(),
});

describe.each(ENGINES)('OIDC introspection fast path (%s)', (engine) => {
  /** The live switch the app reads: off, the engine answers every introspection request. */
  const introspection = { fastPath: true };
  let server: IdentityTestServer;
  let publicUrl: string;
  let a: Tenant;
  let b: Tenant;
  /** A resource server's client (confidential, its own resource), another confidential one, one in B. */
  let resourceServer: Credentials;
  let otherClient: Credentials;
  let foreignClient: Credentials;
  let publicClientId: string;
  let webApp: client.Configuration;
  let webAppCredentials: Credentials;
  let fastPath: IntrospectionFastPath;

  const issuer = (tenant: Tenant) => `${publicUrl}/p/${tenant.projectId}/oidc`;

  async function registerClient(tenant: Tenant, body: Record<string, unknown>) {
    const created = await server.json('POST', `/v1/projects/${tenant.projectId}/oidc-clients`, {
      key: tenant.keys.developer,
      body: { name: 'client', ...body },
    });
    expect(created.status).toBe(201);
    return created.body as { clientId: string; clientSecret?: string };
  }

  async function confidential(tenant: Tenant, body: Record<string, unknown> = {}): Promise<Credentials> {
    const created = await registerClient(tenant, {
      scopes: ['read:things'],
      resources: [RESOURCE_SERVER],
      grantTypes: ['client_credentials'],
      ...body,
    });
    return { id: created.clientId, secret: created.clientSecret as string };
  }

  const configOf = (tenant: Tenant, credentials: Credentials) =>
    discoverClient(issuer(tenant), credentials.id, credentials.secret);

  async function clientCredentialsToken(credentials: Credentials, options: { dpop?: boolean } = {}) {
    const config = await configOf(a, credentials);
    const DPoP = options.dpop
      ? client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
      : undefined;
    const tokens = await client.clientCredentialsGrant(
      config,
      { scope: 'read:things', resource: RESOURCE_SERVER },
      DPoP ? { DPoP } : {},
    );
    return tokens.access_token;
  }

  /** A user's tokens from the authorization code flow (access token without a resource, refresh token). */
  async function userTokens() {
    const user = await createUser(server, a);
    const browser = new Browser(publicUrl);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(webApp, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access',
      prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const stop = await browser.navigate(url.href);
    expectPage(stop, 'Sign in');
    const after = await browser.submit(stop, { identifier: user.username, password: GOOD_PASSWORD });
    const tokens = await client.authorizationCodeGrant(webApp, expectRp(after), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token as string,
      userId: user.id,
    };
  }

  async function send(tenant: Tenant, request: IntrospectionRequest) {
    const response = await fetch(`${issuer(tenant)}/token/introspection`, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
    });
    const headers = Object.fromEntries(
      [...response.headers]
        .filter(([name]) => !VARYING_HEADERS.has(name))
        .sort(([x], [y]) => x.localeCompare(y)),
    );
    return { status: response.status, headers, body: await response.text() };
  }

  /** The engine's answer and the app's (fast path on) to the same request; they must be the same bytes. */
  async function differential(request: IntrospectionRequest, tenant = a) {
    introspection.fastPath = false;
    const engineAnswer = await send(tenant, request);
    introspection.fastPath = true;
    const answer = await send(tenant, request);
    expect(answer).toEqual(engineAnswer);
    return { ...answer, json: JSON.parse(answer.body) as Record<string, unknown> };
  }

  /** Whether the fast path answers this request itself (else it hands it to the engine). */
  async function answeredFast(request: IntrospectionRequest, tenant = a) {
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    return (await fastPath.answer(tenant.projectId, headers, Buffer.from(request.body))) !== undefined;
  }

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = await startIdentityServer(
      engine,
      { PERSONA_PORT: String(port), PERSONA_PUBLIC_URL: publicUrl },
      { introspection },
    );
    a = await createTenant(server, 'Acme');
    b = await createTenant(server, 'Beta');
    resourceServer = await confidential(a);
    otherClient = await confidential(a);
    foreignClient = await confidential(b);
    const created = await registerClient(a, {
      scopes: ['openid', 'offline_access'],
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [REDIRECT_URI],
      skipConsent: true,
    });
    webAppCredentials = { id: created.clientId, secret: created.clientSecret as string };
    webApp = await configOf(a, webAppCredentials);
    publicClientId = (
      await registerClient(a, {
        public: true,
        scopes: ['openid'],
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
      })
    ).clientId;
    const payloads = new OidcPayloadRepo(server.db);
    fastPath = new IntrospectionFastPath({
      payloads,
      findClient: (projectId, clientId) =>
        server.db
          .selectFrom('oidc_clients')
          .selectAll()
          .where('project_id', '=', projectId)
          .where('id', '=', clientId)
          .executeTakeFirst(),
      issuer: (projectId) => `${publicUrl}/p/${projectId}/oidc`,
    });
  }, 30_000);

  afterAll(async () => {
    introspection.fastPath = true;
    await server?.close();
  });

  it('answers an active opaque access token with a resource, by basic and post, as the engine does', async () => {
    const token = await clientCredentialsToken(resourceServer);
    for (const request of [withBasic(resourceServer, { token }), withPost(resourceServer, { token })]) {
      expect(await answeredFast(request)).toBe(true);
      const answer = await differential(request);
      expect(answer.status).toBe(200);
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(answer.json).toMatchObject({
        active: true,
        client_id: resourceServer.id,
        aud: RESOURCE_SERVER,
        scope: 'read:things',
        token_type: 'Bearer',
        iss: issuer(a),
      });
    }
    // Another confidential client of the project may introspect it too (the platform's allowedPolicy).
    const byOther = withBasic(otherClient, { token, token_type_hint: 'access_token' });
    expect(await answeredFast(byOther)).toBe(true);
    expect((await differential(byOther)).json.active).toBe(true);
  });

  it('answers a user’s access token (no resource) and refresh token, with and without hints', async () => {
    const { accessToken, refreshToken, userId } = await userTokens();
    const requests = [
      withBasic(webAppCredentials, { token: accessToken }),
      withBasic(resourceServer, { token: accessToken }),
      withBasic(webAppCredentials, { token: refreshToken }),
      withPost(webAppCredentials, { token: refreshToken, token_type_hint: 'refresh_token' }),
      withBasic(resourceServer, { token: refreshToken, token_type_hint: 'access_token' }),
      withBasic(resourceServer, { token: accessToken, token_type_hint: 'refresh_token' }),
    ];
    for (const request of requests) {
      expect(await answeredFast(request)).toBe(true);
      const answer = await differential(request);
      expect(answer.json).toMatchObject({ active: true, sub: userId, client_id: webAppCredentials.id });
    }
    const refresh = await differential(withBasic(webAppCredentials, { token: refreshToken }));
    expect(refresh.json.token_type).toBeUndefined();
  });

  it('answers a DPoP-bound token with its key thumbprint', async () => {
    const token = await clientCredentialsToken(resourceServer, { dpop: true });
    const request = withBasic(resourceServer, { token });
    expect(await answeredFast(request)).toBe(true);
    const answer = await differential(request);
    expect(answer.json).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: expect.any(String) } });
    // A request carrying a DPoP proof is the engine's to answer.
    const withProofHeader = { ...request, headers: { ...request.headers, dpop: 'e30.e30.sig' } };
    expect(await answeredFast(withProofHeader)).toBe(false);
    await differential(withProofHeader);
  });

  it('answers inactive for revoked, unknown, another project’s and consumed tokens', async () => {
    const revoked = await clientCredentialsToken(resourceServer);
    const revocation = await fetch(`${issuer(a)}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basic(resourceServer), 'content-type': FORM },
      body: new URLSearchParams({ token: revoked }).toString(),
    });
    expect(revocation.status).toBe(200);
    const ofProjectA = await clientCredentialsToken(resourceServer);
    const cases: [IntrospectionRequest, Tenant][] = [
      [withBasic(resourceServer, { token: revoked }), a],
      [withBasic(resourceServer, { token: 'garbage-that-was-never-issued' }), a],
      [withPost(foreignClient, { token: ofProjectA }), b],
    ];
    const { refreshToken } = await userTokens();
    const rotated = await client.refreshTokenGrant(webApp, refreshToken);
    expect(rotated.refresh_token).not.toBe(refreshToken);
    // Within the reuse grace period the engine still sees the rotated token as unconsumed: so must we.
    const graced = await differential(withBasic(webAppCredentials, { token: refreshToken }));
    expect(graced.json.active).toBe(true);
    // Past it (moved back in the store rather than waited for), it is consumed.
    await server.db
      .updateTable('oidc_payloads')
      .set((eb) => ({ consumed_at: eb('consumed_at', '-', 60) }))
      .where('project_id', '=', a.projectId)
      .where('model', '=', 'RefreshToken')
      .where('consumed_at', 'is not', null)
      .execute();
    cases.push([withBasic(webAppCredentials, { token: refreshToken }), a]);
    for (const [request, tenant] of cases) {
      expect(await answeredFast(request, tenant)).toBe(true);
      const answer = await differential(request, tenant);
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('{"active":false}');
    }
  });

  it('answers inactive for an expired token', async () => {
    const token = await clientCredentialsToken(resourceServer);
    const request = withBasic(resourceServer, { token });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 601_000 });
    try {
      expect(await answeredFast(request)).toBe(true);
      expect((await differential(request)).body).toBe('{"active":false}');
    } finally {
      vi.useRealTimers();
    }
  });

  it('leaves other requests to the engine, whose answers (errors included) are unchanged', async () => {
    const token = await clientCredentialsToken(resourceServer);
    const cases: IntrospectionRequest[] = [
      withBasic({ ...resourceServer, secret: 'cs_wrong' }, { token }),
      withPost({ ...resourceServer, secret: 'cs_wrong' }, { token }),
      withBasic({ id: 'oc_00000000000000000000000000000000', secret: 'cs_x' }, { token }),
      withBasic(foreignClient, { token }),
      // Both basic and post, a duplicated parameter, no token, an empty token, a JWT.
      { ...withBasic(resourceServer, { token }), body: withPost(resourceServer, { token }).body },
      { ...withBasic(resourceServer, {}), body: `token=${token}&token=${token}` },
      withBasic(resourceServer, {}),
      withBasic(resourceServer, { token: '' }),
      withBasic(resourceServer, { token: 'eyJhbGciOiJub25lIn0.e30.' }),
      // A browser's request: the engine refuses origins for every client (clientBasedCORS).
      {
        ...withBasic(resourceServer, { token }),
        headers: { ...withBasic(resourceServer, {}).headers, origin: 'https://app.example.test' },
      },
      { headers: { authorization: 'Basic !!', 'content-type': FORM }, body: `token=${token}` },
      {
        headers: { ...withBasic(resourceServer, {}).headers, 'content-type': 'application/json' },
        body: '{}',
      },
    ];
    for (const request of cases) {
      expect(await answeredFast(request)).toBe(false);
      const answer = await differential(request);
      expect(answer.status).toBeGreaterThanOrEqual(400);
    }
    // A public client authenticates with its id alone; the engine's policy then shows it nothing.
    const byPublicClient = {
      headers: { 'content-type': FORM },
      body: new URLSearchParams({ client_id: publicClientId, token }).toString(),
    };
    expect(await answeredFast(byPublicClient)).toBe(false);
    expect((await differential(byPublicClient)).body).toBe('{"active":false}');
    const wrong = await differential(withBasic({ ...resourceServer, secret: 'cs_wrong' }, { token }));
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe('invalid_client');
  });

  it('answers the other project’s issuer only for that project’s clients', async () => {
    const token = await clientCredentialsToken(resourceServer);
    const answer = await differential(withBasic(resourceServer, { token }), b);
    expect(answer.status).toBe(401);
    const missing = await fetch(`${publicUrl}/p/prj_${'0'.repeat(32)}/oidc/token/introspection`, {
      method: 'POST',
      ...withBasic(resourceServer, { token }),
    });
    expect(missing.status).toBe(404);
  });
});
