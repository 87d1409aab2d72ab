import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type Tenant } from './helpers.js';
import { ENGINES, type IdentityTestServer, login, startIdentityServer } from './identity-helpers.js';
import {
  ERROR_SCHEMA,
  entraUser,
  oktaUser,
  PATCH_SCHEMA,
  scimCall,
  scimKey,
  USER_SCHEMA,
} from './scim-helpers.js';

describe.each(ENGINES)('SCIM Users (%s)', (engine) => {
  let server: IdentityTestServer;
  let tenant: Tenant;
  let scim: ReturnType<typeof scimCall>;
  let base: string;

  beforeAll(async () => {
    server = await startIdentityServer(engine);
    tenant = await createTenant(server, 'scim');
    scim = scimCall(server, await scimKey(server, tenant));
    base = `/p/${tenant.projectId}/scim/v2`;
  });
  afterAll(() => server.close());

  it('creates a user as Okta sends it, reads it back with an ETag, and the user signs in', async () => {
    const created = await scim('POST', `${base}/Users`, oktaUser('ada@example.com'));
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toContain('application/scim+json');
    expect(created.body).toMatchObject({
      schemas: [USER_SCHEMA],
      userName: 'ada@example.com',
      displayName: 'Ada Lovelace',
      name: { formatted: 'Ada Lovelace' },
      emails: [{ value: 'ada@example.com', type: 'work', primary: true }],
      active: true,
      meta: { resourceType: 'User', version: 'W/"1"' },
    });
    expect(created.body.password).toBeUndefined();
    expect(created.headers.get('location')).toBe(created.body.meta.location);
    expect(created.body.meta.location).toMatch(new RegExp(`${base}/Users/usr_[0-9a-f]{32}$`));

    const read = await scim('GET', `${base}/Users/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('W/"1"');
    expect(read.body).toEqual(created.body);

    const signedIn = await login(server, tenant.projectId, 'ada@example.com', 'correct-lantern-meadow-42');
    expect(signedIn.status).toBe(200);
  });

  it('creates a user as Entra ID sends it (string booleans, extension attributes)', async () => {
    const created = await scim('POST', `${base}/Users`, entraUser('grace@example.com'));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      userName: 'grace@example.com',
      externalId: 'a7c2d4f0-8a1b-4c33-9e55-0b8d1e2f3a4b',
      active: true,
      displayName: 'Grace Hopper',
    });
  });

  it('refuses a duplicate userName, in any case, with 409 uniqueness', async () => {
    const duplicate = await scim('POST', `${base}/Users`, oktaUser('ADA@Example.com', { emails: [] }));
    expect(duplicate.status).toBe(409);
    expect(duplicate.headers.get('content-type')).toContain('application/scim+json');
    expect(duplicate.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '409', scimType: 'uniqueness' });
  });

  it('refuses a body without the User schema or userName with 400 invalidValue', async () => {
    const noSchema = await scim('POST', `${base}/Users`, { userName: 'x' });
    expect(noSchema.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    const noName = await scim('POST', `${base}/Users`, { schemas: [USER_SCHEMA] });
    expect(noName.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });

  it("applies Entra's PATCH (capitalised ops, string booleans); a disabled user cannot sign in", async () => {
    const created = await scim('POST', `${base}/Users`, oktaUser('linus@example.com'));
    const patched = await scim('PATCH', `${base}/Users/${created.body.id}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Add', path: 'emails[type eq "work"].value', value: 'linus@work.example' },
        { op: 'Replace', path: 'name.givenName', value: 'Linus' },
        { op: 'Replace', path: 'displayName', value: 'Linus T.' },
      ],
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      active: false,
      displayName: 'Linus T.',
      emails: [{ value: 'linus@work.example' }],
      meta: { version: 'W/"2"' },
    });
    expect(patched.headers.get('etag')).toBe('W/"2"');
    const refused = await login(server, tenant.projectId, 'linus@example.com', 'correct-lantern-meadow-42');
    expect(refused.status).not.toBe(200);
  });

  it("applies Okta's pathless PATCH and removes attributes", async () => {
    const created = await scim('POST', `${base}/Users`, oktaUser('okta@example.com'));
    const patched = await scim('PATCH', `${base}/Users/${created.body.id}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [
        { op: 'replace', value: { active: false, userName: 'okta2@example.com' } },
        { op: 'remove', path: 'externalId' },
      ],
    });
    expect(patched.status).toBe(200);
    expect(patched.body.userName).toBe('okta2@example.com');
    expect(patched.body.active).toBe(false);
    expect(patched.body.externalId).toBeUndefined();
  });

  it('refuses unsupported PATCH paths and ops with SCIM error types', async () => {
    const created = await scim('POST', `${base}/Users`, oktaUser('paths@example.com'));
    const path = `${base}/Users/${created.body.id}`;
    const patch = (operation: unknown) =>
      scim('PATCH', path, { schemas: [PATCH_SCHEMA], Operations: [operation] });
    expect((await patch({ op: 'replace', path: 'nickName', value: 'x' })).body).toMatchObject({
      status: '400',
      scimType: 'invalidPath',
    });
    expect(
      (await patch({ op: 'replace', path: 'emails[type eq "home"].value', value: 'a@b.c' })).body,
    ).toMatchObject({ scimType: 'noTarget' });
    expect((await patch({ op: 'remove', path: 'userName' })).body).toMatchObject({ scimType: 'mutability' });
    expect((await patch({ op: 'replace', path: 'id', value: 'usr_x' })).body).toMatchObject({
      scimType: 'mutability',
    });
    expect((await patch({ op: 'move', path: 'active', value: true })).body).toMatchObject({
      scimType: 'invalidValue',
    });
    expect((await patch({ op: 'replace', path: 'active', value: 'maybe' })).body).toMatchObject({
      scimType: 'invalidValue',
    });
    // Nothing was changed by the refused requests.
    const read = await scim('GET', path);
    expect(read.body.meta.version).toBe('W/"1"');
  });

  it('replaces a user with PUT; If-Match must name the current version (412 otherwise)', async () => {
    const created = await scim('POST', `${base}/Users`, oktaUser('put@example.com'));
    const path = `${base}/Users/${created.body.id}`;
    const replacement = { schemas: [USER_SCHEMA], userName: 'put@example.com', active: true };
    const stale = await scim('PUT', path, replacement, { 'if-match': 'W/"7"' });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '412' });

    const replaced = await scim('PUT', path, replacement, { 'if-match': 'W/"1"' });
    expect(replaced.status).toBe(200);
    expect(replaced.body.displayName).toBeUndefined();
    expect(replaced.body.emails).toBeUndefined();
    expect(replaced.body.externalId).toBeUndefined();
    expect(replaced.body.meta.version).toBe('W/"2"');

    const patchStale = await scim(
      'PATCH',
      path,
      { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'active', value: false }] },
      { 'if-match': 'W/"1"' },
    );
    expect(patchStale.status).toBe(412);
    const deleteStale = await scim('DELETE', path, undefined, { 'if-match': 'W/"1"' });
    expect(deleteStale.status).toBe(412);
    const withPassword = await scim('PUT', path, { ...replacement, password: 'another-long-password-1' });
    expect(withPassword.body).toMatchObject({ status: '400', scimType: 'mutability' });
  });

  it('refuses a PUT that takes another user’s userName with 409 uniqueness', async () => {
    const created = await scim('POST', `${base}/Users`, oktaUser('taker@example.com'));
    const taken = await scim('PUT', `${base}/Users/${created.body.id}`, {
      schemas: [USER_SCHEMA],
      userName: 'Ada@example.com',
    });
    expect(taken.status).toBe(409);
    expect(taken.body.scimType).toBe('uniqueness');
  });

  it('deletes a user: 204, then 404, and the sign-in name is free again', async () => {
    const created = await scim('POST', `${base}/Users`, oktaUser('gone@example.com'));
    const path = `${base}/Users/${created.body.id}`;
    const deleted = await scim('DELETE', path, undefined, { 'if-match': 'W/"1"' });
    expect(deleted.status).toBe(204);
    const read = await scim('GET', path);
    expect(read.status).toBe(404);
    expect(read.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' });
    const again = await scim('POST', `${base}/Users`, oktaUser('gone@example.com'));
    expect(again.status).toBe(201);
  });

  it('reads the discovery endpoints', async () => {
    const config = await scim('GET', `${base}/ServiceProviderConfig`);
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 200 },
      etag: { supported: true },
      changePassword: { supported: false },
      sort: { supported: false },
      authenticationSchemes: [{ type: 'oauthbearertoken' }],
    });
    const types = await scim('GET', `${base}/ResourceTypes`);
    expect(types.body.Resources.map((type: { id: string }) => type.id)).toEqual(['User', 'Group']);
    expect(types.body.Resources[0]).toMatchObject({ endpoint: '/Users', schema: USER_SCHEMA });
    const schemas = await scim('GET', `${base}/Schemas`);
    expect(schemas.body.Resources[0].id).toBe(USER_SCHEMA);
    const schema = await scim('GET', `${base}/Schemas/${USER_SCHEMA}`);
    expect(schema.body.attributes.map((a: { name: string }) => a.name)).toContain('userName');
  });
});
