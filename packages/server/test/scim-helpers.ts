import type { Tenant, TestServer } from './helpers.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A key for an IdP: developer role, only the SCIM scopes. */
export async function scimKey(server: TestServer, tenant: Tenant): Promise<string> {
  const key = await server.json('POST', `/v1/projects/${tenant.projectId}/api-keys`, {
    key: tenant.keys.admin,
    body: { name: 'idp', role: 'developer', scopes: ['scim:read', 'scim:write'] },
  });
  if (key.status !== 201) throw new Error(`key: ${JSON.stringify(key.body)}`);
  return key.body.secret;
}

/** SCIM calls: the body sent as application/scim+json, as IdPs do. */
export function scimCall(server: TestServer, key: string) {
  return (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    server.json(method, path, {
      key,
      ...(body === undefined ? {} : { rawBody: JSON.stringify(body) }),
      headers: { 'content-type': 'application/scim+json', ...headers },
    });
}

/** A user as Okta creates it. */
export function oktaUser(userName: string, extra: Record<string, unknown> = {}) {
  return {
    schemas: [USER_SCHEMA],
    userName,
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ primary: true, value: userName, type: 'work' }],
    displayName: 'Ada Lovelace',
    locale: 'en-US',
    externalId: `00u${Math.random().toString(36).slice(2, 12)}`,
    groups: [],
    password: 'correct-lantern-meadow-42',
    active: true,
    ...extra,
  };
}

/** A user as Entra ID creates it: string boolean, enterprise extension, no password. */
export function entraUser(userName: string) {
  return {
    schemas: [USER_SCHEMA, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    externalId: 'a7c2d4f0-8a1b-4c33-9e55-0b8d1e2f3a4b',
    userName,
    active: 'True',
    displayName: 'Grace Hopper',
    emails: [{ primary: true, type: 'work', value: userName }],
    name: { formatted: 'Grace Hopper', familyName: 'Hopper', givenName: 'Grace' },
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Navy' },
  };
}
