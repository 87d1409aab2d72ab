import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  createTenant,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

describe.each(engines)('tenancy on %s', (engine) => {
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    server = await startTestServer({}, engine);
    a = await createTenant(server, 'Alpha');
    b = await createTenant(server, 'Beta');
  });
  afterAll(() => server?.close());

  describe('organizations and projects', () => {
    it('creates and reads back an organization and its project', async () => {
      const org = await server.json('GET', `/v1/organizations/${a.orgId}`, { key: a.keys.viewer });
      expect(org.status).toBe(200);
      expect(org.body).toMatchObject({ id: a.orgId, name: 'Alpha' });
      const project = await server.json('GET', `/v1/projects/${a.projectId}`, { key: a.keys.viewer });
      expect(project.body).toMatchObject({ id: a.projectId, orgId: a.orgId, name: 'Alpha app' });
    });

    it('only the platform admin creates organizations', async () => {
      const response = await server.json('POST', '/v1/organizations', {
        key: a.keys.owner,
        body: { name: 'Gamma' },
      });
      expect(response.status).toBe(403);
      const listed = await server.json('GET', '/v1/organizations', { key: a.keys.owner });
      expect(listed.body.data.map((o: { id: string }) => o.id)).toEqual([a.orgId]);
    });

    it('paginates with cursors, in creation order, without repeats', async () => {
      const org = await server.json('POST', '/v1/organizations', { body: { name: 'Many' } });
      const created: string[] = [];
      for (let i = 0; i < 5; i++) {
        const p = await server.json('POST', `/v1/organizations/${org.body.id}/projects`, {
          body: { name: `p${i}` },
        });
        created.push(p.body.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
        const page = await server.json('GET', `/v1/organizations/${org.body.id}/projects${query}`);
        expect(page.status).toBe(200);
        expect(page.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.data.map((p: { id: string }) => p.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(created);

      const bad = await server.json('GET', `/v1/organizations/${org.body.id}/projects?cursor=bm90LWFuLWlk`);
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].pointer).toBe('#/cursor');
      const tooMany = await server.json('GET', `/v1/organizations/${org.body.id}/projects?limit=1000`);
      expect(tooMany.status).toBe(400);
    });

    it('lists every project for admins but only its own project for a developer key', async () => {
      const extra = await server.json('POST', `/v1/organizations/${a.orgId}/projects`, {
        key: a.keys.admin,
        body: { name: 'second' },
      });
      expect(extra.status).toBe(201);
      const adminView = await server.json('GET', `/v1/organizations/${a.orgId}/projects`, {
        key: a.keys.admin,
      });
      expect(adminView.body.data.map((p: { id: string }) => p.id)).toEqual([a.projectId, extra.body.id]);
      const devView = await server.json('GET', `/v1/organizations/${a.orgId}/projects`, {
        key: a.keys.developer,
      });
      expect(devView.body.data.map((p: { id: string }) => p.id)).toEqual([a.projectId]);
      // And the developer cannot reach the other project of its own organization.
      expect(
        (await server.json('GET', `/v1/projects/${extra.body.id}`, { key: a.keys.developer })).status,
      ).toBe(404);
      expect((await server.json('GET', `/v1/projects/${extra.body.id}`, { key: a.keys.admin })).status).toBe(
        200,
      );
      expect(
        (await server.call('DELETE', `/v1/projects/${extra.body.id}`, { key: a.keys.admin })).status,
      ).toBe(204);
      expect((await server.json('GET', `/v1/projects/${extra.body.id}`, { key: a.keys.admin })).status).toBe(
        404,
      );
    });

    it('an owner deletes its organization with everything in it', async () => {
      const t = await createTenant(server, 'Short-lived');
      await server.json('POST', `/v1/organizations/${t.orgId}/members`, {
        body: { email: 'o@example.com', role: 'owner' },
      });
      expect(
        (await server.call('DELETE', `/v1/organizations/${t.orgId}`, { key: t.keys.admin })).status,
      ).toBe(403);
      expect(
        (await server.call('DELETE', `/v1/organizations/${t.orgId}`, { key: t.keys.owner })).status,
      ).toBe(204);
      // Its keys went with it, the owner's own included, and nothing of it can be found.
      expect((await server.call('GET', '/v1/organizations', { key: t.keys.viewer })).status).toBe(401);
      expect((await server.call('GET', '/v1/organizations', { key: t.keys.owner })).status).toBe(401);
      expect((await server.call('GET', `/v1/organizations/${t.orgId}`)).status).toBe(404);
      expect((await server.call('GET', `/v1/projects/${t.projectId}`)).status).toBe(404);
    });
  });

  describe('tenant isolation: another tenant answers 404 on every endpoint, both ways', () => {
    const endpoints = (t: Tenant, keyId: string, memberId: string): Array<[string, string, unknown?]> => [
      ['GET', `/v1/organizations/${t.orgId}`],
      ['DELETE', `/v1/organizations/${t.orgId}`],
      ['POST', `/v1/organizations/${t.orgId}/projects`, { name: 'intruder' }],
      ['GET', `/v1/organizations/${t.orgId}/projects`],
      ['GET', `/v1/projects/${t.projectId}`],
      ['DELETE', `/v1/projects/${t.projectId}`],
      ['POST', `/v1/projects/${t.projectId}/api-keys`, { name: 'intruder' }],
      ['GET', `/v1/projects/${t.projectId}/api-keys`],
      ['GET', `/v1/projects/${t.projectId}/api-keys/${keyId}`],
      ['DELETE', `/v1/projects/${t.projectId}/api-keys/${keyId}`],
      ['POST', `/v1/organizations/${t.orgId}/members`, { email: 'intruder@example.com', role: 'viewer' }],
      ['GET', `/v1/organizations/${t.orgId}/members`],
      ['GET', `/v1/organizations/${t.orgId}/members/${memberId}`],
      ['PATCH', `/v1/organizations/${t.orgId}/members/${memberId}`, { role: 'viewer' }],
      ['DELETE', `/v1/organizations/${t.orgId}/members/${memberId}`],
    ];

    it.each([
      ['A', 'B'],
      ['B', 'A'],
    ])("tenant %s's owner key cannot see tenant %s", async (from, to) => {
      const caller = from === 'A' ? a : b;
      const target = to === 'A' ? a : b;
      const member = await server.json('POST', `/v1/organizations/${target.orgId}/members`, {
        body: { email: `m-${from}${to}@example.com`, role: 'admin' },
      });
      expect(member.status).toBe(201);
      for (const [method, path, body] of endpoints(target, target.keyIds.viewer, member.body.id)) {
        const response = await server.json(method, path, { key: caller.keys.owner, body });
        expect(response.status, `${method} ${path}`).toBe(404);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(JSON.stringify(response.body)).not.toContain('Alpha app');
      }
      // Nothing changed over there.
      const stillThere = await server.json(
        'GET',
        `/v1/projects/${target.projectId}/api-keys/${target.keyIds.viewer}`,
      );
      expect(stillThere.body.revokedAt).toBeNull();
      const projects = await server.json('GET', `/v1/organizations/${target.orgId}/projects`);
      expect(projects.body.data.some((p: { name: string }) => p.name === 'intruder')).toBe(false);
    });

    it('answers the same 404 for ids that do not exist and malformed ids', async () => {
      const missing = await server.json('GET', `/v1/projects/prj_${'0'.repeat(32)}`, { key: a.keys.owner });
      const elsewhere = await server.json('GET', `/v1/projects/${b.projectId}`, { key: a.keys.owner });
      expect(missing.status).toBe(404);
      expect(elsewhere.status).toBe(404);
      expect(missing.body.title).toBe(elsewhere.body.title);
      expect((await server.json('GET', '/v1/projects/not-an-id', { key: a.keys.owner })).status).toBe(400);
    });
  });

  describe('roles', () => {
    it.each([
      ['viewer', 403],
      ['auditor', 403],
      ['developer', 201],
      ['admin', 201],
      ['owner', 201],
    ] as const)('%s creating a developer key → %i', async (role, status) => {
      const response = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        key: a.keys[role],
        body: { name: `by-${role}`, role: 'viewer' },
      });
      expect(response.status).toBe(status);
    });

    it.each([
      ['viewer', 403],
      ['auditor', 200],
      ['developer', 200],
      ['admin', 200],
      ['owner', 200],
    ] as const)('%s listing API keys → %i', async (role, status) => {
      expect(
        (await server.call('GET', `/v1/projects/${a.projectId}/api-keys`, { key: a.keys[role] })).status,
      ).toBe(status);
    });

    it.each([
      ['developer', 403],
      ['admin', 201],
    ] as const)('%s creating a project → %i', async (role, status) => {
      const response = await server.json('POST', `/v1/organizations/${a.orgId}/projects`, {
        key: a.keys[role],
        body: { name: 'n' },
      });
      expect(response.status).toBe(status);
    });

    it('no key can mint a key with a higher role than its own', async () => {
      const escalate = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        key: a.keys.developer,
        body: { name: 'escalate', role: 'admin' },
      });
      expect(escalate.status).toBe(403);
      const same = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        key: a.keys.admin,
        body: { name: 'peer', role: 'admin' },
      });
      expect(same.status).toBe(201);
    });

    it('an admin may not delete a project holding an owner key; an owner may', async () => {
      const t = await createTenant(server, 'Guarded');
      const project = `/v1/projects/${t.projectId}`;
      expect((await server.call('DELETE', project, { key: t.keys.admin })).status).toBe(403);
      expect((await server.call('GET', project, { key: t.keys.owner })).status).toBe(200);
      expect((await server.call('DELETE', project, { key: t.keys.owner })).status).toBe(204);
    });

    it('concurrent removals never leave an organization without an owner', async () => {
      for (let round = 0; round < 5; round++) {
        const org = await server.json('POST', '/v1/organizations', { body: { name: `Owners ${round}` } });
        const members = await Promise.all(
          ['x', 'y'].map((who) =>
            server.json('POST', `/v1/organizations/${org.body.id}/members`, {
              body: { email: `${who}@example.com`, role: 'owner' },
            }),
          ),
        );
        const removals = await Promise.all(
          members.map((m) => server.call('DELETE', `/v1/organizations/${org.body.id}/members/${m.body.id}`)),
        );
        expect(removals.map((r) => r.status).sort()).toEqual([204, 409]);
        const left = await server.json('GET', `/v1/organizations/${org.body.id}/members`);
        expect(left.body.data.filter((m: { role: string }) => m.role === 'owner')).toHaveLength(1);
      }
    });

    it('adding the same member concurrently creates one membership and answers 409, never 500', async () => {
      const org = await server.json('POST', '/v1/organizations', { body: { name: 'Crowd' } });
      const adds = await Promise.all(
        [1, 2, 3, 4].map(() =>
          server.call('POST', `/v1/organizations/${org.body.id}/members`, {
            body: { email: 'same@example.com', role: 'viewer' },
          }),
        ),
      );
      expect(adds.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    });

    it('a developer may not revoke an owner key', async () => {
      const path = `/v1/projects/${a.projectId}/api-keys/${a.keyIds.owner}`;
      expect((await server.call('DELETE', path, { key: a.keys.developer })).status).toBe(403);
      expect((await server.call('GET', `/v1/organizations/${a.orgId}`, { key: a.keys.owner })).status).toBe(
        200,
      );
    });

    it('members: admins manage, admins cannot touch owners, the last owner stays', async () => {
      const owner = await server.json('POST', `/v1/organizations/${a.orgId}/members`, {
        key: a.keys.owner,
        body: { email: 'Founder@Example.com', role: 'owner' },
      });
      expect(owner.status).toBe(201);
      expect(owner.body.email).toBe('founder@example.com');
      const dup = await server.json('POST', `/v1/organizations/${a.orgId}/members`, {
        key: a.keys.owner,
        body: { email: 'founder@example.com', role: 'viewer' },
      });
      expect(dup.status).toBe(409);
      const adminGrantsOwner = await server.json('POST', `/v1/organizations/${a.orgId}/members`, {
        key: a.keys.admin,
        body: { email: 'x@example.com', role: 'owner' },
      });
      expect(adminGrantsOwner.status).toBe(403);
      const adminDemotesOwner = await server.json(
        'PATCH',
        `/v1/organizations/${a.orgId}/members/${owner.body.id}`,
        {
          key: a.keys.admin,
          body: { role: 'viewer' },
        },
      );
      expect(adminDemotesOwner.status).toBe(403);
      const lastOwner = await server.json('PATCH', `/v1/organizations/${a.orgId}/members/${owner.body.id}`, {
        key: a.keys.owner,
        body: { role: 'admin' },
      });
      expect(lastOwner.status).toBe(409);
      const viewerReads = await server.json('GET', `/v1/organizations/${a.orgId}/members`, {
        key: a.keys.viewer,
      });
      expect(viewerReads.status).toBe(403);
      const auditorReads = await server.json('GET', `/v1/organizations/${a.orgId}/members`, {
        key: a.keys.auditor,
      });
      expect(auditorReads.status).toBe(200);
      expect(auditorReads.body.data.map((m: { email: string }) => m.email)).toContain('founder@example.com');
      const dev = await server.json('POST', `/v1/organizations/${a.orgId}/members`, {
        key: a.keys.admin,
        body: { email: 'dev@example.com', role: 'developer' },
      });
      expect(
        (
          await server.call('DELETE', `/v1/organizations/${a.orgId}/members/${dev.body.id}`, {
            key: a.keys.admin,
          })
        ).status,
      ).toBe(204);
      expect(
        (
          await server.call('GET', `/v1/organizations/${a.orgId}/members/${dev.body.id}`, {
            key: a.keys.admin,
          })
        ).status,
      ).toBe(404);
    });
  });

  describe('scopes', () => {
    it('a key does only what its scopes allow, and cannot grant scopes it lacks', async () => {
      const scoped = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        key: a.keys.admin,
        body: { name: 'read-only', role: 'admin', scopes: ['projects:read', 'api_keys:read'] },
      });
      expect(scoped.status).toBe(201);
      const key = scoped.body.secret;
      expect((await server.call('GET', `/v1/projects/${a.projectId}`, { key })).status).toBe(200);
      expect((await server.call('GET', `/v1/projects/${a.projectId}/api-keys`, { key })).status).toBe(200);
      expect((await server.call('GET', `/v1/organizations/${a.orgId}`, { key })).status).toBe(403);
      const write = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        key,
        body: { name: 'n', role: 'viewer' },
      });
      expect(write.status).toBe(403);

      const writer = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        key: a.keys.admin,
        body: { name: 'writer', role: 'admin', scopes: ['api_keys:write'] },
      });
      const widen = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        key: writer.body.secret,
        body: { name: 'wider', role: 'viewer', scopes: ['*'] },
      });
      expect(widen.status).toBe(403);
      const narrow = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        key: writer.body.secret,
        body: { name: 'narrow', role: 'viewer', scopes: ['api_keys:write'] },
      });
      expect(narrow.status).toBe(201);
    });

    it('a key scoped to projects:read lists its own project', async () => {
      const reader = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        body: { name: 'projects-reader', role: 'viewer', scopes: ['projects:read'] },
      });
      const listed = await server.json('GET', `/v1/organizations/${a.orgId}/projects`, {
        key: reader.body.secret,
      });
      expect(listed.status).toBe(200);
      expect(listed.body.data.map((p: { id: string }) => p.id)).toEqual([a.projectId]);
      const noScope = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        body: { name: 'keys-only', role: 'viewer', scopes: ['api_keys:read'] },
      });
      expect(
        (await server.call('GET', `/v1/organizations/${a.orgId}/projects`, { key: noScope.body.secret }))
          .status,
      ).toBe(403);
    });

    it('rejects unknown scopes by name', async () => {
      const response = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        body: { name: 'x', scopes: ['everything'] },
      });
      expect(response.status).toBe(400);
      expect(response.body.errors.some((e: { pointer: string }) => e.pointer.startsWith('#/scopes/0'))).toBe(
        true,
      );
    });
  });

  describe('platform keys', () => {
    it('rotates the bootstrap key: create a new platform key, revoke the old; the last one stays', async () => {
      const own = await startTestServer({}, engine);
      try {
        const listed = await own.json('GET', '/v1/platform/api-keys');
        expect(listed.status).toBe(200);
        expect(listed.body.data).toHaveLength(1);
        const bootstrapId = listed.body.data[0].id;
        const last = await own.json('DELETE', `/v1/platform/api-keys/${bootstrapId}`);
        expect(last.status).toBe(409);
        const created = await own.json('POST', '/v1/platform/api-keys', { body: { name: 'ops' } });
        expect(created.status).toBe(201);
        expect(created.body.secret).toMatch(/^sk_/);
        const revoke = await own.call('DELETE', `/v1/platform/api-keys/${bootstrapId}`, {
          key: created.body.secret,
        });
        expect(revoke.status).toBe(204);
        expect((await own.call('GET', '/v1/organizations', { key: ADMIN_KEY })).status).toBe(401);
        expect((await own.call('GET', '/v1/organizations', { key: created.body.secret })).status).toBe(200);
      } finally {
        await own.close();
      }
    });

    it('project keys, even owners, cannot see or manage platform keys', async () => {
      expect((await server.call('GET', '/v1/platform/api-keys', { key: a.keys.owner })).status).toBe(403);
      const create = await server.call('POST', '/v1/platform/api-keys', {
        key: a.keys.owner,
        body: { name: 'x' },
      });
      expect(create.status).toBe(403);
    });
  });

  describe('API keys', () => {
    it('shows the secret once, stores only a hash, and lists without secrets', async () => {
      const created = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        body: { name: 'once' },
      });
      expect(created.body.secret).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
      expect(created.body.prefix).toBe(created.body.secret.slice(0, 12));
      const fetched = await server.json('GET', `/v1/projects/${a.projectId}/api-keys/${created.body.id}`);
      expect(fetched.body.secret).toBeUndefined();
      const listed = await server.json('GET', `/v1/projects/${a.projectId}/api-keys?limit=100`);
      expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    });

    it('revocation takes effect on the very next request', async () => {
      const created = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        body: { name: 'soon-revoked', role: 'viewer' },
      });
      const key = created.body.secret;
      expect((await server.call('GET', `/v1/projects/${a.projectId}`, { key })).status).toBe(200);
      expect(
        (await server.call('DELETE', `/v1/projects/${a.projectId}/api-keys/${created.body.id}`)).status,
      ).toBe(204);
      const after = await server.json('GET', `/v1/projects/${a.projectId}`, { key });
      expect(after.status).toBe(401);
      expect(after.headers.get('www-authenticate')).toContain('invalid_token');
      const record = await server.json('GET', `/v1/projects/${a.projectId}/api-keys/${created.body.id}`);
      expect(record.body.revokedAt).not.toBeNull();
    });

    it('an expired key stops working; expiry must be in the future', async () => {
      const past = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        body: { name: 'past', expiresAt: '2001-01-01T00:00:00Z' },
      });
      expect(past.status).toBe(400);
      expect(past.body.errors[0].pointer).toBe('#/expiresAt');
      const soon = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        body: { name: 'soon', role: 'viewer', expiresAt: new Date(Date.now() + 1500).toISOString() },
      });
      expect(soon.status).toBe(201);
      expect(
        (await server.call('GET', `/v1/projects/${a.projectId}`, { key: soon.body.secret })).status,
      ).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      expect(
        (await server.call('GET', `/v1/projects/${a.projectId}`, { key: soon.body.secret })).status,
      ).toBe(401);
    });

    it('a key cannot create a key that outlives it', async () => {
      const inOneHour = new Date(Date.now() + 3_600_000).toISOString();
      const parent = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        body: { name: 'temporary', role: 'developer', expiresAt: inOneHour },
      });
      const child = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        key: parent.body.secret,
        body: { name: 'child', role: 'viewer' },
      });
      expect(child.status).toBe(201);
      expect(child.body.expiresAt).toBe(parent.body.expiresAt);
      const longer = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
        key: parent.body.secret,
        body: { name: 'longer', role: 'viewer', expiresAt: new Date(Date.now() + 7_200_000).toISOString() },
      });
      expect(longer.status).toBe(403);
      // Revoking stays possible for a short-lived key.
      const revoke = await server.call('DELETE', `/v1/projects/${a.projectId}/api-keys/${child.body.id}`, {
        key: parent.body.secret,
      });
      expect(revoke.status).toBe(204);
    });

    it('rejects missing, malformed and unknown credentials with 401 problem+json', async () => {
      for (const authorization of [
        undefined,
        'Basic abc',
        'Bearer',
        `Bearer sk_${'x'.repeat(43)}`,
        `Bearer ${ADMIN_KEY}x`,
      ]) {
        const response = await fetch(`${server.url}/v1/organizations`, {
          headers: authorization ? { authorization } : {},
        });
        expect(response.status, String(authorization)).toBe(401);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="persona"/);
      }
    });
  });
});
