import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableEmailSignIn } from './identity-email-helpers.js';
import {
  createTenant,
  createUser,
  ENGINES,
  type IdentityTestServer,
  startIdentityServer,
  type Tenant,
  updateIdentityPolicy,
} from './identity-helpers.js';
import { freePort, registerClient } from './oidc-helpers.js';
import { Browser, expectPage, expectRp } from './page-browser.js';
import { codeAndLink, SmtpCapture } from './smtp-capture.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe.each(ENGINES)('email sign-in pages and magic links (%s)', (engine) => {
  let server: IdentityTestServer;
  let smtp: SmtpCapture;
  let publicUrl: string;
  let tenant: Tenant;
  let rp: client.Configuration;

  const uniqueEmail = () => `page${Math.random().toString(36).slice(2, 10)}@example.test`;
  const accountBase = () => `${publicUrl}/p/${tenant.projectId}/pages/account`;

  beforeAll(async () => {
    smtp = new SmtpCapture();
    const smtpUrl = await smtp.start();
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = await startIdentityServer(engine, {
      PERSONA_PORT: String(port),
      PERSONA_PUBLIC_URL: publicUrl,
      PERSONA_SMTP_URL: smtpUrl,
      PERSONA_SMTP_FROM: 'no-reply@example.test',
    });
    tenant = await createTenant(server, 'email pages');
    await enableEmailSignIn(server, tenant);
    rp = (
      await registerClient(server, tenant, `${publicUrl}/p/${tenant.projectId}/oidc`, {
        name: 'Acme Web',
        scopes: ['openid', 'email'],
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
        skipConsent: true,
      })
    ).config;
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  async function authorize(browser: Browser) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const stop = await browser.navigate(url.href);
    const redeem = (callback: URL) =>
      client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    return { stop, redeem };
  }

  it('account sign-in page: email me a code, enter it, signed in', async () => {
    const email = uniqueEmail();
    await createUser(server, tenant, { email, emailVerified: true });
    const browser = new Browser(publicUrl);
    const signIn = await browser.navigate(`${accountBase()}/sign-in`);
    expectPage(signIn, 'Sign in to your account');
    expect(signIn.html).toContain('Email me a sign-in code');

    const start = await browser.navigate(`${accountBase()}/email`);
    expectPage(start, 'Sign in with an emailed code');
    expect(start.html).toContain('<label for="email">');
    const codePage = await browser.submit(start, { email });
    expectPage(codePage, 'Enter the code we emailed you');
    const { code } = codeAndLink((await smtp.mailTo(email))[0] as never);

    const wrong = await browser.submit(codePage, { code: code === '00000000' ? '11111111' : '00000000' });
    expectPage(wrong, 'Enter the code we emailed you', 401);
    expect(wrong.html).toContain('role="alert"');
    const account = await browser.submit(wrong, { code });
    expectPage(account, 'Your account');
  });

  it('a magic link in the asking browser: the GET only shows a button naming the account, the POST signs in once', async () => {
    const email = uniqueEmail();
    await createUser(server, tenant, { email, emailVerified: true });
    const browser = new Browser(publicUrl);
    await browser.submit(await browser.navigate(`${accountBase()}/email`), { email });
    expect(browser.cookies.has('persona_email_browser')).toBe(true);
    const { token } = codeAndLink((await smtp.mailTo(email))[0] as never);
    const linkUrl = `${publicUrl}/p/${tenant.projectId}/auth/email/link?token=${token}`;

    // A mail scanner fetches the link twice: nothing is used up.
    const scanner = new Browser(publicUrl);
    expectPage(await scanner.navigate(linkUrl), 'Sign in');
    const landing = await browser.navigate(linkUrl);
    expectPage(landing, 'Sign in');
    expect(landing.html).toContain(`Continue to sign in as ${email.slice(0, 1)}***@example.test`);
    expect(landing.html).not.toContain(email);
    expect(landing.html).not.toContain('name="code"');
    expect(landing.headers.get('cache-control')).toBe('no-store');
    expect(browser.cookies.has('persona_session')).toBe(false);

    const account = await browser.submit(landing, {});
    expectPage(account, 'Your account');
    expect(browser.cookies.has('persona_session')).toBe(true);
    const again = await browser.submit(landing, {});
    expectPage(again, 'Link expired', 400);
  });

  it('a sign-in link opened in another browser asks for the code too (login CSRF)', async () => {
    // An attacker asks for a link to their own account and gets a victim to open it: the victim's
    // browser lacks the asking browser's cookie, so the link alone signs nobody in.
    const email = uniqueEmail();
    await createUser(server, tenant, { email, emailVerified: true });
    const attacker = new Browser(publicUrl);
    await attacker.submit(await attacker.navigate(`${accountBase()}/email`), { email });
    const { code, token } = codeAndLink((await smtp.mailTo(email))[0] as never);
    const victim = new Browser(publicUrl);
    const landing = await victim.navigate(
      `${publicUrl}/p/${tenant.projectId}/auth/email/link?token=${token}`,
    );
    expectPage(landing, 'Sign in');
    expect(landing.html).toContain(`Sign in as ${email.slice(0, 1)}***@example.test`);
    expect(landing.html).toContain('<label for="code">');

    const refused = await victim.submit(landing, {});
    expectPage(refused, 'Sign in', 401);
    expect(refused.html).toContain('role="alert"');
    expect(victim.cookies.has('persona_session')).toBe(false);
    // Whoever has the code as well (the account's owner on another device) still gets in.
    expectPage(await victim.submit(refused, { code }), 'Your account');
    expect(victim.cookies.has('persona_session')).toBe(true);
  });

  it('OIDC code + PKCE through the email-code pages: the ID token says amr otp', async () => {
    const email = uniqueEmail();
    const user = await createUser(server, tenant, { email, emailVerified: true });
    const browser = new Browser(publicUrl);
    const { stop, redeem } = await authorize(browser);
    expectPage(stop, 'Sign in');
    const link = /href="([^"]+\/email)"/.exec(stop.html)?.[1];
    expect(link).toBeDefined();
    const start = await browser.navigate(new URL(link as string, publicUrl).href);
    expectPage(start, 'Sign in with an emailed code');
    const codePage = await browser.submit(start, { email });
    expectPage(codePage, 'Enter the code we emailed you');
    const { code } = codeAndLink((await smtp.mailTo(email))[0] as never);
    const tokens = await redeem(expectRp(await browser.submit(codePage, { code })));
    expect(tokens.claims()).toMatchObject({
      sub: user.id,
      amr: ['otp'],
      acr: 'urn:personachain:acr:pwd',
      email_verified: true,
    });
  });

  it('a magic link opened in the browser of an OIDC sign-in finishes it', async () => {
    const email = uniqueEmail();
    const user = await createUser(server, tenant, { email, emailVerified: true });
    const browser = new Browser(publicUrl);
    const { stop, redeem } = await authorize(browser);
    const start = await browser.navigate(
      new URL(/href="([^"]+\/email)"/.exec(stop.kind === 'page' ? stop.html : '')?.[1] as string, publicUrl)
        .href,
    );
    await browser.submit(start, { email });
    const { token } = codeAndLink((await smtp.mailTo(email))[0] as never);
    const landing = await browser.navigate(
      `${publicUrl}/p/${tenant.projectId}/auth/email/link?token=${token}`,
    );
    expectPage(landing, 'Sign in');
    const tokens = await redeem(expectRp(await browser.submit(landing, {})));
    expect(tokens.claims()).toMatchObject({ sub: user.id, amr: ['otp'] });
  });
});

describe.each(ENGINES)('email verification links (%s)', (engine) => {
  let server: IdentityTestServer;
  let smtp: SmtpCapture;
  let tenant: Tenant;

  beforeAll(async () => {
    smtp = new SmtpCapture();
    server = await startIdentityServer(engine, {
      PERSONA_SMTP_URL: await smtp.start(),
      PERSONA_SMTP_FROM: 'no-reply@example.test',
    });
    tenant = await createTenant(server, 'email links');
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  it('the link of a pending registration activates it only with the password chosen then', async () => {
    await updateIdentityPolicy(server, tenant, { registration: true, registrationVerifiesEmail: true });
    const email = `reg${Date.now()}@example.test`;
    const registered = await server.json('POST', `/p/${tenant.projectId}/auth/register`, {
      key: null,
      body: { email, password: 'another-lantern-field-77' },
    });
    expect(registered.status).toBe(202);
    const { token } = codeAndLink((await smtp.mailTo(email))[0] as never);
    const browser = new Browser(server.url);
    const landing = await browser.navigate(
      `${server.url}/p/${tenant.projectId}/auth/email/link?token=${token}`,
    );
    expectPage(landing, 'Confirm your new account');
    expect(landing.html).toContain('<label for="password">');
    const pending = await server.json('POST', `/p/${tenant.projectId}/auth/login`, {
      key: null,
      body: { identifier: email, password: 'another-lantern-field-77' },
    });
    expect(pending.status).toBe(401);

    // The mailbox alone is not enough: someone else may have registered this address.
    const refused = await browser.submit(landing, { password: 'a-password-someone-else-set-9' });
    expectPage(refused, 'Confirm your new account', 401);
    expect(refused.html).toContain('role="alert"');
    expectPage(await browser.submit(refused, { password: 'another-lantern-field-77' }), 'Email verified');
    const signedIn = await server.json('POST', `/p/${tenant.projectId}/auth/login`, {
      key: null,
      body: { identifier: email, password: 'another-lantern-field-77' },
    });
    expect(signedIn.status).toBe(200);
    expectPage(await browser.submit(landing, { password: 'another-lantern-field-77' }), 'Link expired', 400);
  });
});

describe('email sign-in pages without SMTP', () => {
  let server: IdentityTestServer;
  let tenant: Tenant;
  beforeAll(async () => {
    server = await startIdentityServer('sqlite');
    tenant = await createTenant(server, 'no smtp pages');
  });
  afterAll(() => server?.close());

  it('the sign-in page does not offer email codes', async () => {
    const page = await server.call('GET', `/p/${tenant.projectId}/pages/account/sign-in`, { key: null });
    expect(await page.text()).not.toContain('Email me a sign-in code');
    const email = await server.call('GET', `/p/${tenant.projectId}/pages/account/email`, { key: null });
    expect(email.status).toBe(404);
  });
});
