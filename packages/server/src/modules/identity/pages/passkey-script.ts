import type { FastifyInstance } from 'fastify';

/** Where pages load the passkey script from (same origin, so `script-src 'self'` allows it). */
export const PASSKEY_SCRIPT_PATH = '/pages/passkeys.js';

/**
 * The browser half of passkeys, for every `form[data-passkey]` on a page. Such a form is rendered
 * `hidden` and shown only when the browser has WebAuthn with the JSON helpers
 * (`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`, `toJSON()`), so
 * without JavaScript or WebAuthn nothing of it appears. Its submit runs the ceremony against the end-user
 * API (`data-passkey-options`, then `data-passkey-verify`) and, once verified, sends the form for real
 * (a POST form: the OIDC interaction continues) or opens its action (a GET form: the account page).
 */
const SCRIPT = `'use strict';
(() => {
  const pk = window.PublicKeyCredential;
  const supported =
    typeof pk === 'function' &&
    typeof pk.parseCreationOptionsFromJSON === 'function' &&
    typeof pk.parseRequestOptionsFromJSON === 'function' &&
    Boolean(navigator.credentials);
  if (!supported) return;

  async function post(url, body) {
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new Error((data && data.detail) || 'The passkey could not be used.');
    return data;
  }

  async function signIn(form) {
    const options = await post(form.dataset.passkeyOptions);
    const credential = await navigator.credentials.get({ publicKey: pk.parseRequestOptionsFromJSON(options) });
    await post(form.dataset.passkeyVerify, { response: credential.toJSON() });
  }

  // Adding a passkey needs a recent sign-in: a filled password or code field confirms it first.
  async function reauthenticate(form) {
    const field = form.elements.namedItem('code') || form.elements.namedItem('password');
    if (!field || field.value === '') return;
    await post(form.dataset.passkeyReauthenticate, { [field.name]: field.value });
    field.value = '';
  }

  async function register(form) {
    const name = form.elements.namedItem('name').value.trim();
    await reauthenticate(form);
    const options = await post(form.dataset.passkeyOptions);
    const credential = await navigator.credentials.create({
      publicKey: pk.parseCreationOptionsFromJSON(options),
    });
    await post(form.dataset.passkeyVerify, { name, response: credential.toJSON() });
  }

  for (const form of document.querySelectorAll('form[data-passkey]')) {
    const status = form.querySelector('[data-passkey-status]');
    const button = form.querySelector('button');
    form.hidden = false;
    form.addEventListener('submit', async (event) => {
      // This submit runs the ceremony; form.submit() below does not come back here.
      event.preventDefault();
      button.disabled = true;
      status.textContent = '';
      try {
        await (form.dataset.passkey === 'register' ? register(form) : signIn(form));
        if (form.method === 'post') form.submit();
        else window.location.assign(form.action);
      } catch (error) {
        status.textContent =
          error && error.name === 'NotAllowedError'
            ? 'The passkey was not used: cancelled, timed out, or you could not be verified.'
            : error.message;
        button.disabled = false;
      }
    });
  }
})();
`;

/** Serves the passkey script: static, cacheable for a while, no other origin needed. */
export function passkeyScriptRoute(app: FastifyInstance): void {
  app.get(PASSKEY_SCRIPT_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(SCRIPT),
  );
}
