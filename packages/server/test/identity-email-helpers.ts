import type { Tenant, TestServer } from './helpers.js';

/** Turns on the project's emailSignIn policy (off by default), keeping the rest of its policy. */
export async function enableEmailSignIn(server: TestServer, tenant: Tenant): Promise<void> {
  const path = `/v1/projects/${tenant.projectId}/identity-policy`;
  const current = await server.json('GET', path, { key: tenant.keys.admin });
  const put = await server.json('PUT', path, {
    key: tenant.keys.admin,
    body: { ...current.body, emailSignIn: true },
  });
  if (put.status !== 200 || put.body.emailSignIn !== true)
    throw new Error(`policy: ${JSON.stringify(put.body)}`);
}
