import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, skipReason } from './helpers.js';
import {
  createTenant,
  createUser,
  ENGINES,
  GOOD_PASSWORD,
  type IdentityTestServer,
  startIdentityServer,
  type Tenant,
  updateIdentityPolicy,
} from './identity-helpers.js';
import { Browser, expectPage, type Stop } from './page-browser.js';

if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

const NEW_PASSWORD = 'quiet-orchard-lamp-58';

describe.each(ENGINES)('account pages (%s)', (engine) => {
  let server: IdentityTestServer;
  let a: Tenant;

  const account = (tenant: Tenant) => `${server.url}/p/${tenant.projectId}/pages/account`;

  beforeAll(async () => {
    server = await startIdentityServer(engine);
    a = await createTenant(server, 'Account pages');
  });
  afterAll(() => server?.close());

  /** A fresh browser signed in to the account pages with a password; returns it and the overview. */
  async function signedIn(tenant: Tenant, username: string, password = GOOD_PASSWORD) {
    const browser = new Browser(server.url);
    const form = await browser.navigate(account(tenant));
    expectPage(form, 'Sign in to your account');
    const overview = await browser.submit(form, { identifier: username, password });
    return { browser, overview };
  }

  function shownSecret(page: Stop): string {
    const secret =
      page.kind === 'page' ? /id="secret" readonly value="([A-Z2-7]+)"/.exec(page.html)?.[1] : undefined;
    if (!secret) throw new Error('no secret shown');
    return secret;
  }

  function shownRecoveryCodes(page: Stop): string[] {
    return page.kind === 'page'
      ? [...page.html.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((match) => match[1] as string)
      : [];
  }

  const codeOf = (secret: string) =>
    TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: server.clock.at });
  const wrongCode = (secret: string) => (codeOf(secret) === '000000' ? '111111' : '000000');

  it('escapes what users control, and shows the overview only when signed in', async () => {
    const user = await createUser(server, a, { displayName: '<script>alert(1)</script>' });
    const { overview } = await signedIn(a, user.username);
    expectPage(overview, 'Your account');
    expect(overview.html).toContain('Signed in as &lt;script&gt;alert(1)&lt;/script&gt;.');
    expect(overview.html).not.toContain('<script>');
    // The only script is the same-origin passkey script; no inline code runs.
    expect(overview.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    );
    expect(overview.html.match(/<script[^>]*>/g)).toEqual(['<script src="/pages/passkeys.js" defer>']);
    expect(overview.headers.get('cache-control')).toBe('no-store');

    const stranger = new Browser(server.url);
    expectPage(await stranger.navigate(account(a)), 'Sign in to your account');
    const wrong = await stranger.submit(await stranger.navigate(`${account(a)}/sign-in`), {
      identifier: user.username,
      password: 'not-the-password-1',
    });
    expectPage(wrong, 'Sign in to your account', 401);
    expect(wrong.html).toContain('role="alert"');
  });

  it('enrolls TOTP, shows recovery codes once and accepts each once, regenerates them, disables TOTP with a code', async () => {
    const user = await createUser(server, a);
    const { browser, overview } = await signedIn(a, user.username);
    expectPage(overview, 'Your account');
    const enroll = await browser.submit(overview, {}, '/totp');
    expectPage(enroll, 'Set up two-factor authentication');
    expect(enroll.html).toContain('href="otpauth://totp/');
    const secret = shownSecret(enroll);

    const wrong = await browser.submit(enroll, { code: wrongCode(secret) });
    expectPage(wrong, 'Set up two-factor authentication', 403);
    expect(shownSecret(wrong)).toBe(secret);
    const codesPage = await browser.submit(wrong, { code: codeOf(secret) });
    expectPage(codesPage, 'Save your recovery codes');
    const codes = shownRecoveryCodes(codesPage);
    expect(codes).toHaveLength(10);
    const after = await browser.navigate(account(a));
    expectPage(after, 'Your account');
    for (const code of codes) expect(after.html).not.toContain(code);
    server.clock.advance(30_000);

    // A new sign-in asks for the second factor; a recovery code passes once.
    for (const expected of [303, 401]) {
      const other = new Browser(server.url);
      const second = await other.submit(await other.navigate(`${account(a)}/sign-in`), {
        identifier: user.username,
        password: GOOD_PASSWORD,
      });
      expectPage(second, 'Two-factor authentication');
      const result = await other.submit(second, { recoveryCode: codes[0] as string });
      if (expected === 303) expectPage(result, 'Your account');
      else expectPage(result, 'Two-factor authentication', 401);
    }

    const regenerated = await browser.submit(after, { code: codeOf(secret) }, '/totp/recovery-codes');
    expectPage(regenerated, 'Save your recovery codes');
    const fresh = shownRecoveryCodes(regenerated);
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(codes[1]);
    server.clock.advance(30_000);

    const current = await browser.navigate(account(a));
    const refused = await browser.submit(current, { code: wrongCode(secret) }, '/totp/disable');
    expectPage(refused, 'Your account', 403);
    expect(refused.html).toContain('The code is wrong or was already used.');
    const disabled = await browser.submit(refused, { code: codeOf(secret) }, '/totp/disable');
    expectPage(disabled, 'Your account');
    expect(disabled.html).toContain('Two-factor authentication is off.');
    const got = await server.json('GET', `/v1/projects/${a.projectId}/users/${user.id}`, {
      key: a.keys.auditor,
    });
    expect(got.body.totpEnabled).toBe(false);
  });

  it('changes the password: a wrong current one and a weak new one are refused with their reasons', async () => {
    const user = await createUser(server, a);
    const { browser, overview } = await signedIn(a, user.username);
    const elsewhere = await signedIn(a, user.username);
    const wrongCurrent = await browser.submit(
      overview,
      { currentPassword: 'not-the-password-1', newPassword: NEW_PASSWORD },
      '/password',
    );
    expectPage(wrongCurrent, 'Your account', 403);
    expect(wrongCurrent.html).toContain('The current password is wrong.');
    const weak = await browser.submit(
      wrongCurrent,
      { currentPassword: GOOD_PASSWORD, newPassword: 'short' },
      '/password',
    );
    expectPage(weak, 'Your account', 400);
    expect(weak.html).toContain('The password is too weak');
    const changed = await browser.submit(
      weak,
      { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD },
      '/password',
    );
    expectPage(changed, 'Your account');
    expect(changed.html).toContain('Your password is changed');
    // The other browser's session ended; the new password signs in.
    expectPage(await elsewhere.browser.navigate(account(a)), 'Sign in to your account');
    expectPage((await signedIn(a, user.username, NEW_PASSWORD)).overview, 'Your account');
  });

  it('ends one session, then signs out everywhere', async () => {
    const user = await createUser(server, a);
    const first = await signedIn(a, user.username);
    const second = await signedIn(a, user.username);
    const third = await signedIn(a, user.username);
    expectPage(third.overview, 'Your account');
    const sessionIds = [...third.overview.html.matchAll(/name="sessionId" value="(ses_[0-9a-f]{32})"/g)].map(
      (match) => match[1] as string,
    );
    expect(sessionIds).toHaveLength(3);
    const listed = await server.json('GET', `/v1/projects/${a.projectId}/users/${user.id}/sessions`, {
      key: a.keys.auditor,
    });
    const oldest = listed.body.data
      .map((session: { id: string; createdAt: string }) => session)
      .sort((x: { createdAt: string }, y: { createdAt: string }) =>
        x.createdAt.localeCompare(y.createdAt),
      )[0].id;
    const ended = await third.browser.submit(third.overview, {}, '/sessions/revoke', { sessionId: oldest });
    expectPage(ended, 'Your account');
    expect(ended.html).toContain('Session ended.');
    expect(ended.html).not.toContain(oldest);
    expectPage(await first.browser.navigate(account(a)), 'Sign in to your account');

    const everywhere = await third.browser.submit(ended, {}, '/sessions/revoke-all');
    expectPage(everywhere, 'Signed out');
    for (const browser of [second.browser, third.browser]) {
      expectPage(await browser.navigate(account(a)), 'Sign in to your account');
    }
  });

  it('refuses a form without its CSRF token, with a forged one, from another origin, or without a session', async () => {
    const user = await createUser(server, a);
    const { browser, overview } = await signedIn(a, user.username);
    expectPage(overview, 'Your account');
    const post = (body: string, headers: Record<string, string> = {}) =>
      browser.navigate(`${account(a)}/sessions/revoke-all`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    expectPage(await post(''), 'Form expired', 403);
    expectPage(await post('csrf=forged-token'), 'Form expired', 403);
    const token = /name="csrf" value="([^"]+)"/.exec(overview.html)?.[1] as string;
    expectPage(await post(`csrf=${token}`, { origin: 'https://evil.example' }), 'Request refused', 403);
    // Another session's token is worth nothing here.
    const other = await signedIn(a, user.username);
    const otherToken = /name="csrf" value="([^"]+)"/.exec(
      other.overview.kind === 'page' ? other.overview.html : '',
    )?.[1];
    expect(otherToken).not.toBe(token);
    expectPage(await post(`csrf=${otherToken}`), 'Form expired', 403);
    expectPage(await browser.navigate(account(a)), 'Your account');
    const anonymous = new Browser(server.url);
    expectPage(
      await anonymous.navigate(`${account(a)}/password`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `csrf=${token}`,
      }),
      'Sign in to your account',
      401,
    );
    expectPage(
      await anonymous.navigate(`${server.url}/p/prj_${'0'.repeat(32)}/pages/account/sign-in`),
      'Not found',
      404,
    );
  });

  it('a project requiring MFA lets a user without TOTP only enroll, then opens the account', async () => {
    const gamma = await createTenant(server, 'Account pages MFA');
    await updateIdentityPolicy(server, gamma, { mfa: 'required' });
    const user = await createUser(server, gamma);
    const { browser, overview } = await signedIn(gamma, user.username);
    expectPage(overview, 'Your account');
    expect(overview.html).toContain('This project requires two-factor authentication');
    expect(overview.html).not.toContain('/password"');
    const token = /name="csrf" value="([^"]+)"/.exec(overview.html)?.[1] as string;
    const blocked = await browser.navigate(`${account(gamma)}/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        csrf: token,
        currentPassword: GOOD_PASSWORD,
        newPassword: NEW_PASSWORD,
      }).toString(),
    });
    expectPage(blocked, 'Your account', 403);
    expect(blocked.html).toContain('Set up two-factor authentication first.');

    const enroll = await browser.submit(overview, {}, '/totp');
    const secret = shownSecret(enroll);
    expectPage(await browser.submit(enroll, { code: codeOf(secret) }), 'Save your recovery codes');
    const full = await browser.navigate(account(gamma));
    expectPage(full, 'Your account');
    expect(full.html).toContain(`action="/p/${gamma.projectId}/pages/account/password"`);
  });
});
