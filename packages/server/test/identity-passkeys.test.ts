import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR_MFA, acrOf } from '../src/modules/oidc/acr.js';
import {
  asUser,
  codeAt,
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
import { SmtpCapture } from './smtp-capture.js';
import { SoftAuthenticator } from './soft-authenticator.js';

// The public URL decides the relying party: RP ID localhost, origin http://localhost:8443. The server
// listens elsewhere; the software authenticator plays a browser on the public origin.
const ORIGIN = 'http://localhost:8443';
/** Adding a passkey needs a session authenticated within this long. */
const RECENT_MS = 10 * 60_000;

describe.each(ENGINES)('passkeys (%s)', (engine) => {
  let server: IdentityTestServer;
  let tenant: Tenant;
  let other: Tenant;
  let smtp: SmtpCapture;

  beforeAll(async () => {
    smtp = new SmtpCapture();
    server = await startIdentityServer(engine, {
      PERSONA_PUBLIC_URL: ORIGIN,
      PERSONA_SMTP_URL: await smtp.start(),
      PERSONA_SMTP_FROM: 'PersonaChain <no-reply@example.test>',
    });
    tenant = await createTenant(server, 'passkeys');
    other = await createTenant(server, 'passkeys other');
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  const base = (t: Tenant = tenant) => `/p/${t.projectId}`;

  async function signedInUser(t: Tenant = tenant, fields: Record<string, unknown> = {}) {
    const user = await createUser(server, t, fields);
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
      .orderBy('ledger_seq')
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

  it('signs in a synced passkey with swk, a device-bound one with hwk; both are MFA', async () => {
    const user = await signedInUser();
    const synced = new SoftAuthenticator(ORIGIN);
    const options = await server.json('POST', `${base()}/account/passkeys/options`, asUser(user.token));
    const registered = await server.json('POST', `${base()}/account/passkeys`, {
      ...asUser(user.token),
      body: { name: 'Phone', response: synced.create(options.body, { synced: true }) },
    });
    expect(registered.body).toMatchObject({ deviceType: 'multiDevice', backedUp: true });
    const signed = await signIn(synced.get(await signInOptions()), '192.0.2.80');
    expect(signed.status).toBe(200);
    expect(signed.body.session.amr).toEqual(['swk', 'user', 'mfa']);
    // Both kinds reach the MFA acr (OIDC step-up, `mfa: required`).
    expect(acrOf(signed.body.session.amr)).toBe(ACR_MFA);
    expect(acrOf(['hwk', 'user', 'mfa'])).toBe(ACR_MFA);
  });

  it('labels the WebAuthn user with the project, so a shared-RP chooser tells accounts apart', async () => {
    const user = await signedInUser(tenant, { email: 'label@example.test', displayName: 'Ada' });
    const options = await server.json('POST', `${base()}/account/passkeys/options`, asUser(user.token));
    expect(options.body.user).toMatchObject({
      name: `${user.username} (passkeys app)`,
      displayName: 'Ada (passkeys app)',
    });
    // The user handle stays the opaque id.
    expect(Buffer.from(options.body.user.id, 'base64url').toString()).toBe(user.id);
  });

  it('adds a passkey only from a recently authenticated session; re-authentication renews it', async () => {
    const user = await signedInUser();
    const early = await server.json('POST', `${base()}/account/passkeys/options`, asUser(user.token));
    expect(early.status).toBe(200);
    server.clock.advance(RECENT_MS + 1);
    const stale = await server.json('POST', `${base()}/account/passkeys/options`, asUser(user.token));
    expect(stale.status).toBe(403);
    expect(stale.body.code).toBe('reauthentication_required');
    // Options fetched while recent do not outlive the window plus the ceremony's lifetime.
    server.clock.advance(5 * 60_000);
    const late = await server.json('POST', `${base()}/account/passkeys`, {
      ...asUser(user.token),
      body: { name: 'Late', response: new SoftAuthenticator(ORIGIN).create(early.body) },
    });
    expect(late.status).toBe(403);
    expect(late.body.code).toBe('reauthentication_required');

    const reauthenticate = (body: Record<string, string>) =>
      server.json('POST', `${base()}/account/reauthenticate`, { ...asUser(user.token), body });
    const wrong = await reauthenticate({ password: 'not-the-password' });
    expect(wrong.status).toBe(403);
    expect(wrong.body.code).toBe('reauthentication_failed');
    // A user without TOTP has no code to give.
    expect((await reauthenticate({ code: '123456' })).status).toBe(403);
    expect((await reauthenticate({ password: GOOD_PASSWORD, code: '123456' })).status).toBe(400);
    const renewed = await reauthenticate({ password: GOOD_PASSWORD });
    expect(renewed.status).toBe(200);
    expect(renewed.body.authTime).toBe(new Date(server.clock.at).toISOString());
    expect(renewed.body.amr).toEqual(['pwd']);
    expect((await registerPasskey(user.token, new SoftAuthenticator(ORIGIN), 'Laptop')).status).toBe(201);
    const session = await server.db
      .selectFrom('audit_events')
      .select('entry')
      .where('type', '=', 'session.reauthenticated')
      .where('project_id', '=', tenant.projectId)
      .execute();
    expect(session.map((row) => JSON.parse(row.entry).details)).toContainEqual({
      amr: ['pwd'],
      method: 'password',
    });
  });

  it('asks a TOTP user for a code before adding a passkey when the session has not proven it', async () => {
    const { token, ...user } = await signedInUser();
    // TOTP enrolled in one session leaves the user's other, password-only session without it.
    const enrolling = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token;
    const enrollment = await server.json('POST', `${base()}/account/totp`, asUser(enrolling));
    const secret: string = enrollment.body.secret;
    const confirmed = await server.json('POST', `${base()}/account/totp/confirm`, {
      ...asUser(enrolling),
      body: { code: codeAt(secret, server.clock.at) },
    });
    expect(confirmed.status).toBe(200);
    server.clock.advance(30_000);

    const refused = await server.json('POST', `${base()}/account/passkeys/options`, asUser(token));
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('step_up_required');
    // The password renews the session but proves no second factor.
    const password = await server.json('POST', `${base()}/account/reauthenticate`, {
      ...asUser(token),
      body: { password: GOOD_PASSWORD },
    });
    expect(password.status).toBe(200);
    const still = await server.json('POST', `${base()}/account/passkeys/options`, asUser(token));
    expect(still.body.code).toBe('step_up_required');
    const code = await server.json('POST', `${base()}/account/reauthenticate`, {
      ...asUser(token),
      body: { code: codeAt(secret, server.clock.at) },
    });
    expect(code.status).toBe(200);
    expect(code.body.amr).toEqual(['pwd', 'otp']);
    expect((await registerPasskey(token, new SoftAuthenticator(ORIGIN), 'Laptop')).status).toBe(201);
  });

  it('mails the user that a passkey was added, naming neither the passkey nor its adder', async () => {
    const email = `added${Date.now()}@example.test`;
    const user = await signedInUser(tenant, { email });
    expect(
      (await registerPasskey(user.token, new SoftAuthenticator(ORIGIN), 'Call +1 555 0100')).status,
    ).toBe(201);
    const [mail] = await smtp.mailTo(email);
    expect(mail?.subject).toBe('A passkey was added to your account');
    expect(mail?.raw).toContain('A passkey was added to your passkeys app account');
    expect(mail?.raw).toContain(`${ORIGIN}/p/${tenant.projectId}/pages/account`);
    expect(mail?.raw).not.toContain('555 0100');
  });

  it('removes passkeys on an admin password reset when asked, and on an MFA reset unless told not to', async () => {
    const users = `/v1/projects/${tenant.projectId}/users`;
    const key = tenant.keys.developer;
    const passkeyCount = async (userId: string) =>
      (await server.json('GET', `${users}/${userId}/passkeys`, { key })).body.items.length;

    const kept = await signedInUser();
    expect((await registerPasskey(kept.token, new SoftAuthenticator(ORIGIN), 'Laptop')).status).toBe(201);
    const plain = await server.call('PUT', `${users}/${kept.id}/password`, {
      key,
      body: { password: 'another-lantern-meadow-43' },
    });
    expect(plain.status).toBe(204);
    expect(await passkeyCount(kept.id)).toBe(1);

    const removed = await signedInUser();
    const authenticator = new SoftAuthenticator(ORIGIN);
    expect((await registerPasskey(removed.token, authenticator, 'Laptop')).status).toBe(201);
    const reset = await server.call('PUT', `${users}/${removed.id}/password`, {
      key,
      body: { password: 'another-lantern-meadow-43', removePasskeys: true },
    });
    expect(reset.status).toBe(204);
    expect(await passkeyCount(removed.id)).toBe(0);
    expect((await signIn(authenticator.get(await signInOptions()), '192.0.2.90')).status).toBe(401);
    expect((await auditOf('user.password_set', removed.id))[0].details).toEqual({
      sessionsRevoked: 1,
      passkeysRemoved: 1,
    });

    const keptOnMfaReset = await signedInUser();
    expect(
      (await registerPasskey(keptOnMfaReset.token, new SoftAuthenticator(ORIGIN), 'Laptop')).status,
    ).toBe(201);
    const keep = await server.call('DELETE', `${users}/${keptOnMfaReset.id}/mfa?removePasskeys=false`, {
      key,
    });
    expect(keep.status).toBe(204);
    expect(await passkeyCount(keptOnMfaReset.id)).toBe(1);
    const byDefault = await server.call('DELETE', `${users}/${keptOnMfaReset.id}/mfa`, { key });
    expect(byDefault.status).toBe(204);
    expect(await passkeyCount(keptOnMfaReset.id)).toBe(0);
    expect((await auditOf('user.mfa_reset', keptOnMfaReset.id)).map((event) => event.details)).toEqual([
      { passkeysRemoved: 0 },
      { passkeysRemoved: 1 },
    ]);
  });

  it('removes passkeys when the user signs out everywhere and asks for it', async () => {
    const user = await signedInUser();
    const authenticator = new SoftAuthenticator(ORIGIN);
    expect((await registerPasskey(user.token, authenticator, 'Laptop')).status).toBe(201);
    const other = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token;
    const plain = await server.json('POST', `${base()}/account/sessions/revoke-all`, asUser(user.token));
    expect(plain.body.revoked).toBe(2);
    const signed = await signIn(authenticator.get(await signInOptions()), '192.0.2.91');
    expect(signed.status).toBe(200);
    expect(other).not.toBe(signed.body.token);
    const all = await server.json(
      'POST',
      `${base()}/account/sessions/revoke-all?removePasskeys=true`,
      asUser(signed.body.token),
    );
    expect(all.status).toBe(200);
    expect((await signIn(authenticator.get(await signInOptions()), '192.0.2.91')).status).toBe(401);
    const rows = await server.db
      .selectFrom('identity_passkeys')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    expect(rows).toEqual([]);
  });

  it('asks for the password when adding a passkey, and removes passkeys when signing out everywhere on the page', async () => {
    const user = await createUser(server, tenant);
    const browser = new Browser(server.url);
    const form = await browser.navigate(`${server.url}${base()}/pages/account`);
    const overview = await browser.submit(form, { identifier: user.username, password: GOOD_PASSWORD });
    expectPage(overview, 'Your account');
    expect(overview.html).toContain(`data-passkey-reauthenticate="${base()}/account/reauthenticate"`);
    expect(overview.html).toContain('<label for="passkey-reauth-password">Your password</label>');
    expect(overview.html).toContain('<label for="remove-passkeys">Also remove all my passkeys</label>');

    const cookie = `persona_session=${browser.cookies.get('persona_session')}`;
    const options = await server.json('POST', `${base()}/account/passkeys/options`, {
      key: null,
      headers: { cookie },
    });
    const authenticator = new SoftAuthenticator(ORIGIN);
    const added = await server.json('POST', `${base()}/account/passkeys`, {
      key: null,
      headers: { cookie },
      body: { name: 'Laptop', response: authenticator.create(options.body) },
    });
    expect(added.status).toBe(201);
    const signedOut = await browser.submit(overview, { removePasskeys: 'yes' }, '/sessions/revoke-all');
    expect(signedOut.kind === 'page' && signedOut.html).toContain('your passkeys are removed');
    expect((await signIn(authenticator.get(await signInOptions()), '192.0.2.93')).status).toBe(401);
  });

  it('refuses a passkey of a disabled user', async () => {
    const user = await signedInUser();
    const authenticator = new SoftAuthenticator(ORIGIN);
    expect((await registerPasskey(user.token, authenticator, 'Laptop')).status).toBe(201);
    const disabled = await server.json('PATCH', `/v1/projects/${tenant.projectId}/users/${user.id}`, {
      key: tenant.keys.developer,
      body: { status: 'disabled' },
    });
    expect(disabled.status).toBe(200);
    expect((await signIn(authenticator.get(await signInOptions()), '192.0.2.92')).status).toBe(401);
  });
});
