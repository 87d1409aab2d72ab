import type { Tenant, TestServer } from './helpers.js';
import { updateIdentityPolicy } from './identity-helpers.js';

/** Turns on the project's emailSignIn policy (off by default), keeping the rest of its policy. */
export async function enableEmailSignIn(server: TestServer, tenant: Tenant): Promise<void> {
  const put = await updateIdentityPolicy(server, tenant, { emailSignIn: true });
  if (put.body.emailSignIn !== true) throw new Error(`policy: ${JSON.stringify(put.body)}`);
}
