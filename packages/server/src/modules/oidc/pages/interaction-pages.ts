import { hiddenField, secondFactorFields } from '../../../http/pages/forms.js';
import { errorMessage, html, type Page } from '../../../http/pages/html.js';
import { emailSignInLink } from '../../identity/pages/email-code-pages.js';
import { PASSKEY_SCRIPTS, passkeySignInForm } from '../../identity/pages/passkey-pages.js';
import { enrollTotpForm, recoveryCodesList } from '../../identity/pages/totp-pages.js';

/** What every interaction form carries: where it posts and its CSRF token. */
export interface FormContext {
  /** The interaction's base path, `/p/{projectId}/interaction/{uid}`. */
  base: string;
  csrf: string;
  clientName: string;
  /** Whether the login page offers an emailed sign-in code. */
  emailSignIn?: boolean;
}

export function loginPage(
  form: FormContext,
  options: { status?: number; error?: string; identifier?: string; retryAfter?: number } = {},
): Page {
  const described = options.error ? 'error' : undefined;
  return {
    status: options.status ?? 200,
    title: 'Sign in',
    ...(options.retryAfter === undefined ? {} : { retryAfter: options.retryAfter }),
    body: html`<p>to continue to ${form.clientName}</p>
${errorMessage(options.error)}
<form method="post" action="${form.base}/login">
${hiddenField('csrf', form.csrf)}
<p><label for="identifier">Username or email</label><br>
<input id="identifier" name="identifier" autocomplete="username" required maxlength="320" value="${options.identifier ?? ''}"${described ? html` aria-describedby="error"` : ''}></p>
<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"></p>
<p><button type="submit">Sign in</button></p>
</form>
${form.emailSignIn ? emailSignInLink(form.base) : ''}
${passkeySignInForm(form.base, { action: `${form.base}/continue`, method: 'post', csrf: form.csrf })}`,
    scripts: PASSKEY_SCRIPTS,
  };
}

/**
 * The second factor: after a password (`challenge` set) or as a step-up of a signed-in session (no
 * challenge); a recovery code is accepted in both.
 */
export function totpPage(
  form: FormContext,
  options: { challenge?: string; status?: number; error?: string; retryAfter?: number; notice?: string } = {},
): Page {
  const stepUp = options.challenge === undefined;
  return {
    status: options.status ?? 200,
    title: 'Two-factor authentication',
    ...(options.retryAfter === undefined ? {} : { retryAfter: options.retryAfter }),
    body: html`<p>${stepUp ? `${form.clientName} asks you to confirm it is you with your authenticator app or a recovery code.` : 'Enter the code from your authenticator app.'}</p>
${options.notice ? html`<p role="status">${options.notice}</p>` : ''}${errorMessage(options.error)}
<form method="post" action="${form.base}/${stepUp ? 'step-up' : 'totp'}">
${hiddenField('csrf', form.csrf)}
${stepUp ? '' : hiddenField('challenge', options.challenge ?? '')}
${secondFactorFields()}
</form>`,
  };
}

/** TOTP enrollment during sign-in, for a project that requires it: the key to add, then a first code. */
export function enrollTotpPage(
  form: FormContext,
  enrollment: { otpauthUri: string; secret: string },
  options: { status?: number; error?: string; retryAfter?: number } = {},
): Page {
  return {
    status: options.status ?? 200,
    title: 'Set up two-factor authentication',
    ...(options.retryAfter === undefined ? {} : { retryAfter: options.retryAfter }),
    body: html`<p>${form.clientName} requires two-factor authentication.</p>
${errorMessage(options.error)}
${enrollTotpForm(enrollment, { action: `${form.base}/enroll`, csrf: form.csrf })}`,
  };
}

/** The recovery codes of a fresh enrollment: shown once, then the sign-in continues. */
export function recoveryCodesPage(form: FormContext, codes: string[]): Page {
  return {
    status: 200,
    title: 'Save your recovery codes',
    body: html`${recoveryCodesList(codes)}
<form method="post" action="${form.base}/continue">
${hiddenField('csrf', form.csrf)}
<p><button type="submit">Continue to ${form.clientName}</button></p>
</form>`,
  };
}

const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are (your account id)',
  profile: 'Your name and username',
  email: 'Your email address',
  did: 'Your decentralized identifier (DID)',
  offline_access: 'Stay signed in: access your account while you are away',
};

export function consentPage(form: FormContext, scopes: string[]): Page {
  return {
    status: 200,
    title: 'Allow access',
    body: html`<p>${form.clientName} asks for:</p>
<ul>
${scopes.map((scope) => html`<li>${SCOPE_DESCRIPTIONS[scope] ?? scope} <small>(${scope})</small></li>\n`)}
</ul>
<form method="post" action="${form.base}/consent">
${hiddenField('csrf', form.csrf)}
<p><button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></p>
</form>`,
  };
}
