import { existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import * as client from 'openid-client';
import { type Browser, type CDPSession, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  createUser,
  GOOD_PASSWORD,
  type IdentityTestServer,
  startIdentityServer,
  type Tenant,
} from './identity-helpers.js';
import { freePort, registerClient } from './oidc-helpers.js';

/**
 * Passkeys in a real browser: Debian's Chromium driven by playwright-core, with a CDP virtual
 * authenticator (a platform passkey with user verification) standing in for the hardware.
 */

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[skip] ${CHROMIUM} is missing: the passkey browser test is skipped`);

describe.skipIf(!hasChromium)('passkeys in Chromium with a virtual authenticator', () => {
  let server: IdentityTestServer;
  let publicUrl: string;
  let tenant: Tenant;
  let browser: Browser;
  /** The relying party's callback, on 127.0.0.1: it only has to answer the browser. */
  let rp: Server;
  let redirectUri: string;

  beforeAll(async () => {
    const port = await freePort();
    // http://localhost is a secure context, so WebAuthn works without TLS; the RP ID is `localhost`.
    publicUrl = `http://localhost:${port}`;
    server = await startIdentityServer('sqlite', {
      PERSONA_PORT: String(port),
      PERSONA_PUBLIC_URL: publicUrl,
    });
    tenant = await createTenant(server, 'passkeys browser');
    rp = createHttpServer((_request, response) => response.end('back at the RP'));
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    const rpAddress = rp.address();
    if (typeof rpAddress !== 'object' || !rpAddress) throw new Error('no port');
    redirectUri = `http://127.0.0.1:${rpAddress.port}/callback`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => rp?.close(resolve));
    await server?.close();
  });

  async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });
    return { cdp, authenticatorId };
  }

  async function oidcClient() {
    return (
      await registerClient(server, tenant, `${publicUrl}/p/${tenant.projectId}/oidc`, {
        name: 'Acme Web',
        scopes: ['openid', 'profile'],
        grantTypes: ['authorization_code'],
        redirectUris: [redirectUri],
        skipConsent: true,
      })
    ).config;
  }

  it('registers a passkey on the account page, signs in username-less through OIDC, and needs UV', async () => {
    const user = await createUser(server, tenant);
    const context = await browser.newContext();
    const page = await context.newPage();
    const { cdp, authenticatorId } = await virtualAuthenticator(page);
    const account = `${publicUrl}/p/${tenant.projectId}/pages/account`;

    // Password sign-in, then a passkey added through the page.
    await page.goto(`${account}/sign-in`);
    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Virtual laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByRole('cell', { name: 'Virtual laptop', exact: true }).waitFor();
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]?.isResidentCredential).toBe(true);
    expect(credentials[0]?.rpId).toBe('localhost');

    await page.getByRole('button', { name: 'Sign out', exact: true }).last().click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();

    // Username-less sign-in on the OIDC interaction page of a code + PKCE flow.
    const config = await oidcClient();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authorizeUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    await page.goto(authorizeUrl.href);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL((url) => url.href.startsWith(redirectUri));
    const callback = new URL(page.url());
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const claims = tokens.claims();
    expect(claims?.sub).toBe(user.id);
    expect(claims?.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(claims?.acr).toBe('urn:personachain:acr:mfa');
    const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(after.credentials[0]?.signCount).toBeGreaterThan(credentials[0]?.signCount ?? 0);

    // Without user verification the authenticator refuses, and the browser stays signed out.
    await context.clearCookies();
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
    await page.goto(`${account}/sign-in`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect
      .poll(() => page.locator('[data-passkey-status]').textContent())
      .toContain('could not be verified');
    expect(new URL(page.url()).pathname).toBe(`/p/${tenant.projectId}/pages/account/sign-in`);
    await page.goto(account);
    await page.getByRole('heading', { name: 'Sign in to your account' }).waitFor();
    await context.close();
  }, 60_000);
});
