import { html, type Page, SafeHtml } from '../../../http/pages/html.js';

/**
 * The RP-initiated logout confirmation. `providerForm` is oidc-provider's own hidden form (its action and
 * xsrf token, which it escapes); the button submits it with logout=yes, which ends the issuer session and
 * the platform session of the project. Declining is closing the page: nothing changes.
 */
export function logoutPage(providerForm: string): Page {
  return {
    status: 200,
    title: 'Sign out',
    body: html`<p>Do you want to sign out?</p>
${new SafeHtml(providerForm)}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`,
  };
}

export function signedOutPage(): Page {
  return {
    status: 200,
    title: 'Signed out',
    body: html`<p>You are signed out. You can close this page.</p>`,
  };
}
