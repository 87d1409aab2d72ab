import * as client from 'openid-client';
import { Secret, TOTP } from 'otpauth';
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
  updateIdentityPolicy,
} from './identity-helpers.js';
import { freePort, registerClient } from './oidc-helpers.js';
import { Browser, expectPage, expectRp } from './page-browser.js';
import { SmtpCapture } from './smtp-capture.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const ACR_MFA = 'urn:personachain:acr:mfa';
const LONDON = '81.2.69.142';
const US = '8.8.8.8';
const HOUR = 3_600_000;

describe.each(ENGINES)('adaptive MFA in the sign-in pages (%s)', (engine) => {
  let server: IdentityTestServer;
  let smtp: SmtpCapture;
  let publicUrl: string;
  let tenant: Tenant;
  let rp: client.Configuration;

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    smtp = new SmtpCapture();
    server = await startIdentityServer(engine, {
      PERSONA_PORT: String(port),
      PERSONA_PUBLIC_URL: publicUrl,
      PERSONA_SMTP_URL: await smtp.start(),
      PERSONA_SMTP_FROM: 'PersonaChain <no-reply@example.test>',
    });
    tenant = await createTenant(server, 'adaptive pages');
    await updateIdentityPolicy(server, tenant, { mfa: 'adaptive' });
    rp = (
      await registerClient(server, tenant, `${publicUrl}/p/${tenant.projectId}/oidc`, {
        name: 'Acme Web',
        scopes: ['openid', 'profile'],
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
        skipConsent: true,
      })
    ).config;
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  async function authorize(browser: Browser) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      prompt: 'login',
    });
    const stop = await browser.navigate(url.href);
    const redeem = (callback: URL) =>
      client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    return { stop, redeem };
  }

  it('code + PKCE: the known device passes on its password; abroad it gets the second-factor page', async () => {
    const user = await createUser(server, tenant);
    const token = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token;
    const enrollment = await server.json('POST', `/p/${tenant.projectId}/account/totp`, asUser(token));
    const code = () =>
      TOTP.generate({ secret: Secret.fromBase32(enrollment.body.secret), timestamp: server.clock.at });
    await server.json('POST', `/p/${tenant.projectId}/account/totp/confirm`, {
      ...asUser(token),
      body: { code: code() },
    });
    server.clock.advance(30_000);
    await server.db.deleteFrom('identity_sign_ins').where('user_id', '=', user.id).execute();

    const browser = new Browser(publicUrl);
    browser.forwardedFor = LONDON;
    const home = await authorize(browser);
    expectPage(home.stop, 'Sign in');
    const homeTokens = await home.redeem(
      expectRp(await browser.submit(home.stop, { identifier: user.username, password: GOOD_PASSWORD })),
    );
    expect(homeTokens.claims()).toMatchObject({ sub: user.id, amr: ['pwd'] });
    expect(browser.cookies.get('persona_device')).toMatch(/^pcd_/);

    server.clock.advance(HOUR);
    browser.forwardedFor = US;
    const abroad = await authorize(browser);
    const second = await browser.submit(abroad.stop, { identifier: user.username, password: GOOD_PASSWORD });
    expectPage(second, 'Two-factor authentication');
    expect(second.html).toContain('We need to confirm it&#39;s you: an unusual location.');
    expect(second.html).not.toMatch(/\d+ km|score|US\b/);
    const tokens = await abroad.redeem(expectRp(await browser.submit(second, { code: code() })));
    expect(tokens.claims()).toMatchObject({ sub: user.id, acr: ACR_MFA, amr: ['pwd', 'otp'] });
    expect(
      await server.db.selectFrom('identity_sign_ins').selectAll().where('user_id', '=', user.id).execute(),
    ).toHaveLength(2);
  });

  it('the account pages ask a user without TOTP for the emailed code, then sign in', async () => {
    const email = 'pages-adaptive@example.test';
    await createUser(server, tenant, { email, emailVerified: true });
    const browser = new Browser(publicUrl);
    const signInUrl = `${publicUrl}/p/${tenant.projectId}/pages/account/sign-in`;
    browser.forwardedFor = LONDON;
    const form = await browser.navigate(signInUrl);
    const overview = await browser.submit(form, { identifier: email, password: GOOD_PASSWORD }, '/sign-in');
    expect(overview.kind === 'page' && overview.status).toBe(200);
    expect(browser.cookies.get('persona_session')).toMatch(/^pcs_/);
    browser.cookies.delete('persona_session');

    server.clock.advance(HOUR);
    browser.forwardedFor = US;
    const again = await browser.navigate(signInUrl);
    const asked = await browser.submit(again, { identifier: email, password: GOOD_PASSWORD }, '/sign-in');
    expectPage(asked, 'Confirm it&#39;s you');
    expect(asked.html).toContain('an unusual location');
    expect(asked.html).toContain('<label for="emailCode">');
    const [mail] = await smtp.mailTo(email);
    const emailed = /code is (\d{8})/.exec(mail?.raw ?? '')?.[1] as string;
    const wrong = await browser.submit(asked, {
      emailCode: emailed === '00000000' ? '11111111' : '00000000',
    });
    expectPage(wrong, 'Confirm it&#39;s you', 401);
    expect(wrong.html).toContain('aria-describedby="error"');
    await browser.submit(wrong, { emailCode: emailed });
    expect(browser.cookies.get('persona_session')).toMatch(/^pcs_/);
  });
});
