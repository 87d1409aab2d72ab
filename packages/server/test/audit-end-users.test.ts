import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asUser,
  createTenant,
  createUser,
  GOOD_PASSWORD,
  type IdentityTestServer,
  login,
  startIdentityServer,
  type Tenant,
} from './identity-helpers.js';

describe("end users' acts in the audit trail", () => {
  let server: IdentityTestServer;
  let tenant: Tenant;

  beforeAll(async () => {
    server = await startIdentityServer();
    tenant = await createTenant(server, 'audited');
  });
  afterAll(() => server.close());

  it("name the project's organization, though the end user never gave it", async () => {
    const user = await createUser(server, tenant);
    const signedIn = await login(server, tenant.projectId, user.username, GOOD_PASSWORD);
    expect(signedIn.status).toBe(200);
    const signedOut = await server.json(
      'POST',
      `/p/${tenant.projectId}/auth/logout`,
      asUser(signedIn.body.token),
    );
    expect(signedOut.status).toBe(204);

    const audit = await server.json('GET', `/v1/projects/${tenant.projectId}/audit?limit=100`, {
      key: tenant.keys.auditor,
    });
    const byUser = audit.body.data.filter((entry: { actor: string }) => entry.actor === user.id);
    expect(byUser.map((entry: { type: string }) => entry.type).sort()).toEqual([
      'session.created',
      'session.revoked',
    ]);
    for (const entry of byUser) {
      expect(entry.orgId).toBe(tenant.orgId);
      expect(JSON.parse(entry.entry).org).toBe(tenant.orgId);
    }
  });
});
