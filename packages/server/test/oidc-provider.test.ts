import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';
import { discoverClient, freePort } from './oidc-helpers.js';

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

const RESOURCE_SERVER = 'https://rs.example.test/api';

/** The OAuth error code of a refused request, from the response body or its WWW-Authenticate challenge. */
async function oauthError(request: Promise<unknown>): Promise<string | undefined> {
  try {
    await request;
  } catch (error) {
    const refused = error as { error?: string; cause?: { parameters?: { error?: string } }[] };
    return refused.error ?? refused.cause?.[0]?.parameters?.error;
  }
  return undefined;
}

describe.each(engines)('OIDC provider on %s', (engine) => {
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;
  let publicUrl: string;
  let clientId: string;
  let secret: string;

  const issuerOf = (tenant: Tenant) => `${publicUrl}/p/${tenant.projectId}/oidc`;
  const configFor = (tenant: Tenant, id: string, clientSecret: string) =>
    discoverClient(issuerOf(tenant), id, clientSecret);
  const platformToken = async (scope: string, tenant = a, id = clientId, clientSecret = secret) => {
    const config = await configFor(tenant, id, clientSecret);
    return (await client.clientCredentialsGrant(config, { scope, resource: `${publicUrl}/v1` })).access_token;
  };

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = await startTestServer({ PERSONA_PORT: String(port), PERSONA_PUBLIC_URL: publicUrl }, engine);
    a = await createTenant(server, 'Acme');
    b = await createTenant(server, 'Beta');
    const created = await server.json('POST', `/v1/projects/${a.projectId}/oidc-clients`, {
      key: a.keys.developer,
      body: {
        name: 'billing service',
        role: 'developer',
        scopes: ['issuers:read', 'credentials:verify', 'read:invoices'],
        resources: [RESOURCE_SERVER],
      },
    });
    expect(created.status).toBe(201);
    clientId = created.body.clientId;
    secret = created.body.clientSecret;
  });

  afterAll(async () => {
    await server?.close();
  });

  describe('clients API', () => {
    it('shows the secret once, stores only its hash, and audits without it', async () => {
      expect(secret).toMatch(/^cs_[A-Za-z0-9_-]{43}$/);
      const got = await server.json('GET', `/v1/projects/${a.projectId}/oidc-clients/${clientId}`, {
        key: a.keys.auditor,
      });
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ clientId, role: 'developer', grantTypes: ['client_credentials'] });
      expect(JSON.stringify(got.body)).not.toContain(secret);
      const listed = await server.json('GET', `/v1/projects/${a.projectId}/oidc-clients`, {
        key: a.keys.auditor,
      });
      expect(listed.body.data.map((c: { clientId: string }) => c.clientId)).toContain(clientId);
      const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`, {
        key: a.keys.owner,
      });
      const entry = audit.body.data.find((e: { type: string }) => e.type === 'oidc_client.created');
      expect(entry).toMatchObject({ subject: clientId, actor: a.keyIds.developer });
      expect(JSON.stringify(audit.body)).not.toContain(secret);
    });

    it('refuses viewers, roles above the caller and other projects', async () => {
      const body = { name: 'x', role: 'viewer', scopes: [] };
      const viewer = await server.json('POST', `/v1/projects/${a.projectId}/oidc-clients`, {
        key: a.keys.viewer,
        body,
      });
      expect(viewer.status).toBe(403);
      const admin = await server.json('POST', `/v1/projects/${a.projectId}/oidc-clients`, {
        key: a.keys.developer,
        body: { ...body, role: 'admin' },
      });
      expect(admin.status).toBe(400);
      const other = await server.json('GET', `/v1/projects/${a.projectId}/oidc-clients/${clientId}`, {
        key: b.keys.developer,
      });
      expect(other.status).toBe(404);
    });

    it('updates, rotates the secret (the old one stops working) and deletes', async () => {
      const made = await server.json('POST', `/v1/projects/${a.projectId}/oidc-clients`, {
        key: a.keys.developer,
        body: { name: 'temp', role: 'viewer', scopes: ['issuers:read'] },
      });
      const id = made.body.clientId as string;
      const patched = await server.json('PATCH', `/v1/projects/${a.projectId}/oidc-clients/${id}`, {
        key: a.keys.developer,
        body: { name: 'renamed', scopes: ['issuers:read', 'credentials:verify'] },
      });
      expect(patched.body).toMatchObject({ name: 'renamed', scopes: ['issuers:read', 'credentials:verify'] });
      expect(await platformToken('issuers:read', a, id, made.body.clientSecret)).toBeTruthy();

      const rotated = await server.json(
        'POST',
        `/v1/projects/${a.projectId}/oidc-clients/${id}/rotate-secret`,
        {
          key: a.keys.developer,
        },
      );
      expect(rotated.status).toBe(200);
      expect(await oauthError(platformToken('issuers:read', a, id, made.body.clientSecret))).toBe(
        'invalid_client',
      );
      expect(await platformToken('issuers:read', a, id, rotated.body.clientSecret)).toBeTruthy();

      const deleted = await server.call('DELETE', `/v1/projects/${a.projectId}/oidc-clients/${id}`, {
        key: a.keys.developer,
      });
      expect(deleted.status).toBe(204);
      expect(await oauthError(platformToken('issuers:read', a, id, rotated.body.clientSecret))).toBe(
        'invalid_client',
      );
    });
  });

  describe('provider', () => {
    it('publishes discovery with the machine-to-machine features and no interactive grants', async () => {
      const config = await configFor(a, clientId, secret);
      const metadata = config.serverMetadata();
      expect(metadata.issuer).toBe(issuerOf(a));
      expect(metadata.token_endpoint).toBe(`${issuerOf(a)}/token`);
      expect(metadata.introspection_endpoint).toBeDefined();
      expect(metadata.revocation_endpoint).toBeDefined();
      expect(metadata.pushed_authorization_request_endpoint).toBeDefined();
      expect(metadata.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['EdDSA', 'ES256']));
      expect(metadata.grant_types_supported).toContain('client_credentials');
      const jwks = await (await fetch(metadata.jwks_uri as string)).json();
      expect(jwks.keys.map((k: { alg: string }) => k.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
      expect(JSON.stringify(jwks)).not.toMatch(/"d":/);
    });

    it('answers 404 for an unknown project', async () => {
      const unknown = `${publicUrl}/p/prj_${'0'.repeat(32)}/oidc`;
      expect((await fetch(`${unknown}/.well-known/openid-configuration`)).status).toBe(404);
      const token = await fetch(`${unknown}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      expect(token.status).toBe(404);
    });

    it('issues an RFC 9068 JWT access token for the platform API', async () => {
      const token = await platformToken('issuers:read read:invoices');
      expect(decodeProtectedHeader(token)).toMatchObject({ typ: 'at+jwt', alg: 'EdDSA' });
      const claims = decodeJwt(token);
      expect(claims).toMatchObject({ iss: issuerOf(a), aud: `${publicUrl}/v1`, client_id: clientId });
      // A scope of the client's own resource server is not granted for the platform API.
      expect(claims.scope).toBe('issuers:read');
    });

    it('binds client-credentials tokens to a DPoP key', async () => {
      const config = await configFor(a, clientId, secret);
      const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
      const tokens = await client.clientCredentialsGrant(
        config,
        { scope: 'read:invoices', resource: RESOURCE_SERVER },
        { DPoP },
      );
      expect(tokens.token_type.toLowerCase()).toBe('dpop');
    });

    it('introspects an opaque token as active, then inactive once revoked', async () => {
      const config = await configFor(a, clientId, secret);
      const tokens = await client.clientCredentialsGrant(config, {
        scope: 'read:invoices',
        resource: RESOURCE_SERVER,
      });
      const active = await client.tokenIntrospection(config, tokens.access_token);
      expect(active).toMatchObject({
        active: true,
        client_id: clientId,
        aud: RESOURCE_SERVER,
        scope: 'read:invoices',
      });
      await client.tokenRevocation(config, tokens.access_token);
      expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    });

    it('refuses a wrong secret (invalid_client) and an unknown resource (invalid_target)', async () => {
      const wrong = await configFor(a, clientId, `cs_${'x'.repeat(43)}`);
      expect(await oauthError(client.clientCredentialsGrant(wrong, { resource: `${publicUrl}/v1` }))).toBe(
        'invalid_client',
      );
      const config = await configFor(a, clientId, secret);
      expect(
        await oauthError(
          client.clientCredentialsGrant(config, { resource: 'https://unknown.example.test/' }),
        ),
      ).toBe('invalid_target');
    });

    it('does not know one project\u2019s clients at another project\u2019s issuer', async () => {
      const config = await configFor(b, clientId, secret);
      expect(await oauthError(client.clientCredentialsGrant(config, { resource: `${publicUrl}/v1` }))).toBe(
        'invalid_client',
      );
    });
  });

  describe('platform API with access tokens', () => {
    it('accepts a token with the scope, refuses one without (403)', async () => {
      const allowed = await server.json('GET', `/v1/projects/${a.projectId}/issuers`, {
        key: await platformToken('issuers:read'),
      });
      expect(allowed.status).toBe(200);
      const missing = await server.json('GET', `/v1/projects/${a.projectId}/issuers`, {
        key: await platformToken('credentials:verify'),
      });
      expect(missing.status).toBe(403);
    });

    it('refuses a tampered token (401)', async () => {
      const token = await platformToken('issuers:read');
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'issuers:write' })).toString('base64url');
      const response = await server.call('GET', `/v1/projects/${a.projectId}/issuers`, {
        key: `${header}.${forged}.${signature}`,
      });
      expect(response.status).toBe(401);
    });

    it('keeps project A\u2019s token out of project B (404: another project is not visible)', async () => {
      const response = await server.call('GET', `/v1/projects/${b.projectId}/issuers`, {
        key: await platformToken('issuers:read'),
      });
      expect(response.status).toBe(404);
    });

    it('rotates keys immediately by revoking the old ones: their tokens stop working', async () => {
      const before = await platformToken('issuers:read');
      const rotated = await server.json('POST', `/v1/projects/${a.projectId}/oidc-keys/rotate`, {
        key: a.keys.admin,
        body: { immediate: true },
      });
      expect(rotated.status).toBe(200);
      expect(rotated.body.keys.filter((k: { active: boolean }) => k.active)).toHaveLength(3);
      expect(rotated.body.keys).toHaveLength(3);
      const after = await platformToken('issuers:read');
      expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);

      const config = await configFor(a, clientId, secret);
      const jwks = await (await fetch(config.serverMetadata().jwks_uri as string)).json();
      const kids = jwks.keys.map((k: { kid: string }) => k.kid);
      expect(kids).toContain(decodeProtectedHeader(after).kid);
      expect(kids).not.toContain(decodeProtectedHeader(before).kid);

      const status = async (token: string) =>
        (await server.call('GET', `/v1/projects/${a.projectId}/issuers`, { key: token })).status;
      expect(await status(before)).toBe(401);
      expect(await status(after)).toBe(200);
      const developer = await server.call('POST', `/v1/projects/${a.projectId}/oidc-keys/rotate`, {
        key: a.keys.developer,
      });
      expect(developer.status).toBe(403);
    });
  });
});
