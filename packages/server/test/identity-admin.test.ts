import { parseOptions } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWASP_ARGON2, PasswordHasher } from '../src/modules/identity/passwords.js';
import { IdentityService } from '../src/modules/identity/service.js';
import {
  asUser,
  createTenant,
  createUser,
  ENGINES,
  GOOD_PASSWORD,
  type IdentityTestServer,
  login,
  startIdentityServer,
  type Tenant,
} from './identity-helpers.js';

describe.each(ENGINES)('admin API of users (%s)', (engine) => {
  let server: IdentityTestServer;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    server = await startIdentityServer(engine);
    a = await createTenant(server, 'identity admin A');
    b = await createTenant(server, 'identity admin B');
  });
  afterAll(() => server?.close());

  const users = (tenant: Tenant) => `/v1/projects/${tenant.projectId}/users`;

  it('creates, gets, lists with filters and pages, and updates users', async () => {
    const created = await server.json('POST', users(a), {
      key: a.keys.developer,
      body: {
        username: 'Carol.Admin',
        email: 'carol@corp.example',
        displayName: 'Carol',
        emailVerified: true,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username: 'Carol.Admin', emailVerified: true, totpEnabled: false });
    for (const name of ['dave', 'dan', 'erin']) {
      await server.json('POST', users(a), {
        key: a.keys.developer,
        body: { username: name, email: `${name}@other.example` },
      });
    }
    const got = await server.json('GET', `${users(a)}/${created.body.id}`, { key: a.keys.auditor });
    expect(got.body.email).toBe('carol@corp.example');

    const byEmail = await server.json('GET', `${users(a)}?email=CAROL@`, { key: a.keys.auditor });
    expect(byEmail.body.data.map((u: { id: string }) => u.id)).toEqual([created.body.id]);
    const byName = await server.json('GET', `${users(a)}?username=da`, { key: a.keys.auditor });
    expect(byName.body.data.map((u: { username: string }) => u.username).sort()).toEqual(['dan', 'dave']);
    // LIKE wildcards in the prefix are literal.
    expect((await server.json('GET', `${users(a)}?username=%25`, { key: a.keys.auditor })).body.data).toEqual(
      [],
    );

    const page1 = await server.json('GET', `${users(a)}?limit=2`, { key: a.keys.auditor });
    expect(page1.body.data).toHaveLength(2);
    const page2 = await server.json('GET', `${users(a)}?limit=2&cursor=${page1.body.nextCursor}`, {
      key: a.keys.auditor,
    });
    expect(page2.body.data).toHaveLength(2);
    expect(page2.body.nextCursor).toBeNull();

    const patched = await server.json('PATCH', `${users(a)}/${created.body.id}`, {
      key: a.keys.developer,
      body: { displayName: 'Carol A.' },
    });
    expect(patched.body.displayName).toBe('Carol A.');
    expect(patched.body.status).toBe('active');
  });

  it('follows roles and scopes: auditors read, developers write, admins set the policy', async () => {
    expect((await server.json('GET', users(a), { key: a.keys.viewer })).status).toBe(403);
    expect(
      (await server.json('POST', users(a), { key: a.keys.auditor, body: { username: 'x1' } })).status,
    ).toBe(403);
    const policy = await server.json('GET', `/v1/projects/${a.projectId}/identity-policy`, {
      key: a.keys.auditor,
    });
    expect(policy.status).toBe(200);
    const put = (key: string) =>
      server.json('PUT', `/v1/projects/${a.projectId}/identity-policy`, { key, body: policy.body });
    expect((await put(a.keys.developer)).status).toBe(403);
    expect((await put(a.keys.admin)).status).toBe(200);

    const scoped = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
      key: a.keys.owner,
      body: { name: 'reader', role: 'developer', scopes: ['users:read'] },
    });
    expect((await server.json('GET', users(a), { key: scoped.body.secret })).status).toBe(200);
    expect(
      (await server.json('POST', users(a), { key: scoped.body.secret, body: { username: 'x2' } })).status,
    ).toBe(403);

    const bad = await server.json('PUT', `/v1/projects/${a.projectId}/identity-policy`, {
      key: a.keys.admin,
      body: { ...policy.body, sessions: { idleTimeoutSeconds: 7200, absoluteTimeoutSeconds: 3600 } },
    });
    expect(bad.status).toBe(400);
  });

  it('disabling a user blocks sign-in and ends their sessions; enabling lets them back', async () => {
    const user = await createUser(server, a);
    const token = (await login(server, a.projectId, user.username, GOOD_PASSWORD)).body.token;
    const disabled = await server.json('PATCH', `${users(a)}/${user.id}`, {
      key: a.keys.developer,
      body: { status: 'disabled' },
    });
    expect(disabled.body.status).toBe('disabled');
    expect((await server.json('GET', `/p/${a.projectId}/account`, asUser(token))).status).toBe(401);
    const refused = await login(server, a.projectId, user.username, GOOD_PASSWORD);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('account_disabled');
    expect(
      (await server.json('GET', `${users(a)}?status=disabled`, { key: a.keys.auditor })).body.data.map(
        (u: { id: string }) => u.id,
      ),
    ).toContain(user.id);

    await server.json('PATCH', `${users(a)}/${user.id}`, {
      key: a.keys.developer,
      body: { status: 'active' },
    });
    expect((await login(server, a.projectId, user.username, GOOD_PASSWORD)).status).toBe(200);
  });

  it('lists and revokes a user’s sessions', async () => {
    const user = await createUser(server, a);
    const t1 = (await login(server, a.projectId, user.username, GOOD_PASSWORD)).body.token;
    const t2 = (await login(server, a.projectId, user.username, GOOD_PASSWORD)).body.token;
    const listed = await server.json('GET', `${users(a)}/${user.id}/sessions`, { key: a.keys.auditor });
    expect(listed.body.data).toHaveLength(2);
    const one = await server.call('DELETE', `${users(a)}/${user.id}/sessions/${listed.body.data[0].id}`, {
      key: a.keys.developer,
    });
    expect(one.status).toBe(204);
    const all = await server.json('DELETE', `${users(a)}/${user.id}/sessions`, { key: a.keys.developer });
    expect(all.body.revoked).toBe(1);
    for (const token of [t1, t2]) {
      expect((await server.json('GET', `/p/${a.projectId}/account`, asUser(token))).status).toBe(401);
    }
  });

  it('sets a password: policy-checked, the user signs in with it, their old sessions end, audited without it', async () => {
    const user = await createUser(server, a);
    const old = (await login(server, a.projectId, user.username, GOOD_PASSWORD)).body.token;
    const path = `${users(a)}/${user.id}/password`;
    const weak = await server.json('PUT', path, { key: a.keys.developer, body: { password: 'short' } });
    expect(weak.status).toBe(400);
    expect(weak.body.code).toBe('password_too_short');
    expect((await server.json('PUT', path, { key: a.keys.auditor, body: { password: 'x' } })).status).toBe(
      403,
    );
    expect(
      (
        await server.json('PUT', `${users(b)}/${user.id}/password`, {
          key: b.keys.developer,
          body: { password: 'reset-harbor-violet-77' },
        })
      ).status,
    ).toBe(404);

    const newPassword = 'reset-harbor-violet-77';
    const set = await server.call('PUT', path, { key: a.keys.developer, body: { password: newPassword } });
    expect(set.status).toBe(204);
    expect((await server.json('GET', `/p/${a.projectId}/account`, asUser(old))).status).toBe(401);
    expect((await login(server, a.projectId, user.username, GOOD_PASSWORD)).status).toBe(401);
    expect((await login(server, a.projectId, user.username, newPassword)).status).toBe(200);

    const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`, {
      key: a.keys.auditor,
    });
    const event = audit.body.data.find(
      (e: { type: string; subject: string }) => e.type === 'user.password_set' && e.subject === user.id,
    );
    expect(event.details).toEqual({ sessionsRevoked: 1, passkeysRemoved: 0 });
    expect(JSON.stringify(audit.body)).not.toContain(newPassword);
  });

  it('deleting a user erases their personal data; the audit trail holds only hashes', async () => {
    const email = 'erase.me@private.example';
    const user = await createUser(server, a, { email, displayName: 'Erasable Person' });
    const token = (await login(server, a.projectId, email, GOOD_PASSWORD)).body.token;
    expect((await server.call('DELETE', `${users(a)}/${user.id}`, { key: a.keys.developer })).status).toBe(
      204,
    );

    const row = await server.db
      .selectFrom('identity_users')
      .selectAll()
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      username: null,
      username_normalized: null,
      email: null,
      email_normalized: null,
      display_name: null,
      password_hash: null,
      totp_secret: null,
      status: 'deleted',
    });
    expect((await server.json('GET', `${users(a)}/${user.id}`, { key: a.keys.auditor })).status).toBe(404);
    expect((await server.json('GET', `/p/${a.projectId}/account`, asUser(token))).status).toBe(401);
    expect((await login(server, a.projectId, email, GOOD_PASSWORD)).status).toBe(401);
    // The username and email are free again.
    const reused = await server.json('POST', users(a), {
      key: a.keys.developer,
      body: { username: user.username, email },
    });
    expect(reused.status).toBe(201);

    const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`, {
      key: a.keys.auditor,
    });
    const text = JSON.stringify(audit.body);
    expect(text).not.toContain(email);
    expect(text).not.toContain('Erasable');
    expect(text).not.toContain(user.username);
    const deleted = audit.body.data.find(
      (e: { type: string; subject: string }) => e.type === 'user.deleted' && e.subject === user.id,
    );
    expect(deleted.details.emailHash).toMatch(/^[0-9a-f]{64}$/);
    expect(audit.body.data.some((e: { type: string }) => e.type === 'session.created')).toBe(true);
  });

  it('isolates tenants: another project’s key sees no user, a session works only in its project', async () => {
    const user = await createUser(server, a);
    expect((await server.json('GET', `${users(a)}/${user.id}`, { key: b.keys.owner })).status).toBe(404);
    expect((await server.json('GET', `${users(b)}/${user.id}`, { key: b.keys.owner })).status).toBe(404);
    expect((await server.json('GET', users(a), { key: b.keys.owner })).status).toBe(404);
    expect(
      (
        await server.json('PATCH', `${users(b)}/${user.id}`, {
          key: b.keys.owner,
          body: { status: 'disabled' },
        })
      ).status,
    ).toBe(404);
    expect((await server.call('DELETE', `${users(b)}/${user.id}`, { key: b.keys.owner })).status).toBe(404);
    const listB = await server.json('GET', users(b), { key: b.keys.owner });
    expect(listB.body.data.map((u: { id: string }) => u.id)).not.toContain(user.id);

    const token = (await login(server, a.projectId, user.username, GOOD_PASSWORD)).body.token;
    expect((await server.json('GET', `/p/${a.projectId}/account`, asUser(token))).status).toBe(200);
    expect((await server.json('GET', `/p/${b.projectId}/account`, asUser(token))).status).toBe(401);
    expect((await login(server, b.projectId, user.username, GOOD_PASSWORD)).status).toBe(401);
  });

  it('gives the OIDC provider a typed outcome and standard claims', async () => {
    const user = await createUser(server, a, {
      email: 'oidc@corp.example',
      displayName: 'Olive',
      emailVerified: true,
    });
    const outcome = await server.identity.authenticate(
      a.projectId,
      { identifier: user.username, password: GOOD_PASSWORD },
      { ip: '192.0.2.9' },
    );
    expect(outcome).toEqual({ status: 'ok', userId: user.id, amr: ['pwd'], mfaEnrollmentRequired: false });
    expect(await (await server.identity.findAccount(a.projectId, user.id))?.claims()).toEqual({
      sub: user.id,
      preferred_username: user.username,
      email: 'oidc@corp.example',
      email_verified: true,
      name: 'Olive',
    });
    expect(await server.identity.findAccount(b.projectId, user.id)).toBeNull();
  });

  it('rehashes a password made with other parameters at the next sign-in', async () => {
    const user = await createUser(server, a);
    const stronger = await new PasswordHasher({ memoryCost: 2048, timeCost: 1, parallelism: 1 }).hash(
      GOOD_PASSWORD,
    );
    await server.db
      .updateTable('identity_users')
      .set({ password_hash: stronger })
      .where('id', '=', user.id)
      .execute();
    expect((await login(server, a.projectId, user.username, GOOD_PASSWORD)).status).toBe(200);
    const row = await server.db
      .selectFrom('identity_users')
      .select('password_hash')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(parseOptions(row.password_hash as string).memoryCost).toBe(server.identity.argon2.memoryCost);
  });
});

describe('production password hashing', () => {
  it('defaults to Argon2id with OWASP parameters (m=19456 KiB, t=2, p=1)', async () => {
    expect(OWASP_ARGON2).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    const service = new IdentityService({} as never, {} as never, {} as never, new Uint8Array(32));
    expect(service.argon2).toEqual(OWASP_ARGON2);
    const phc = await new PasswordHasher().hash(GOOD_PASSWORD);
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await new PasswordHasher().verify(phc, GOOD_PASSWORD)).toBe(true);
  });
});
