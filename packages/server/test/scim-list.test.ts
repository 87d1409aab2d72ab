import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type Tenant } from './helpers.js';
import { ENGINES, type IdentityTestServer, startIdentityServer } from './identity-helpers.js';
import { ERROR_SCHEMA, oktaUser, scimCall, scimKey, USER_SCHEMA } from './scim-helpers.js';

const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

describe.each(ENGINES)('SCIM lists, filters, access (%s)', (engine) => {
  let server: IdentityTestServer;
  let tenant: Tenant;
  let other: Tenant;
  let scim: ReturnType<typeof scimCall>;
  let base: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    server = await startIdentityServer(engine);
    tenant = await createTenant(server, 'scim-list');
    other = await createTenant(server, 'scim-other');
    scim = scimCall(server, await scimKey(server, tenant));
    base = `/p/${tenant.projectId}/scim/v2`;
    const people: [string, string, boolean][] = [
      ['alice@example.com', 'Alice Archer', true],
      ['albert@example.com', 'Albert Ames', true],
      ['bob@example.org', 'Bob Baker', false],
      ['carol%_x@example.org', 'Carol Cook', true],
      ['dave@example.net', 'Dave Dunn', true],
    ];
    for (const [userName, displayName, active] of people) {
      const created = await scim(
        'POST',
        `${base}/Users`,
        oktaUser(userName, { displayName, active, password: undefined }),
      );
      if (created.status !== 201) throw new Error(JSON.stringify(created.body));
      ids[userName] = created.body.id;
    }
  });
  afterAll(() => server.close());

  const names = async (filter: string, extra = '') => {
    const listed = await scim('GET', `${base}/Users?filter=${encodeURIComponent(filter)}${extra}`);
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    return (listed.body.Resources as { userName: string }[]).map((user) => user.userName).sort();
  };

  it('filters userName eq case-insensitively, as Okta and Entra look users up', async () => {
    expect(await names('userName eq "ALICE@example.com"')).toEqual(['alice@example.com']);
    expect(await names('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com"')).toEqual(
      ['alice@example.com'],
    );
    expect(await names('userName eq "nobody@example.com"')).toEqual([]);
  });

  it('filters with co, sw, ew, and/or, parentheses, active, emails and pr', async () => {
    expect(await names('userName sw "al"')).toEqual(['albert@example.com', 'alice@example.com']);
    expect(await names('emails.value co "EXAMPLE.ORG"')).toEqual(['bob@example.org', 'carol%_x@example.org']);
    expect(await names('userName ew ".net"')).toEqual(['dave@example.net']);
    // LIKE wildcards in the value match themselves.
    expect(await names('userName co "%_"')).toEqual(['carol%_x@example.org']);
    expect(await names('displayName co "a" and active eq false')).toEqual(['bob@example.org']);
    expect(await names('userName sw "al" or userName sw "DA"')).toEqual([
      'albert@example.com',
      'alice@example.com',
      'dave@example.net',
    ]);
    expect(await names('(userName sw "al" or userName sw "bob") and (active eq true)')).toEqual([
      'albert@example.com',
      'alice@example.com',
    ]);
    expect(await names('active eq "False"')).toEqual(['bob@example.org']);
    expect(await names('externalId pr and displayName eq "dave dunn"')).toEqual(['dave@example.net']);
    expect(await names('meta.lastModified gt "2000-01-01T00:00:00Z" and userName sw "b"')).toEqual([
      'bob@example.org',
    ]);
    expect(await names(`id eq "${ids['alice@example.com']}"`)).toEqual(['alice@example.com']);
  });

  it('refuses bad and unsupported filters with 400 invalidFilter', async () => {
    const bad = [
      'userName eq',
      'userName eq "unterminated',
      'userName foo "x"',
      '(userName eq "x"',
      'userName eq "x" and',
      'nickName eq "x"',
      'externalId co "x"',
      'not (userName eq "x")',
      'active eq "perhaps"',
      `${'('.repeat(20)}userName eq "x"${')'.repeat(20)}`,
      Array.from({ length: 30 }, () => 'userName eq "x"').join(' or '),
      `userName eq "${'x'.repeat(1100)}"`,
    ];
    for (const filter of bad) {
      const listed = await scim('GET', `${base}/Users?filter=${encodeURIComponent(filter)}`);
      expect(listed.status, filter).toBe(400);
      expect(listed.body, filter).toMatchObject({
        schemas: [ERROR_SCHEMA],
        status: '400',
        scimType: 'invalidFilter',
      });
    }
  });

  it('pages with startIndex and count in a ListResponse', async () => {
    const all = await scim('GET', `${base}/Users`);
    expect(all.body).toMatchObject({
      schemas: [LIST_SCHEMA],
      totalResults: 5,
      itemsPerPage: 5,
      startIndex: 1,
    });
    const page = await scim('GET', `${base}/Users?startIndex=2&count=2`);
    expect(page.body).toMatchObject({ totalResults: 5, itemsPerPage: 2, startIndex: 2 });
    expect(page.body.Resources.map((u: { id: string }) => u.id)).toEqual(
      all.body.Resources.slice(1, 3).map((u: { id: string }) => u.id),
    );
    expect(page.body.Resources[0].schemas).toEqual([USER_SCHEMA]);
    const past = await scim('GET', `${base}/Users?startIndex=10`);
    expect(past.body).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    const countOnly = await scim('GET', `${base}/Users?count=0`);
    expect(countOnly.body).toMatchObject({ totalResults: 5, itemsPerPage: 0 });
    const clamped = await scim('GET', `${base}/Users?startIndex=0&count=-3`);
    expect(clamped.body).toMatchObject({ startIndex: 1, itemsPerPage: 0 });
    const notNumber = await scim('GET', `${base}/Users?count=many`);
    expect(notNumber.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });

  it('answers 401 without a key and 403 without the SCIM scopes, in the SCIM error format', async () => {
    const anonymous = await server.json('GET', `${base}/Users`, { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/scim+json');
    expect(anonymous.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '401' });

    const narrow = await server.json('POST', `/v1/projects/${tenant.projectId}/api-keys`, {
      key: tenant.keys.admin,
      body: { name: 'users only', role: 'developer', scopes: ['users:read', 'users:write'] },
    });
    const refused = await scimCall(server, narrow.body.secret)('GET', `${base}/Users`);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toContain('application/scim+json');
    expect(refused.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '403' });

    const viewer = await scimCall(server, tenant.keys.viewer)('GET', `${base}/Users`);
    expect(viewer.status).toBe(403);
  });

  it("keeps projects apart: another project's key gets 404 and sees nothing", async () => {
    const outsider = scimCall(server, await scimKey(server, other));
    const listed = await outsider('GET', `${base}/Users`);
    expect(listed.status).toBe(404);
    expect(listed.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' });
    const read = await outsider('GET', `${base}/Users/${ids['alice@example.com']}`);
    expect(read.status).toBe(404);
    // Its own base does not reach the first project's users either.
    const ownBase = `/p/${other.projectId}/scim/v2`;
    expect((await outsider('GET', `${ownBase}/Users/${ids['alice@example.com']}`)).status).toBe(404);
    expect((await outsider('GET', `${ownBase}/Users`)).body.totalResults).toBe(0);
    const patched = await outsider('DELETE', `${ownBase}/Users/${ids['alice@example.com']}`);
    expect(patched.status).toBe(404);
  });

  it('audits SCIM changes through the identity service, without personal data', async () => {
    const events = await server.json('GET', `/v1/projects/${tenant.projectId}/audit?limit=100`, {
      key: tenant.keys.admin,
    });
    expect(events.status).toBe(200);
    const text = JSON.stringify(events.body);
    expect(text).toContain('user.created');
    expect(text).not.toContain('alice@example.com');
  });
});
