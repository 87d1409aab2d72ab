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
import { Browser, expectPage } from './page-browser.js';
import { SoftAuthenticator } from './soft-authenticator.js';

// The public URL decides the relying party: RP ID localhost, origin http://localhost:8443. The server
// listens elsewhere; the software authenticator plays a browser on the public origin.
const ORIGIN = 'http://localhost:8443';

describe.each(ENGINES)('passkeys (%s)', (engine) => {
  let server: IdentityTestServer;
  let tenant: Tenant;
  let other: Tenant;

  beforeAll(async () => {
    server = await startIdentityServer(engine, { PERSONA_PUBLIC_URL: ORIGIN });
    tenant = await createTenant(server, 'passkeys');
    other = await createTenant(server, 'passkeys other');
  });
  afterAll(() => server?.close());

  const base = (t: Tenant = tenant) => `/p/${t.projectId}`;

  async function signedInUser(t: Tenant = tenant) {
    const user = await createUser(server, t);
    const token: string = (await login(server, t.projectId, user.username, GOOD_PASSWORD)).body.token;
    return { ...user, token };
  }

  async function registerPasskey(
    token: string,
    authenticator: SoftAuthenticator,
    name: string,
    t: Tenant = tenant,
  ) {
    const options = await server.json('POST', `${base(t)}/account/passkeys/options`, asUser(token));
    expect(options.status).toBe(200);
    const response = authenticator.create(options.body);
    return server.json('POST', `${base(t)}/account/passkeys`, { ...asUser(token), body: { name, response } });
  }

  async function signInOptions(t: Tenant = tenant) {
    const options = await server.json('POST', `${base(t)}/auth/passkey/options`, asUser());
    expect(options.status).toBe(200);
    return options.body;
  }

  function signIn(response: unknown, ip?: string, t: Tenant = tenant) {
    return server.json('POST', `${base(t)}/auth/passkey`, { ...asUser(undefined, ip), body: { response } });
  }

  async function auditOf(type: string, subject: string) {
    const rows = await server.db
      .selectFrom('audit_events')
      .select('entry')
      .where('type', '=', type)
      .where('project_id', '=', tenant.projectId)
      .execute();
    return rows.map((row) => JSON.parse(row.entry)).filter((entry) => entry.subject === subject);
  }

  it('registers several passkeys, lists, renames and deletes them', async () => {
    const user = await signedInUser();
    const authenticator = new SoftAuthenticator(ORIGIN);
    const options = await server.json('POST', `${base()}/account/passkeys/options`, asUser(user.token));
    expect(options.body.rp).toEqual({ name: 'PersonaChain', id: 'localhost' });
    expect(options.body.authenticatorSelection).toMatchObject({
      residentKey: 'required',
      userVerification: 'required',
    });
    expect(options.body.attestation).toBe('none');
    expect(options.body.excludeCredentials).toEqual([]);

    const first = await registerPasskey(user.token, authenticator, 'Laptop');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: 'Laptop', deviceType: 'singleDevice', lastUsedAt: null });
    expect((await auditOf('passkey.registered', first.body.id)).length).toBe(1);

    // The second ceremony excludes the first credential: the same authenticator cannot register twice.
    const again = await server.json('POST', `${base()}/account/passkeys/options`, asUser(user.token));
    const firstId = Buffer.from(authenticator.credentials[0]?.id ?? []).toString('base64url');
    expect(again.body.excludeCredentials).toEqual([
      expect.objectContaining({ id: firstId, transports: ['internal'] }),
    ]);
    expect(() => authenticator.create(again.body)).toThrow(/InvalidStateError/);
    const second = await registerPasskey(user.token, new SoftAuthenticator(ORIGIN), 'Phone');
    expect(second.status).toBe(201);

    const list = await server.json('GET', `${base()}/account/passkeys`, asUser(user.token));
    expect(list.body.items.map((item: { name: string }) => item.name)).toEqual(['Laptop', 'Phone']);

    const renamed = await server.json('PATCH', `${base()}/account/passkeys/${second.body.id}`, {
      ...asUser(user.token),
      body: { name: 'Work phone' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Work phone');

    const removed = await server.call(
      'DELETE',
      `${base()}/account/passkeys/${first.body.id}`,
      asUser(user.token),
    );
    expect(removed.status).toBe(204);
    const after = await server.json('GET', `${base()}/account/passkeys`, asUser(user.token));
    expect(after.body.items.map((item: { name: string }) => item.name)).toEqual(['Work phone']);
    // Another user's passkey is not theirs to touch.
    const stranger = await signedInUser();
    const foreign = await server.call(
      'DELETE',
      `${base()}/account/passkeys/${second.body.id}`,
      asUser(stranger.token),
    );
    expect(foreign.status).toBe(404);
  });

  it('lists, renames and removes passkeys on the account page with forms alone', async () => {
    const user = await createUser(server, tenant);
    const browser = new Browser(server.url);
    const form = await browser.navigate(`${server.url}${base()}/pages/account`);
    expectPage(form, 'Sign in to your account');
    // The passkey button is there for browsers with WebAuthn, hidden without the script.
    expect(form.html).toContain('<form hidden method="get"');
    const overview = await browser.submit(form, { identifier: user.username, password: GOOD_PASSWORD });
    expectPage(overview, 'Your account');
    expect(overview.html).toContain('<h2 id="passkeys-heading">Passkeys</h2>');
    expect(overview.html).toContain('None yet.');

    const cookie = `persona_session=${browser.cookies.get('persona_session')}`;
    const options = await server.json('POST', `${base()}/account/passkeys/options`, {
      key: null,
      headers: { cookie },
    });
    const response = new SoftAuthenticator(ORIGIN).create(options.body);
    const added = await server.json('POST', `${base()}/account/passkeys`, {
      key: null,
      headers: { cookie },
      body: { name: '<b>Laptop</b>', response },
    });
    expect(added.status).toBe(201);

    const listed = await browser.navigate(`${server.url}${base()}/pages/account`);
    expectPage(listed, 'Your account');
    expect(listed.html).toContain('<td>&lt;b&gt;Laptop&lt;/b&gt;</td>');
    const renamed = await browser.submit(listed, { name: 'Work laptop' }, '/passkeys/rename');
    expectPage(renamed, 'Your account');
    expect(renamed.html).toContain('Passkey renamed.');
    expect(renamed.html).toContain('<td>Work laptop</td>');
    const removed = await browser.submit(renamed, {}, '/passkeys/delete');
    expectPage(removed, 'Your account');
    expect(removed.html).toContain('Passkey removed.');
    expect(removed.html).toContain('None yet.');
    // A stale form (the passkey is gone) answers 404 on the page.
    expectPage(await browser.submit(renamed, {}, '/passkeys/delete'), 'Your account', 404);
  });

  it('signs in username-less with the passkey amr; the session cookie works', async () => {
    const user = await signedInUser();
    const authenticator = new SoftAuthenticator(ORIGIN);
    const registered = await registerPasskey(user.token, authenticator, 'Laptop');
    expect(registered.status).toBe(201);

    const options = await signInOptions();
    expect(options.rpId).toBe('localhost');
    expect(options.userVerification).toBe('required');
    expect(options.allowCredentials ?? []).toEqual([]);
    const signed = await signIn(authenticator.get(options));
    expect(signed.status).toBe(200);
    expect(signed.body.session.amr).toEqual(['hwk', 'user', 'mfa']);
    const cookie = signed.headers.get('set-cookie')?.split(';')[0] ?? '';
    expect(cookie).toMatch(/^persona_session=.+/);
    const account = await server.json('GET', `${base()}/account`, { key: null, headers: { cookie } });
    expect(account.status).toBe(200);
    expect(account.body.id).toBe(user.id);

    const list = await server.json('GET', `${base()}/account/passkeys`, asUser(user.token));
    expect(list.body.items[0].lastUsedAt).not.toBeNull();
  });

  it('refuses without user verification, from another origin or RP, and a used challenge', async () => {
    const user = await signedInUser();
    const authenticator = new SoftAuthenticator(ORIGIN);
    expect((await registerPasskey(user.token, authenticator, 'Laptop')).status).toBe(201);

    // Registration without user verification is refused too.
    const regOptions = await server.json('POST', `${base()}/account/passkeys/options`, asUser(user.token));
    const noUv = new SoftAuthenticator(ORIGIN).create(regOptions.body, { userVerified: false });
    const refusedReg = await server.json('POST', `${base()}/account/passkeys`, {
      ...asUser(user.token),
      body: { name: 'No UV', response: noUv },
    });
    expect(refusedReg.status).toBe(401);

    const ip = '198.51.100.7';
    for (const overrides of [
      { userVerified: false },
      { origin: 'http://evil.example' },
      { rpId: 'evil.example' },
    ]) {
      const refused = await signIn(authenticator.get(await signInOptions(), overrides), ip);
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('passkey_failed');
    }

    const options = await signInOptions();
    const response = authenticator.get(options);
    expect((await signIn(response, ip)).status).toBe(200);
    const replayed = await signIn(authenticator.get(options), ip);
    expect(replayed.status).toBe(401);
    expect(replayed.body.code).toBe('passkey_failed');

    // An expired challenge fails the same way.
    const stale = await signInOptions();
    server.clock.advance(5 * 60_000 + 1);
    expect((await signIn(authenticator.get(stale), ip)).body.code).toBe('passkey_failed');
  });

  it('takes a sign-in start from the platform origin only', async () => {
    const from = (headers: Record<string, string>) =>
      server.json('POST', `${base()}/auth/passkey/options`, { key: null, headers });
    expect((await from({ origin: 'http://evil.example' })).status).toBe(403);
    // Under a no-referrer policy browsers send `Origin: null` even from the same origin.
    expect((await from({ origin: 'null', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await from({ origin: 'null' })).status).toBe(403);
    expect((await from({ origin: 'null', 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect((await from({ origin: ORIGIN })).status).toBe(200);
  });

  it('counts failures per address and backs off', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    const user = await signedInUser();
    expect((await registerPasskey(user.token, authenticator, 'Laptop')).status).toBe(201);
    const ip = '203.0.113.9';
    for (let i = 0; i < 5; i++) {
      expect(
        (await signIn(authenticator.get(await signInOptions(), { userVerified: false }), ip)).status,
      ).toBe(401);
    }
    const locked = await signIn(authenticator.get(await signInOptions()), ip);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('locked');
    // Another address is not affected.
    expect((await signIn(authenticator.get(await signInOptions()), '203.0.113.10')).status).toBe(200);
  });

  it('refuses a counter that went backwards as a cloned authenticator, and audits it', async () => {
    const user = await signedInUser();
    const authenticator = new SoftAuthenticator(ORIGIN);
    const registered = await registerPasskey(user.token, authenticator, 'Laptop');
    expect((await signIn(authenticator.get(await signInOptions(), { counter: 10 }))).status).toBe(200);
    const cloned = await signIn(authenticator.get(await signInOptions(), { counter: 7 }), '192.0.2.50');
    expect(cloned.status).toBe(401);
    const events = await auditOf('passkey.clone_detected', registered.body.id);
    expect(events).toHaveLength(1);
    expect(events[0].details).toMatchObject({ storedCounter: 10, receivedCounter: 7, userId: user.id });
    // The genuine authenticator, counting on, still signs in.
    expect((await signIn(authenticator.get(await signInOptions(), { counter: 11 }))).status).toBe(200);
  });

  it("refuses another project's credential and challenge (tenant isolation)", async () => {
    const user = await signedInUser(other);
    const authenticator = new SoftAuthenticator(ORIGIN);
    expect((await registerPasskey(user.token, authenticator, 'Laptop', other)).status).toBe(201);
    // A challenge of this project, a credential of the other.
    expect((await signIn(authenticator.get(await signInOptions()), '192.0.2.60')).status).toBe(401);
    // A challenge of the other project used here.
    expect((await signIn(authenticator.get(await signInOptions(other)), '192.0.2.60')).status).toBe(401);
    // The admin API of this project does not see the other project's user.
    const listed = await server.json('GET', `/v1/projects/${tenant.projectId}/users/${user.id}/passkeys`, {
      key: tenant.keys.auditor,
    });
    expect(listed.status).toBe(404);
  });

  it('lets admins list and delete passkeys; erasing a user removes them', async () => {
    const user = await signedInUser();
    const authenticator = new SoftAuthenticator(ORIGIN);
    const registered = await registerPasskey(user.token, authenticator, 'Laptop');
    const path = `/v1/projects/${tenant.projectId}/users/${user.id}/passkeys`;
    const listed = await server.json('GET', path, { key: tenant.keys.auditor });
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0].id).toBe(registered.body.id);
    expect(
      (await server.call('DELETE', `${path}/${registered.body.id}`, { key: tenant.keys.viewer })).status,
    ).toBe(403);
    expect(
      (await server.call('DELETE', `${path}/${registered.body.id}`, { key: tenant.keys.developer })).status,
    ).toBe(204);
    expect((await auditOf('passkey.deleted', registered.body.id))[0].actor).toBe(tenant.keyIds.developer);
    expect((await signIn(authenticator.get(await signInOptions()), '192.0.2.70')).status).toBe(401);

    const kept = new SoftAuthenticator(ORIGIN);
    expect((await registerPasskey(user.token, kept, 'Phone')).status).toBe(201);
    const erased = await server.call('DELETE', `/v1/projects/${tenant.projectId}/users/${user.id}`, {
      key: tenant.keys.developer,
    });
    expect(erased.status).toBe(204);
    const rows = await server.db
      .selectFrom('identity_passkeys')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    expect(rows).toEqual([]);
    expect((await signIn(kept.get(await signInOptions()), '192.0.2.70')).status).toBe(401);
  });
});
