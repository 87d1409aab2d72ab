import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe.each(ENGINES)('end-user sign-in and sessions (%s)', (engine) => {
  let server: IdentityTestServer;
  let tenant: Tenant;

  beforeAll(async () => {
    server = await startIdentityServer(engine);
    tenant = await createTenant(server, 'identity auth');
  });
  afterAll(() => server?.close());

  const base = () => `/p/${tenant.projectId}`;

  it('refuses self-registration until the policy allows it, then registers and signs in', async () => {
    const body = { username: 'alice', email: 'Alice@Example.com', password: GOOD_PASSWORD };
    const closed = await server.json('POST', `${base()}/auth/register`, { ...asUser(), body });
    expect(closed.status).toBe(403);

    const policy = await server.json('GET', `/v1/projects/${tenant.projectId}/identity-policy`, {
      key: tenant.keys.admin,
    });
    expect(policy.body.registration).toBe(false);
    const put = await server.json('PUT', `/v1/projects/${tenant.projectId}/identity-policy`, {
      key: tenant.keys.admin,
      body: { ...policy.body, registration: true },
    });
    expect(put.status).toBe(200);

    const registered = await server.json('POST', `${base()}/auth/register`, { ...asUser(), body });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({
      username: 'alice',
      email: 'Alice@Example.com',
      status: 'active',
    });

    const again = await server.json('POST', `${base()}/auth/register`, {
      ...asUser(),
      body: { ...body, username: 'alice2', email: 'ALICE@example.COM' },
    });
    expect(again.status).toBe(409);

    // Case-insensitive lookup by email and by username.
    const byEmail = await login(server, tenant.projectId, 'alice@EXAMPLE.com', GOOD_PASSWORD);
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.status).toBe('signed_in');
    expect(byEmail.body.session.amr).toEqual(['pwd']);
    expect(byEmail.body.token).toMatch(/^pcs_/);
    const cookie = byEmail.headers.get('set-cookie') ?? '';
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain(`Path=/p/${tenant.projectId}/`);
    expect(cookie).not.toContain('Secure'); // the public URL is http here

    const byName = await login(server, tenant.projectId, 'ALICE', GOOD_PASSWORD);
    expect(byName.status).toBe(200);
    const account = await server.json('GET', `${base()}/account`, asUser(byName.body.token));
    expect(account.body.username).toBe('alice');
  });

  it('refuses weak and common passwords with a pointer to the field', async () => {
    const cases: Array<[string, string]> = [
      ['short', 'password_too_short'],
      ['password1234', 'password_common'],
      ['bob-the-builder-2024', 'password_contains_identifier'],
    ];
    for (const [password, code] of cases) {
      const created = await server.json('POST', `/v1/projects/${tenant.projectId}/users`, {
        key: tenant.keys.developer,
        body: { username: 'bob', password },
      });
      expect(created.status).toBe(400);
      expect(created.body.code).toBe(code);
      expect(created.body.errors[0].pointer).toBe('#/password');
    }
    const tooLong = await server.json('POST', `/v1/projects/${tenant.projectId}/users`, {
      key: tenant.keys.developer,
      body: { username: 'bob', password: 'x'.repeat(129) },
    });
    expect(tooLong.status).toBe(400);
  });

  it('answers a wrong password and an unknown user the same way', async () => {
    const user = await createUser(server, tenant);
    const wrong = await login(server, tenant.projectId, user.username, 'not-the-password', '203.0.113.1');
    const unknown = await login(server, tenant.projectId, 'nobody-here', 'not-the-password', '203.0.113.2');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');
    expect(unknown.body.detail).toBe(wrong.body.detail);
    expect(unknown.body.code).toBe(wrong.body.code);
  });

  it('backs off exponentially after 5 failures, then lets the right password in once it has passed', async () => {
    const user = await createUser(server, tenant);
    const ip = '198.51.100.10';
    for (let i = 0; i < 4; i++) {
      expect((await login(server, tenant.projectId, user.username, 'wrong-password', ip)).status).toBe(401);
    }
    // The 5th failure starts a 1 s back-off; during it even the right password is refused, unchecked.
    expect((await login(server, tenant.projectId, user.username, 'wrong-password', ip)).status).toBe(401);
    const blocked = await login(server, tenant.projectId, user.username, GOOD_PASSWORD, ip);
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('locked');
    expect(blocked.headers.get('retry-after')).toBe('1');

    server.clock.advance(1_100);
    // The 6th failure doubles it to 2 s.
    expect((await login(server, tenant.projectId, user.username, 'wrong-password', ip)).status).toBe(401);
    const doubled = await login(server, tenant.projectId, user.username, GOOD_PASSWORD, ip);
    expect(doubled.headers.get('retry-after')).toBe('2');

    // Many more failures: the lockout is capped at 15 minutes.
    for (let i = 0; i < 12; i++) {
      server.clock.advance(16 * 60_000);
      expect((await login(server, tenant.projectId, user.username, 'wrong-password', ip)).status).toBe(401);
    }
    const capped = await login(server, tenant.projectId, user.username, GOOD_PASSWORD, ip);
    expect(capped.status).toBe(429);
    expect(Number(capped.headers.get('retry-after'))).toBe(900);

    server.clock.advance(901_000);
    const ok = await login(server, tenant.projectId, user.username, GOOD_PASSWORD, ip);
    expect(ok.status).toBe(200);
    // Success reset the counter: one failure does not block again.
    expect((await login(server, tenant.projectId, user.username, 'wrong-password', ip)).status).toBe(401);
    expect((await login(server, tenant.projectId, user.username, GOOD_PASSWORD, ip)).status).toBe(200);
  });

  it('an attacker failing from another address cannot lock the owner out', async () => {
    const user = await createUser(server, tenant);
    for (let i = 0; i < 8; i++)
      await login(server, tenant.projectId, user.username, `guess-${i}`, '192.0.2.66');
    const attacker = await login(server, tenant.projectId, user.username, GOOD_PASSWORD, '192.0.2.66');
    expect(attacker.status).toBe(429);
    const owner = await login(server, tenant.projectId, user.username, GOOD_PASSWORD, '192.0.2.200');
    expect(owner.status).toBe(200);
  });

  it('locks unknown identifiers exactly like known ones', async () => {
    const ip = '198.51.100.77';
    for (let i = 0; i < 5; i++) await login(server, tenant.projectId, 'ghost-user', 'wrong-password', ip);
    const locked = await login(server, tenant.projectId, 'ghost-user', 'wrong-password', ip);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('locked');
  });

  it('lists and revokes sessions, and signs out everywhere', async () => {
    const user = await createUser(server, tenant);
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      tokens.push((await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token);
    }
    const [first, second, third] = tokens as [string, string, string];
    const listed = await server.json('GET', `${base()}/account/sessions`, asUser(first));
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(3);
    expect(listed.body.data.filter((s: { current: boolean }) => s.current)).toHaveLength(1);

    const secondId = (await server.json('GET', `${base()}/account/sessions`, asUser(second))).body.data.find(
      (s: { current: boolean }) => s.current,
    ).id;
    const revoked = await server.call('DELETE', `${base()}/account/sessions/${secondId}`, asUser(first));
    expect(revoked.status).toBe(204);
    expect((await server.json('GET', `${base()}/account`, asUser(second))).status).toBe(401);

    const logout = await server.call('POST', `${base()}/auth/logout`, asUser(third));
    expect(logout.status).toBe(204);
    expect((await server.json('GET', `${base()}/account`, asUser(third))).status).toBe(401);

    const fourth = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token;
    const all = await server.json('POST', `${base()}/account/sessions/revoke-all`, asUser(first));
    expect(all.body.revoked).toBe(2);
    expect((await server.json('GET', `${base()}/account`, asUser(first))).status).toBe(401);
    expect((await server.json('GET', `${base()}/account`, asUser(fourth))).status).toBe(401);
  });

  it('ends sessions after the idle timeout and after the absolute timeout', async () => {
    const user = await createUser(server, tenant);
    const idle = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token;
    server.clock.advance(11 * 3600_000);
    expect((await server.json('GET', `${base()}/account`, asUser(idle))).status).toBe(200);
    server.clock.advance(11 * 3600_000); // 11 h since the last use: still inside the 12 h idle timeout
    expect((await server.json('GET', `${base()}/account`, asUser(idle))).status).toBe(200);
    server.clock.advance(12 * 3600_000 + 1_000);
    expect((await server.json('GET', `${base()}/account`, asUser(idle))).status).toBe(401);

    const busy = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token;
    for (let hours = 0; hours < 7 * 24; hours += 10) {
      server.clock.advance(10 * 3600_000);
      const status = (await server.json('GET', `${base()}/account`, asUser(busy))).status;
      expect(status).toBe(hours + 10 < 7 * 24 ? 200 : 401);
    }
  });

  it('refuses cross-origin requests authenticated by the cookie, and cross-origin sign-in', async () => {
    const user = await createUser(server, tenant);
    const signed = await login(server, tenant.projectId, user.username, GOOD_PASSWORD);
    const cookie = `persona_session=${signed.body.token}`;
    const evil = await server.call('POST', `${base()}/account/sessions/revoke-all`, {
      key: null,
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(evil.status).toBe(403);
    const same = await server.json('GET', `${base()}/account`, { key: null, headers: { cookie } });
    expect(same.status).toBe(200);
    const own = await server.call('POST', `${base()}/auth/logout`, {
      key: null,
      headers: { cookie, origin: new URL(server.url).origin },
    });
    expect(own.status).toBe(204);

    const crossLogin = await server.json('POST', `${base()}/auth/login`, {
      key: null,
      headers: { origin: 'https://evil.example' },
      body: { identifier: user.username, password: GOOD_PASSWORD },
    });
    expect(crossLogin.status).toBe(403);
  });
});
