import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type Tenant } from './helpers.js';
import { ENGINES, type IdentityTestServer, startIdentityServer } from './identity-helpers.js';
import { ERROR_SCHEMA, oktaUser, PATCH_SCHEMA, scimCall, scimKey } from './scim-helpers.js';

const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

describe.each(ENGINES)('SCIM Groups (%s)', (engine) => {
  let server: IdentityTestServer;
  let tenant: Tenant;
  let scim: ReturnType<typeof scimCall>;
  let base: string;
  const users: Record<string, string> = {};

  beforeAll(async () => {
    server = await startIdentityServer(engine);
    tenant = await createTenant(server, 'scim-groups');
    scim = scimCall(server, await scimKey(server, tenant));
    base = `/p/${tenant.projectId}/scim/v2`;
    for (const name of ['ann', 'ben', 'cat', 'dan']) {
      const created = await scim(
        'POST',
        `${base}/Users`,
        oktaUser(`${name}@example.com`, { displayName: name }),
      );
      users[name] = created.body.id;
    }
  });
  afterAll(() => server.close());

  const members = (body: { members?: { value: string }[] }) =>
    (body.members ?? []).map((member) => member.value).sort();
  const patch = (id: string, Operations: unknown[], headers?: Record<string, string>) =>
    scim('PATCH', `${base}/Groups/${id}`, { schemas: [PATCH_SCHEMA], Operations }, headers);

  it('creates a group with members; displayName is unique per project, case-insensitively', async () => {
    const created = await scim('POST', `${base}/Groups`, {
      schemas: [GROUP_SCHEMA],
      displayName: 'Engineering',
      externalId: 'okta-grp-1',
      members: [{ value: users.ann }, { value: users.ben }],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      schemas: [GROUP_SCHEMA],
      displayName: 'Engineering',
      externalId: 'okta-grp-1',
      meta: { resourceType: 'Group', version: 'W/"1"' },
    });
    expect(created.body.id).toMatch(/^grp_[0-9a-f]{32}$/);
    expect(created.body.members).toContainEqual(
      expect.objectContaining({ value: users.ann, display: 'ann', type: 'User' }),
    );
    const duplicate = await scim('POST', `${base}/Groups`, {
      schemas: [GROUP_SCHEMA],
      displayName: 'engineering',
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ schemas: [ERROR_SCHEMA], scimType: 'uniqueness' });
    const unknownMember = await scim('POST', `${base}/Groups`, {
      schemas: [GROUP_SCHEMA],
      displayName: 'Ghosts',
      members: [{ value: 'usr_00000000000000000000000000000000' }],
    });
    expect(unknownMember.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });

  it('adds and removes members as Okta and Entra ID send them, and renames', async () => {
    const group = await scim('POST', `${base}/Groups`, { schemas: [GROUP_SCHEMA], displayName: 'Sales' });
    const id = group.body.id;
    // Entra ID: capitalised ops, remove with a value list.
    let changed = await patch(id, [
      { op: 'Add', path: 'members', value: [{ value: users.ann }, { value: users.cat }] },
    ]);
    expect(changed.status).toBe(200);
    expect(members(changed.body)).toEqual([users.ann, users.cat].sort());
    changed = await patch(id, [{ op: 'Remove', path: 'members', value: [{ value: users.ann }] }]);
    expect(members(changed.body)).toEqual([users.cat]);
    // Okta: remove by value filter, pathless replace repeating the id.
    changed = await patch(id, [
      { op: 'add', path: 'members', value: [{ value: users.dan }] },
      { op: 'remove', path: `members[value eq "${users.cat}"]` },
      { op: 'replace', value: { id, displayName: 'Sales EMEA' } },
    ]);
    expect(changed.body.displayName).toBe('Sales EMEA');
    expect(members(changed.body)).toEqual([users.dan]);
    expect(changed.headers.get('etag')).toBe(changed.body.meta.version);

    const stale = await patch(id, [{ op: 'replace', path: 'displayName', value: 'x' }], {
      'if-match': 'W/"1"',
    });
    expect(stale.status).toBe(412);
    const badPath = await patch(id, [{ op: 'replace', path: 'owner', value: 'x' }]);
    expect(badPath.body).toMatchObject({ status: '400', scimType: 'invalidPath' });

    const replaced = await scim('PUT', `${base}/Groups/${id}`, {
      schemas: [GROUP_SCHEMA],
      displayName: 'Sales',
      members: [{ value: users.ben }],
    });
    expect(replaced.status).toBe(200);
    expect(members(replaced.body)).toEqual([users.ben]);
    const slim = await scim('GET', `${base}/Groups/${id}?excludedAttributes=members`);
    expect(slim.body.members).toBeUndefined();
  });

  it('filters groups by displayName and pages them', async () => {
    for (const name of ['Ops One', 'Ops Two', 'Ops Three']) {
      await scim('POST', `${base}/Groups`, { schemas: [GROUP_SCHEMA], displayName: name });
    }
    const eq = await scim('GET', `${base}/Groups?filter=${encodeURIComponent('displayName eq "ops two"')}`);
    expect(eq.body.Resources.map((g: { displayName: string }) => g.displayName)).toEqual(['Ops Two']);
    const sw = await scim(
      'GET',
      `${base}/Groups?filter=${encodeURIComponent('displayName sw "Ops"')}&count=2`,
    );
    expect(sw.body).toMatchObject({ totalResults: 3, itemsPerPage: 2, startIndex: 1 });
    const bad = await scim('GET', `${base}/Groups?filter=${encodeURIComponent('members.display eq "x"')}`);
    expect(bad.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
  });

  it("deleting a user removes its memberships and changes the group's version", async () => {
    const group = await scim('POST', `${base}/Groups`, {
      schemas: [GROUP_SCHEMA],
      displayName: 'Leavers',
      members: [{ value: users.dan }, { value: users.cat }],
    });
    expect((await scim('DELETE', `${base}/Users/${users.dan}`)).status).toBe(204);
    const read = await scim('GET', `${base}/Groups/${group.body.id}`);
    expect(members(read.body)).toEqual([users.cat]);
    expect(read.body.meta.version).not.toBe(group.body.meta.version);
    const rows = await server.db
      .selectFrom('scim_group_members')
      .select('group_id')
      .where('user_id', '=', users.dan)
      .execute();
    expect(rows).toEqual([]);
  });

  it('deletes a group (If-Match checked) and audits group changes with ids only', async () => {
    const group = await scim('POST', `${base}/Groups`, { schemas: [GROUP_SCHEMA], displayName: 'Temporary' });
    const path = `${base}/Groups/${group.body.id}`;
    expect((await scim('DELETE', path, undefined, { 'if-match': 'W/"9"' })).status).toBe(412);
    expect((await scim('DELETE', path, undefined, { 'if-match': 'W/"1"' })).status).toBe(204);
    expect((await scim('GET', path)).status).toBe(404);

    const audit = await server.json('GET', `/v1/projects/${tenant.projectId}/audit?limit=100`, {
      key: tenant.keys.admin,
    });
    const types = (audit.body.data as { type: string }[]).map((event) => event.type);
    expect(types).toEqual(
      expect.arrayContaining(['scim.group_created', 'scim.group_updated', 'scim.group_deleted']),
    );
    expect(JSON.stringify(audit.body)).not.toContain('Temporary');
  });

  it("keeps projects' groups apart", async () => {
    const other = await createTenant(server, 'scim-groups-other');
    const outsider = scimCall(server, await scimKey(server, other));
    const group = await scim('POST', `${base}/Groups`, { schemas: [GROUP_SCHEMA], displayName: 'Private' });
    expect((await outsider('GET', `${base}/Groups/${group.body.id}`)).status).toBe(404);
    const ownBase = `/p/${other.projectId}/scim/v2`;
    expect((await outsider('GET', `${ownBase}/Groups/${group.body.id}`)).status).toBe(404);
    // A user of another project cannot become a member.
    const foreign = await outsider('POST', `${ownBase}/Groups`, {
      schemas: [GROUP_SCHEMA],
      displayName: 'Mixed',
      members: [{ value: users.ann }],
    });
    expect(foreign.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });
});
