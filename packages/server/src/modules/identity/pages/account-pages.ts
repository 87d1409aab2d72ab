import { hiddenField, secondFactorFields } from '../../../http/pages/forms.js';
import { errorMessage, html, type Page, type SafeHtml } from '../../../http/pages/html.js';
import type { PasskeyView } from '../passkey-schemas.js';
import type { SessionView, UserView } from '../schemas.js';
import { emailSignInLink } from './email-code-pages.js';
import {
  PASSKEY_SCRIPTS,
  passkeySignInForm,
  passkeysSection,
  removePasskeysCheckbox,
} from './passkey-pages.js';
import { enrollTotpForm, recoveryCodesList } from './totp-pages.js';

/** Where the account forms post (`/p/{projectId}/pages/account`) and the CSRF token of the session. */
export interface AccountForms {
  base: string;
  csrf: string;
}

/** The outcome of the last form, shown above the page's content. */
export interface Outcome {
  status?: number;
  error?: string;
  notice?: string;
  retryAfter?: number;
}

function outcomeFields(outcome: Outcome): Pick<Page, 'status'> & { retryAfter?: number } {
  return {
    status: outcome.status ?? 200,
    ...(outcome.retryAfter === undefined ? {} : { retryAfter: outcome.retryAfter }),
  };
}

function outcomeMessage(outcome: Outcome): SafeHtml {
  return html`${errorMessage(outcome.error)}${outcome.notice ? html`<p role="status">${outcome.notice}</p>` : ''}`;
}

function codeField(id: string): SafeHtml {
  return html`<p><label for="${id}">Authentication code</label><br>
<input id="${id}" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required></p>`;
}

export function signInPage(
  base: string,
  outcome: Outcome & { identifier?: string; emailSignIn?: boolean } = {},
): Page {
  return {
    ...outcomeFields(outcome),
    title: 'Sign in to your account',
    body: html`${outcomeMessage(outcome)}
<form method="post" action="${base}/sign-in">
<p><label for="identifier">Username or email</label><br>
<input id="identifier" name="identifier" autocomplete="username" required maxlength="320" value="${outcome.identifier ?? ''}"></p>
<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"></p>
<p><button type="submit">Sign in</button></p>
</form>
${outcome.emailSignIn ? emailSignInLink(base) : ''}
${passkeySignInForm(base, { action: base, method: 'get' })}`,
    scripts: PASSKEY_SCRIPTS,
  };
}

/** The second factor of an account sign-in; the challenge of the password step rides along. */
export function signInTotpPage(base: string, challenge: string, outcome: Outcome = {}): Page {
  return {
    ...outcomeFields(outcome),
    title: 'Two-factor authentication',
    body: html`${outcomeMessage(outcome)}
<form method="post" action="${base}/sign-in/totp">
${hiddenField('challenge', challenge)}
${secondFactorFields()}
</form>`,
  };
}

function postButton(forms: AccountForms, path: string, label: string, fields: SafeHtml = html``): SafeHtml {
  return html`<form method="post" action="${forms.base}${path}">
${hiddenField('csrf', forms.csrf)}${fields}
<p><button type="submit">${label}</button></p>
</form>`;
}

function twoFactorSection(forms: AccountForms, user: UserView): SafeHtml {
  if (!user.totpEnabled) {
    return html`<section aria-labelledby="totp-heading">
<h2 id="totp-heading">Two-factor authentication</h2>
<p>Off.</p>
${postButton(forms, '/totp', 'Set up two-factor authentication')}
</section>`;
  }
  return html`<section aria-labelledby="totp-heading">
<h2 id="totp-heading">Two-factor authentication</h2>
<p>On.</p>
<h3>New recovery codes</h3>
<p>Replaces your recovery codes; the old ones stop working.</p>
${postButton(forms, '/totp/recovery-codes', 'Make new recovery codes', codeField('regenerate-code'))}
<h3>Turn off</h3>
${postButton(forms, '/totp/disable', 'Turn off two-factor authentication', codeField('disable-code'))}
</section>`;
}

function passwordSection(forms: AccountForms): SafeHtml {
  return html`<section aria-labelledby="password-heading">
<h2 id="password-heading">Password</h2>
${postButton(
  forms,
  '/password',
  'Change password',
  html`
<p><label for="currentPassword">Current password</label><br>
<input id="currentPassword" name="currentPassword" type="password" autocomplete="current-password" required maxlength="1024"></p>
<p><label for="newPassword">New password</label><br>
<input id="newPassword" name="newPassword" type="password" autocomplete="new-password" required maxlength="1024"></p>`,
)}
</section>`;
}

function sessionsSection(forms: AccountForms, sessions: SessionView[]): SafeHtml {
  return html`<section aria-labelledby="sessions-heading">
<h2 id="sessions-heading">Sessions</h2>
<table>
<thead><tr><th scope="col">Signed in</th><th scope="col">Last active</th><th scope="col">Methods</th><th scope="col"></th></tr></thead>
<tbody>
${sessions.map(
  (
    session,
  ) => html`<tr><td>${session.authTime}</td><td>${session.lastSeenAt}</td><td>${session.amr.join(', ')}${session.current ? ' (this browser)' : ''}</td>
<td>${postButton(forms, '/sessions/revoke', session.current ? 'Sign out' : 'End session', hiddenField('sessionId', session.id))}</td></tr>
`,
)}
</tbody>
</table>
${postButton(forms, '/sessions/revoke-all', 'Sign out everywhere', removePasskeysCheckbox())}
</section>`;
}

/**
 * The signed-in user's overview and every form of the account. A restricted session (the project
 * requires TOTP and the user has none) sees only the enrollment and signing out.
 */
export function overviewPage(
  forms: AccountForms,
  account: { user: UserView; sessions: SessionView[]; passkeys: PasskeyView[]; restricted: boolean },
  outcome: Outcome = {},
): Page {
  const { user } = account;
  const who = user.displayName ?? user.username ?? user.email ?? user.id;
  return {
    ...outcomeFields(outcome),
    title: 'Your account',
    ...(account.restricted ? {} : { scripts: PASSKEY_SCRIPTS }),
    body: account.restricted
      ? html`${outcomeMessage(outcome)}
<p>Signed in as ${who}. This project requires two-factor authentication: set it up to use your account.</p>
${twoFactorSection(forms, user)}
${postButton(forms, '/sign-out', 'Sign out')}`
      : html`${outcomeMessage(outcome)}
<p>Signed in as ${who}.</p>
<dl>
<dt>Username</dt><dd>${user.username ?? '—'}</dd>
<dt>Email</dt><dd>${user.email ?? '—'}${user.email && !user.emailVerified ? ' (not verified)' : ''}</dd>
</dl>
${twoFactorSection(forms, user)}
${passkeysSection(forms, account.passkeys, user.totpEnabled)}
${passwordSection(forms)}
${sessionsSection(forms, account.sessions)}
${postButton(forms, '/sign-out', 'Sign out')}`,
  };
}

export function enrollTotpPage(
  forms: AccountForms,
  enrollment: { otpauthUri: string; secret: string },
  outcome: Outcome = {},
): Page {
  return {
    ...outcomeFields(outcome),
    title: 'Set up two-factor authentication',
    body: html`${outcomeMessage(outcome)}
${enrollTotpForm(enrollment, { action: `${forms.base}/totp/confirm`, csrf: forms.csrf })}
<p><a href="${forms.base}">Back to your account</a></p>`,
  };
}

export function recoveryCodesPage(forms: AccountForms, codes: string[]): Page {
  return {
    status: 200,
    title: 'Save your recovery codes',
    body: html`${recoveryCodesList(codes)}
<p><a href="${forms.base}">Back to your account</a></p>`,
  };
}

export function signedOutPage(base: string, message: string): Page {
  return {
    status: 200,
    title: 'Signed out',
    body: html`<p role="status">${message}</p>
<p><a href="${base}/sign-in">Sign in again</a></p>`,
  };
}
