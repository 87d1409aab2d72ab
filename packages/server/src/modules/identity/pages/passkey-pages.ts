import { hiddenField } from '../../../http/pages/forms.js';
import { html, type SafeHtml } from '../../../http/pages/html.js';
import type { PasskeyView } from '../passkey-schemas.js';
import type { AccountForms } from './account-pages.js';
import { PASSKEY_SCRIPT_PATH } from './passkey-script.js';

/** What a page with a passkey form adds to its Page. */
export const PASSKEY_SCRIPTS = [PASSKEY_SCRIPT_PATH] as const;

/** `/p/{projectId}` of a page path under it: the end-user API the passkey script calls lives there. */
function projectPathOf(pagePath: string): string {
  const prefix = pagePath.match(/^\/p\/prj_[0-9a-f]{32}/)?.[0];
  if (!prefix) throw new Error(`not a project page path: ${pagePath}`);
  return prefix;
}

/**
 * "Sign in with a passkey": hidden until the script finds WebAuthn. After a verified username-less
 * sign-in (which sets the session cookie) the script sends this form: `action` with `method`.
 */
export function passkeySignInForm(
  pagePath: string,
  target: { action: string; method: 'get' | 'post'; csrf?: string },
): SafeHtml {
  const api = projectPathOf(pagePath);
  return html`<form hidden method="${target.method}" action="${target.action}" data-passkey="sign-in" data-passkey-options="${api}/auth/passkey/options" data-passkey-verify="${api}/auth/passkey">
${target.csrf ? hiddenField('csrf', target.csrf) : ''}
<p><button type="submit">Sign in with a passkey</button></p>
<p role="status" data-passkey-status></p>
</form>`;
}

function renameForm(forms: AccountForms, passkey: PasskeyView): SafeHtml {
  const id = `passkey-name-${passkey.id}`;
  return html`<form method="post" action="${forms.base}/passkeys/rename">
${hiddenField('csrf', forms.csrf)}${hiddenField('passkeyId', passkey.id)}
<label for="${id}">New name</label>
<input id="${id}" name="name" required maxlength="64" value="${passkey.name}">
<button type="submit">Rename</button>
</form>`;
}

function deleteForm(forms: AccountForms, passkey: PasskeyView): SafeHtml {
  return html`<form method="post" action="${forms.base}/passkeys/delete">
${hiddenField('csrf', forms.csrf)}${hiddenField('passkeyId', passkey.id)}
<button type="submit">Remove ${passkey.name}</button>
</form>`;
}

/**
 * Adding a passkey needs a recent sign-in: these fields confirm it is the user (the password, or a code
 * of the authenticator app for a user with TOTP), and may stay empty right after signing in.
 */
function reauthenticateFields(totpEnabled: boolean): SafeHtml {
  const field = totpEnabled
    ? html`<p><label for="passkey-reauth-code">Code from your authenticator app</label><br>
<input id="passkey-reauth-code" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" aria-describedby="passkey-reauth-hint"></p>`
    : html`<p><label for="passkey-reauth-password">Your password</label><br>
<input id="passkey-reauth-password" name="password" type="password" autocomplete="current-password" aria-describedby="passkey-reauth-hint"></p>`;
  return html`<p id="passkey-reauth-hint">Needed when you signed in more than 10 minutes ago.</p>
${field}`;
}

/** The account page's passkeys: listed, renamed and removed with forms; added with the script. */
export function passkeysSection(
  forms: AccountForms,
  passkeys: PasskeyView[],
  totpEnabled: boolean,
): SafeHtml {
  const api = projectPathOf(forms.base);
  return html`<section aria-labelledby="passkeys-heading">
<h2 id="passkeys-heading">Passkeys</h2>
${
  passkeys.length === 0
    ? html`<p>None yet.</p>`
    : html`<table>
<thead><tr><th scope="col">Name</th><th scope="col">Added</th><th scope="col">Last used</th><th scope="col">Synced</th><th scope="col"></th></tr></thead>
<tbody>
${passkeys.map(
  (
    passkey,
  ) => html`<tr><td>${passkey.name}</td><td>${passkey.createdAt}</td><td>${passkey.lastUsedAt ?? 'never'}</td><td>${passkey.backedUp ? 'yes' : 'no'}</td>
<td>${renameForm(forms, passkey)}${deleteForm(forms, passkey)}</td></tr>
`,
)}
</tbody>
</table>`
}
<form hidden method="get" action="${forms.base}" data-passkey="register" data-passkey-reauthenticate="${api}/account/reauthenticate" data-passkey-options="${api}/account/passkeys/options" data-passkey-verify="${api}/account/passkeys">
<h3>Add a passkey</h3>
<p><label for="passkey-name">Name</label><br>
<input id="passkey-name" name="name" required maxlength="64" placeholder="e.g. Laptop"></p>
${reauthenticateFields(totpEnabled)}
<p><button type="submit">Add a passkey</button></p>
<p role="status" data-passkey-status></p>
</form>
</section>`;
}

/** "Sign out everywhere" may also remove every passkey: one may have been added by an intruder. */
export function removePasskeysCheckbox(): SafeHtml {
  return html`<p><input type="checkbox" id="remove-passkeys" name="removePasskeys" value="yes">
<label for="remove-passkeys">Also remove all my passkeys</label></p>`;
}
