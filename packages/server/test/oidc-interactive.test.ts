import * as client from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, skipReason } from './helpers.js';
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
  updateIdentityPolicy,
} from './identity-helpers.js';
import { freePort, registerClient } from './oidc-helpers.js';
import { Browser, expectPage, expectRp } from './page-browser.js';

if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

/** The relying party's callback: never contacted, the browser below stops at it. */
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const LOGGED_OUT_URI = 'http://127.0.0.1:9/logged-out';
const ACR_MFA = 'urn:personachain:acr:mfa';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

describe.each(ENGINES)('OIDC interactive flows (%s)', (engine) => {
  let server: IdentityTestServer;
  let publicUrl: string;
  let a: Tenant;
  let b: Tenant;
  /** A third-party client (consent asked), a first-party one (skipConsent) and one in project B. */
  let thirdParty: client.Configuration;
  let firstParty: client.Configuration;
  let otherProject: client.Configuration;

  const issuer = (tenant: Tenant) => `${publicUrl}/p/${tenant.projectId}/oidc`;

  async function registerWebClient(tenant: Tenant, body: Record<string, unknown>) {
    const registered = await registerClient(server, tenant, issuer(tenant), {
      name: 'Acme Web',
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [REDIRECT_URI],
      postLogoutRedirectUris: [LOGGED_OUT_URI],
      ...body,
    });
    return registered.config;
  }

  /** The audit entries a user acted in (`actor`), as stored. */
  /** The actor's audit entries, oldest first (ids begin with their time; PostgreSQL keeps no order). */
  function auditEntries(actor: string) {
    return server.db
      .selectFrom('audit_events')
      .select(['type', 'entry'])
      .where('project_id', '=', a.projectId)
      .where('entry', 'like', `%"actor":"${actor}"%`)
      .orderBy('id')
      .execute();
  }

  /** Starts an authorization request; returns where the browser stopped and how to finish it. */
  async function authorize(
    browser: Browser,
    config: client.Configuration,
    params: Record<string, string> = {},
  ) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...params,
    });
    const stop = await browser.navigate(url.href);
    const redeem = (callback: URL) =>
      client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    return { stop, redeem };
  }

  async function totpUser(tenant: Tenant) {
    const user = await createUser(server, tenant, { email: 'totp@example.test' });
    const token = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token;
    const enrollment = await server.json('POST', `/p/${tenant.projectId}/account/totp`, asUser(token));
    const secret: string = enrollment.body.secret;
    const code = () => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: server.clock.at });
    const confirmed = await server.json('POST', `/p/${tenant.projectId}/account/totp/confirm`, {
      ...asUser(token),
      body: { code: code() },
    });
    expect(confirmed.status).toBe(200);
    server.clock.advance(30_000);
    return { ...user, code, recoveryCodes: confirmed.body.recoveryCodes as string[] };
  }

  async function signIn(browser: Browser, config: client.Configuration, username: string) {
    const { stop, redeem } = await authorize(browser, config, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    expectPage(stop, 'Sign in');
    const after = await browser.submit(stop, { identifier: username, password: GOOD_PASSWORD });
    return redeem(expectRp(after));
  }

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = await startIdentityServer(engine, { PERSONA_PORT: String(port), PERSONA_PUBLIC_URL: publicUrl });
    a = await createTenant(server, 'Acme');
    b = await createTenant(server, 'Beta');
    thirdParty = await registerWebClient(a, { name: 'Partner <App>' });
    firstParty = await registerWebClient(a, { name: 'Acme Console', skipConsent: true });
    otherProject = await registerWebClient(b, { name: 'Beta Web', skipConsent: true });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('advertises the interactive flows in discovery', () => {
    const metadata = thirdParty.serverMetadata();
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token']),
    );
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.end_session_endpoint).toBe(`${issuer(a)}/session/end`);
    expect(metadata.acr_values_supported).toContain(ACR_MFA);
  });

  it('code + PKCE: login form, consent, tokens with the claims of the scopes, userinfo', async () => {
    const user = await createUser(server, a, { email: 'ada@example.test', displayName: 'Ada' });
    const browser = new Browser(publicUrl);
    const { stop, redeem } = await authorize(browser, thirdParty);
    expectPage(stop, 'Sign in');
    expect(stop.headers.get('cache-control')).toBe('no-store');
    expect(stop.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(stop.html).toContain('<html lang="en">');
    expect(stop.html).toContain('<label for="password">');
    // The only script is the same-origin passkey script (its button shows only with WebAuthn).
    expect(stop.html.match(/<script[^>]*>/g)).toEqual(['<script src="/pages/passkeys.js" defer>']);
    // The client's name is escaped.
    expect(stop.html).toContain('Partner &lt;App&gt;');

    const wrong = await browser.submit(stop, { identifier: user.username, password: 'not-the-password' });
    expectPage(wrong, 'Sign in', 401);
    expect(wrong.html).toContain('role="alert"');
    expect(wrong.html).toContain(`value="${user.username}"`);

    const consent = await browser.submit(wrong, { identifier: user.username, password: GOOD_PASSWORD });
    expectPage(consent, 'Allow access');
    expect(consent.html).toContain('Your email address');
    const tokens = await redeem(expectRp(await browser.submit(consent, { decision: 'approve' })));

    const claims = tokens.claims();
    expect(claims).toMatchObject({
      sub: user.id,
      iss: issuer(a),
      preferred_username: user.username,
      name: 'Ada',
      email: 'ada@example.test',
      email_verified: false,
      acr: 'urn:personachain:acr:pwd',
      amr: ['pwd'],
    });
    expect(tokens.refresh_token).toBeUndefined();
    const info = await client.fetchUserInfo(thirdParty, tokens.access_token, user.id);
    expect(info).toMatchObject({ sub: user.id, email: 'ada@example.test', name: 'Ada' });

    // Sign-in and consent are audited by ids, without personal data.
    const entries = await auditEntries(user.id);
    expect(entries.map((entry) => entry.type)).toEqual(
      expect.arrayContaining(['oidc.signed_in', 'oidc.consent_granted']),
    );
    for (const entry of entries) {
      expect(entry.entry).not.toContain('ada@example.test');
      expect(entry.entry).not.toContain(user.username);
    }

    // openid alone: nothing but the subject.
    const narrow = await authorize(browser, thirdParty, { scope: 'openid' });
    const narrowTokens = await narrow.redeem(expectRp(narrow.stop));
    expect(narrowTokens.claims()?.email).toBeUndefined();
    expect(narrowTokens.claims()?.preferred_username).toBeUndefined();
  });

  it('refuses a form without its CSRF token, and requests without PKCE', async () => {
    const browser = new Browser(publicUrl);
    const { stop } = await authorize(browser, thirdParty);
    expectPage(stop, 'Sign in');
    const forged = await browser.submit(stop, { csrf: 'forged', identifier: 'x', password: 'y' });
    expectPage(forged, 'Form expired', 403);

    const noPkce = client.buildAuthorizationUrl(thirdParty, { redirect_uri: REDIRECT_URI, scope: 'openid' });
    const refused = expectRp(await browser.navigate(noPkce.href));
    expect(refused.searchParams.get('error')).toBe('invalid_request');
  });

  it('consent denied answers access_denied to the RP', async () => {
    const user = await createUser(server, a);
    const browser = new Browser(publicUrl);
    const { stop } = await authorize(browser, thirdParty);
    const consent = await browser.submit(stop, { identifier: user.username, password: GOOD_PASSWORD });
    expectPage(consent, 'Allow access');
    const denied = expectRp(await browser.submit(consent, { decision: 'deny' }));
    expect(denied.searchParams.get('error')).toBe('access_denied');
  });

  it('a first-party client goes from the sign-in form to the RP without a consent interaction; the grant is audited', async () => {
    const user = await createUser(server, a, { email: 'first@example.test' });
    const browser = new Browser(publicUrl);
    const { stop, redeem } = await authorize(browser, firstParty, { scope: 'openid profile' });
    expectPage(stop, 'Sign in');
    const before = browser.visited.length;
    const callback = expectRp(
      await browser.submit(stop, { identifier: user.username, password: GOOD_PASSWORD }),
    );
    // The form post, then the provider's resume, which answers with the code: no second interaction.
    expect(browser.visited.slice(before)).toEqual([
      expect.stringMatching(/^POST \/p\/prj_\w+\/interaction\/[\w-]+\/login$/),
      expect.stringMatching(/^GET \/p\/prj_\w+\/oidc\/auth\/[\w-]+$/),
    ]);
    const tokens = await redeem(callback);
    expect(tokens.claims()).toMatchObject({ sub: user.id, preferred_username: user.username });

    const consents = async () =>
      (await auditEntries(user.id))
        .filter((entry) => entry.type === 'oidc.consent_granted')
        .map((entry) => JSON.parse(entry.entry).details);
    const clientId = firstParty.clientMetadata().client_id;
    expect(await consents()).toEqual([{ clientId, scopes: ['openid', 'profile'], firstParty: true }]);
    // The session's grant already holds what a second authorization asks: nothing more is granted.
    const again = await authorize(browser, firstParty, { scope: 'openid profile' });
    await again.redeem(expectRp(again.stop));
    expect(await consents()).toHaveLength(1);
    // Asking for more tops the grant up, audited with only what was added; the new claims are released.
    const wider = await authorize(browser, firstParty, { scope: 'openid profile email' });
    const widerTokens = await wider.redeem(expectRp(wider.stop));
    expect(widerTokens.claims()?.email).toBe('first@example.test');
    expect(await consents()).toEqual([
      { clientId, scopes: ['openid', 'profile'], firstParty: true },
      { clientId, scopes: ['email'], firstParty: true },
    ]);
  });

  it('a first-party client asking for a scope of its resource server gets it without a consent interaction', async () => {
    const billing = 'https://billing.example.test/';
    const api = await registerWebClient(a, {
      name: 'Acme Billing',
      skipConsent: true,
      scopes: ['openid', 'read:invoices'],
      resources: [billing],
    });
    const user = await createUser(server, a);
    const browser = new Browser(publicUrl);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(api, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid read:invoices',
      resource: billing,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const stop = await browser.navigate(url.href);
    expectPage(stop, 'Sign in');
    const callback = expectRp(
      await browser.submit(stop, { identifier: user.username, password: GOOD_PASSWORD }),
    );
    expect(browser.visited.filter((visit) => visit.includes('/interaction/'))).toHaveLength(2);
    const tokens = await client.authorizationCodeGrant(
      api,
      callback,
      { pkceCodeVerifier: verifier, expectedState: client.skipStateCheck },
      { resource: billing },
    );
    expect(tokens.scope?.split(' ')).toContain('read:invoices');
    const [consent] = (await auditEntries(user.id))
      .filter((entry) => entry.type === 'oidc.consent_granted')
      .map((entry) => JSON.parse(entry.entry).details);
    expect(consent).toEqual({
      clientId: api.clientMetadata().client_id,
      scopes: ['openid', 'read:invoices'],
      firstParty: true,
    });
  });

  it('SSO: a second authorization reuses the session; prompt=login and max_age=0 show the form again', async () => {
    const user = await createUser(server, a);
    const browser = new Browser(publicUrl);
    const first = await authorize(browser, firstParty);
    expectPage(first.stop, 'Sign in');
    await first.redeem(
      expectRp(await browser.submit(first.stop, { identifier: user.username, password: GOOD_PASSWORD })),
    );

    const again = await authorize(browser, firstParty);
    expect((await again.redeem(expectRp(again.stop))).claims()?.sub).toBe(user.id);

    // The provider's own session gone, the platform session still signs the user in.
    browser.cookies.delete('_session');
    browser.cookies.delete('_session.sig');
    const platformOnly = await authorize(browser, firstParty);
    expect((await platformOnly.redeem(expectRp(platformOnly.stop))).claims()?.sub).toBe(user.id);

    for (const params of [{ prompt: 'login' }, { max_age: '0' }]) {
      const forced = await authorize(browser, firstParty, params);
      expectPage(forced.stop, 'Sign in');
      const tokens = await forced.redeem(
        expectRp(await browser.submit(forced.stop, { identifier: user.username, password: GOOD_PASSWORD })),
      );
      expect(tokens.claims()?.sub).toBe(user.id);
    }
  });

  it('a TOTP user passes the second-factor page; a recovery code works too', async () => {
    const user = await totpUser(a);
    const browser = new Browser(publicUrl);
    const { stop, redeem } = await authorize(browser, firstParty);
    const second = await browser.submit(stop, { identifier: user.username, password: GOOD_PASSWORD });
    expectPage(second, 'Two-factor authentication');
    const wrong = await browser.submit(second, { code: user.code() === '000000' ? '111111' : '000000' });
    expectPage(wrong, 'Two-factor authentication', 401);
    const tokens = await redeem(expectRp(await browser.submit(wrong, { code: user.code() })));
    expect(tokens.claims()).toMatchObject({ sub: user.id, acr: ACR_MFA, amr: ['pwd', 'otp'] });

    const other = new Browser(publicUrl);
    const viaRecovery = await authorize(other, firstParty);
    const page = await other.submit(viaRecovery.stop, { identifier: user.username, password: GOOD_PASSWORD });
    const recovered = await viaRecovery.redeem(
      expectRp(await other.submit(page, { recoveryCode: user.recoveryCodes[0] as string })),
    );
    expect(recovered.claims()?.acr).toBe(ACR_MFA);
  });

  it('acr_values step-up asks a password-only session for its TOTP', async () => {
    const user = await createUser(server, a);
    // The browser signs in with the password alone; the user enrolls TOTP afterwards from another session.
    const browser = new Browser(publicUrl);
    const plainAuth = await authorize(browser, firstParty);
    const plain = await plainAuth.redeem(
      expectRp(await browser.submit(plainAuth.stop, { identifier: user.username, password: GOOD_PASSWORD })),
    );
    expect(plain.claims()?.acr).toBe('urn:personachain:acr:pwd');
    const token = (await login(server, a.projectId, user.username, GOOD_PASSWORD)).body.token;
    const enrollment = await server.json('POST', `/p/${a.projectId}/account/totp`, asUser(token));
    const code = () =>
      TOTP.generate({ secret: Secret.fromBase32(enrollment.body.secret), timestamp: server.clock.at });
    const confirmed = await server.json('POST', `/p/${a.projectId}/account/totp/confirm`, {
      ...asUser(token),
      body: { code: code() },
    });
    expect(confirmed.status).toBe(200);
    server.clock.advance(30_000);

    const stepUp = await authorize(browser, firstParty, { acr_values: ACR_MFA });
    expectPage(stepUp.stop, 'Two-factor authentication');
    expect(stepUp.stop.html).not.toContain('name="password"');
    const tokens = await stepUp.redeem(expectRp(await browser.submit(stepUp.stop, { code: code() })));
    expect(tokens.claims()).toMatchObject({ sub: user.id, acr: ACR_MFA });
    // The session now counts as two-factor: no second prompt.
    const again = await authorize(browser, firstParty, { acr_values: ACR_MFA });
    expect((await again.redeem(expectRp(again.stop))).claims()?.acr).toBe(ACR_MFA);
  });

  it('step-up accepts a recovery code, once', async () => {
    const plainUser = await createUser(server, a);
    const other = new Browser(publicUrl);
    const first = await authorize(other, firstParty);
    await first.redeem(
      expectRp(await other.submit(first.stop, { identifier: plainUser.username, password: GOOD_PASSWORD })),
    );
    const token = (await login(server, a.projectId, plainUser.username, GOOD_PASSWORD)).body.token;
    const enrollment = await server.json('POST', `/p/${a.projectId}/account/totp`, asUser(token));
    const confirmed = await server.json('POST', `/p/${a.projectId}/account/totp/confirm`, {
      ...asUser(token),
      body: {
        code: TOTP.generate({
          secret: Secret.fromBase32(enrollment.body.secret),
          timestamp: server.clock.at,
        }),
      },
    });
    const [recoveryCode] = confirmed.body.recoveryCodes as string[];

    const stepUp = await authorize(other, firstParty, { acr_values: ACR_MFA, prompt: 'consent' });
    expectPage(stepUp.stop, 'Two-factor authentication');
    const tokens = await stepUp.redeem(
      expectRp(await other.submit(stepUp.stop, { recoveryCode: recoveryCode as string })),
    );
    expect(tokens.claims()).toMatchObject({ sub: plainUser.id, acr: ACR_MFA });
    const audit = await auditEntries(plainUser.id);
    const steppedUp = audit.find((entry) => entry.type === 'session.stepped_up');
    expect(JSON.parse(steppedUp?.entry ?? '{}').details).toMatchObject({ method: 'recovery_code' });
    expect(JSON.stringify(audit)).not.toContain(recoveryCode);

    // Used once: the same code no longer passes a second factor.
    const third = new Browser(publicUrl);
    const again = await authorize(third, firstParty);
    const second = await third.submit(again.stop, {
      identifier: plainUser.username,
      password: GOOD_PASSWORD,
    });
    expectPage(second, 'Two-factor authentication');
    expectPage(
      await third.submit(second, { recoveryCode: recoveryCode as string }),
      'Two-factor authentication',
      401,
    );
  });

  it('a project requiring MFA enrolls a user without TOTP during the OIDC sign-in, then finishes it', async () => {
    const gamma = await createTenant(server, 'Gamma');
    await updateIdentityPolicy(server, gamma, { mfa: 'required' });
    const config = await registerWebClient(gamma, { name: 'Gamma <Web>', skipConsent: true });
    const user = await createUser(server, gamma);
    const browser = new Browser(publicUrl);
    const { stop, redeem } = await authorize(browser, config);
    const enroll = await browser.submit(stop, { identifier: user.username, password: GOOD_PASSWORD });
    expectPage(enroll, 'Set up two-factor authentication');
    expect(enroll.html).toContain('Gamma &lt;Web&gt; requires');
    const secret = /id="secret" readonly value="([A-Z2-7]+)"/.exec(enroll.html)?.[1] as string;
    expect(enroll.html).toContain(`otpauth://totp/`);
    const code = () => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: server.clock.at });

    // A wrong first code shows the same key again; a form without its CSRF token is refused.
    expectPage(
      await browser.submit(enroll, { code: code() === '000000' ? '111111' : '000000' }),
      'Set up two-factor authentication',
      401,
    );
    const forged = await browser.navigate(enroll.url.replace(/\/login$/, '/continue'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=forged',
    });
    expectPage(forged, 'Form expired', 403);

    const codes = await browser.submit(enroll, { code: code() });
    expectPage(codes, 'Save your recovery codes');
    const shown = [...codes.html.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]);
    expect(shown).toHaveLength(10);
    const tokens = await redeem(expectRp(await browser.submit(codes, {})));
    expect(tokens.claims()).toMatchObject({ sub: user.id, acr: ACR_MFA });
    const account = await server.json('GET', `/v1/projects/${gamma.projectId}/users/${user.id}`, {
      key: gamma.keys.auditor,
    });
    expect(account.body.totpEnabled).toBe(true);
  });

  it('rotates refresh tokens; a reuse within the grace period works, after it revokes the grant', async () => {
    const user = await createUser(server, a);
    const browser = new Browser(publicUrl);
    const tokens = await signIn(browser, firstParty, user.username);
    const original = tokens.refresh_token as string;
    expect(original).toBeTruthy();

    const first = await client.refreshTokenGrant(firstParty, original);
    expect(first.refresh_token).toBeTruthy();
    expect(first.refresh_token).not.toBe(original);
    // Another tab refreshing with the same token a moment later is not a theft.
    const parallel = await client.refreshTokenGrant(firstParty, original);
    expect(parallel.refresh_token).toBeTruthy();
    const next = await client.refreshTokenGrant(firstParty, first.refresh_token as string);

    // Past the grace period (moved back in the store rather than waited for), a reuse revokes the grant.
    await server.db
      .updateTable('oidc_payloads')
      .set((eb) => ({ consumed_at: eb('consumed_at', '-', 60) }))
      .where('project_id', '=', a.projectId)
      .where('model', '=', 'RefreshToken')
      .where('consumed_at', 'is not', null)
      .execute();
    await expect(client.refreshTokenGrant(firstParty, original)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(client.refreshTokenGrant(firstParty, next.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const introspected = await client.tokenIntrospection(firstParty, next.access_token);
    expect(introspected.active).toBe(false);

    await expect
      .poll(async () =>
        server.db
          .selectFrom('audit_events')
          .select('entry')
          .where('project_id', '=', a.projectId)
          .where('type', '=', 'oidc.refresh_token_reused')
          .execute(),
      )
      .toHaveLength(1);
  });

  it('RP-initiated logout ends the provider session and the platform session', async () => {
    const user = await createUser(server, a);
    const browser = new Browser(publicUrl);
    const tokens = await signIn(browser, firstParty, user.username);
    const platformToken = browser.cookies.get('persona_session') as string;
    expect((await server.json('GET', `/p/${a.projectId}/account`, asUser(platformToken))).status).toBe(200);

    const logoutUrl = client.buildEndSessionUrl(firstParty, {
      id_token_hint: tokens.id_token as string,
      post_logout_redirect_uri: LOGGED_OUT_URI,
      state: 'bye',
    });
    const confirm = await browser.navigate(logoutUrl.href);
    expectPage(confirm, 'Sign out');
    expect(confirm.html).not.toContain('<script');
    const done = expectRp(await browser.submit(confirm, { logout: 'yes' }));
    expect(done.origin + done.pathname).toBe(LOGGED_OUT_URI);
    expect(done.searchParams.get('state')).toBe('bye');

    expect((await server.json('GET', `/p/${a.projectId}/account`, asUser(platformToken))).status).toBe(401);
    expect(browser.cookies.has('persona_session')).toBe(false);
    const sessions = await server.json('GET', `/v1/projects/${a.projectId}/users/${user.id}/sessions`, {
      key: a.keys.developer,
    });
    expect(sessions.body.data).toEqual([]);
    await expect
      .poll(async () => (await auditEntries(user.id)).map((entry) => entry.type))
      .toEqual(expect.arrayContaining(['session.revoked', 'oidc.logged_out']));
    // Signed out: the next authorization asks for the password.
    expectPage((await authorize(browser, firstParty)).stop, 'Sign in');

    // A post-logout URI the client did not register is refused.
    const elsewhere = client.buildEndSessionUrl(firstParty, {
      id_token_hint: tokens.id_token as string,
      post_logout_redirect_uri: 'https://evil.example/',
    });
    const refused = await browser.navigate(elsewhere.href);
    expect(refused.kind).toBe('page');
    if (refused.kind === 'page') expect(refused.status).toBe(400);
  });

  it('device authorization grant: code entry, sign-in, consent, confirmation, tokens', async () => {
    const tv = await registerWebClient(a, {
      name: 'Acme TV',
      grantTypes: [DEVICE_GRANT, 'refresh_token'],
      redirectUris: [],
      postLogoutRedirectUris: [],
    });
    const user = await createUser(server, a);
    const started = await client.initiateDeviceAuthorization(tv, { scope: 'openid profile' });
    const poll = () => client.genericGrantRequest(tv, DEVICE_GRANT, { device_code: started.device_code });
    await expect(poll()).rejects.toMatchObject({ error: 'authorization_pending' });

    const browser = new Browser(publicUrl);
    const input = await browser.navigate(started.verification_uri);
    expectPage(input, 'Connect a device');
    expect(input.html).toContain('<label for="user_code">');
    expect(input.html).not.toMatch(/<script|onfocus/);
    const wrong = await browser.submit(input, { user_code: 'BCDF-GHJK' });
    expectPage(wrong, 'Connect a device', 400);
    expect(wrong.html).toContain('role="alert"');
    const confirm = await browser.submit(wrong, { user_code: started.user_code });
    expectPage(confirm, 'Confirm the device');
    expect(confirm.html).toContain(started.user_code);
    const signIn = await browser.submit(confirm, {});
    expectPage(signIn, 'Sign in');
    const consent = await browser.submit(signIn, { identifier: user.username, password: GOOD_PASSWORD });
    expectPage(consent, 'Allow access');
    const done = await browser.submit(consent, { decision: 'approve' });
    expectPage(done, 'Device connected');

    const tokens = await poll();
    expect(tokens.claims()).toMatchObject({ sub: user.id, preferred_username: user.username });
    // The device code is spent.
    await expect(poll()).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('keeps projects apart: B neither reuses A\u2019s sessions nor knows A\u2019s users or interactions', async () => {
    const user = await createUser(server, a);
    const browser = new Browser(publicUrl);
    await signIn(browser, firstParty, user.username);

    const atB = await authorize(browser, otherProject);
    expectPage(atB.stop, 'Sign in');
    const refused = await browser.submit(atB.stop, { identifier: user.username, password: GOOD_PASSWORD });
    expectPage(refused, 'Sign in', 401);

    // An interaction of A opened under B's path is not found there.
    const atA = await authorize(new Browser(publicUrl), thirdParty, { prompt: 'login' });
    if (atA.stop.kind !== 'page') throw new Error('expected a page');
    const crossed = await browser.navigate(atA.stop.url.replace(a.projectId, b.projectId));
    expectPage(crossed, 'Sign-in expired', 400);
  });

  it('validates client redirect URIs', async () => {
    const bad = await server.json('POST', `/v1/projects/${a.projectId}/oidc-clients`, {
      key: a.keys.developer,
      body: {
        name: 'Bad',
        grantTypes: ['authorization_code'],
        redirectUris: ['http://app.example/cb', 'https://app.example/cb#frag'],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((error: { pointer: string }) => error.pointer)).toEqual([
      '#/redirectUris/0',
      '#/redirectUris/1',
    ]);
    const publicClient = await server.json('POST', `/v1/projects/${a.projectId}/oidc-clients`, {
      key: a.keys.developer,
      body: {
        name: 'Native',
        public: true,
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: ['http://127.0.0.1/cb', 'https://app.example/cb'],
      },
    });
    expect(publicClient.status).toBe(201);
    expect(publicClient.body.clientSecret).toBeUndefined();
    expect(publicClient.body.public).toBe(true);
  });
});
