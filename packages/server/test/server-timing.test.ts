import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  createUser,
  GOOD_PASSWORD,
  type IdentityTestServer,
  login,
  startIdentityServer,
  type Tenant,
} from './identity-helpers.js';

// bench/oidc-login.mjs subtracts the hashing time the server reports from each login's latency.
describe.each([
  ['on', { PERSONA_SERVER_TIMING: 'true' }],
  ['off (the default)', {}],
] as const)('Server-Timing of password hashing, %s', (setting, env) => {
  let server: IdentityTestServer;
  let tenant: Tenant;
  let username: string;

  beforeAll(async () => {
    server = await startIdentityServer('sqlite', env);
    tenant = await createTenant(server, 'timed');
    ({ username } = await createUser(server, tenant));
  });

  afterAll(async () => {
    await server?.close();
  });

  it('reports the Argon2 time of a sign-in, right or wrong password, and nothing on other requests', async () => {
    const signedIn = await login(server, tenant.projectId, username, GOOD_PASSWORD);
    const refused = await login(server, tenant.projectId, username, 'not-the-password-at-all');
    const unknown = await login(server, tenant.projectId, 'nobody-here', GOOD_PASSWORD);
    expect([signedIn.status, refused.status, unknown.status]).toEqual([200, 401, 401]);
    const health = await server.call('GET', '/healthz');
    expect(health.headers.get('server-timing')).toBeNull();
    for (const response of [signedIn, refused, unknown]) {
      const header = response.headers.get('server-timing');
      if (setting === 'off (the default)') {
        expect(header).toBeNull();
      } else {
        expect(header).toMatch(/^hash;dur=\d+\.\d{3}$/);
        expect(Number(header?.slice('hash;dur='.length))).toBeGreaterThan(0);
      }
    }
  });
});
