import { hiddenField } from '../../../http/pages/forms.js';
import { errorMessage, html, type Page, type SafeHtml } from '../../../http/pages/html.js';

/**
 * Where the email sign-in forms of one flow post: `action` + `/email` (ask for a code) and
 * `action` + `/email/code` (enter it); `csrf` when the flow binds its forms (an OIDC interaction).
 */
export interface EmailForms {
  action: string;
  csrf?: string;
  /** Shown under the title, e.g. "to continue to <client>". */
  lead?: string;
}

export interface EmailOutcome {
  status?: number;
  error?: string;
  retryAfter?: number;
  email?: string;
}

function outcomeFields(outcome: EmailOutcome): Pick<Page, 'status'> & { retryAfter?: number } {
  return {
    status: outcome.status ?? 200,
    ...(outcome.retryAfter === undefined ? {} : { retryAfter: outcome.retryAfter }),
  };
}

function csrfField(forms: EmailForms): SafeHtml | string {
  return forms.csrf === undefined ? '' : hiddenField('csrf', forms.csrf);
}

/** The link from a password sign-in page to the email sign-in. */
export function emailSignInLink(action: string): SafeHtml {
  return html`<p><a href="${action}/email">Email me a sign-in code</a></p>`;
}

/** Step one: the address to send the code to. */
export function emailStartPage(forms: EmailForms, outcome: EmailOutcome = {}): Page {
  const described = outcome.error ? html` aria-describedby="error"` : '';
  return {
    ...outcomeFields(outcome),
    title: 'Sign in with an emailed code',
    body: html`${forms.lead ? html`<p>${forms.lead}</p>` : ''}
${errorMessage(outcome.error)}
<form method="post" action="${forms.action}/email">
${csrfField(forms)}
<p><label for="email">Email</label><br>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="254" value="${outcome.email ?? ''}"${described}></p>
<p><button type="submit">Email me a code</button></p>
</form>`,
  };
}

/** Step two: the code from the message (or its link, which signs in as well). */
export function emailCodePage(forms: EmailForms, email: string, outcome: EmailOutcome = {}): Page {
  const described = outcome.error
    ? html` aria-describedby="error code-help"`
    : html` aria-describedby="code-help"`;
  return {
    ...outcomeFields(outcome),
    title: 'Enter the code we emailed you',
    body: html`${forms.lead ? html`<p>${forms.lead}</p>` : ''}
${errorMessage(outcome.error)}
<p id="code-help">If an account uses ${email}, we sent it an 8-digit code that works for 10 minutes. You can also open the link in that message instead.</p>
<form method="post" action="${forms.action}/email/code">
${csrfField(forms)}
${hiddenField('email', email)}
<p><label for="code">Code</label><br>
<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{8}" maxlength="8" required${described}></p>
<p><button type="submit">Sign in</button></p>
</form>
<p><a href="${forms.action}/email">Send a new code</a></p>`,
  };
}

/** What a magic link's page shows and asks for besides the button. */
export interface MagicLinkView {
  purpose: 'sign_in' | 'verify_email';
  /** The account's address, masked: whoever opens a link sees which account it signs into. */
  maskedEmail: string;
  /** A sign-in link opened in another browser than the one that asked for it: the code is needed too. */
  askCode: boolean;
  /** A registration's confirming link: the password chosen when registering is needed too. */
  askPassword: boolean;
}

function linkTitle(view: MagicLinkView): string {
  if (view.purpose === 'sign_in') return 'Sign in';
  return view.askPassword ? 'Confirm your new account' : 'Verify your email';
}

function linkLead(view: MagicLinkView): string {
  if (view.purpose === 'sign_in') {
    return view.askCode
      ? `Sign in as ${view.maskedEmail}. This link was asked for in another browser: enter the code from the same email to continue.`
      : `Continue to sign in as ${view.maskedEmail}.`;
  }
  return view.askPassword
    ? `Finish registering ${view.maskedEmail}: enter the password you chose when you registered.`
    : `Confirm that ${view.maskedEmail} is your email address.`;
}

/**
 * A magic link's landing page: nothing happens until the button is pressed, because mail scanners
 * fetch links and must not use them up. It names the account (masked), so that nobody is signed into
 * someone else's account unawares, and asks for the code or password when the link alone is not enough.
 */
export function magicLinkPage(
  action: string,
  token: string,
  view: MagicLinkView,
  outcome: EmailOutcome = {},
): Page {
  const described = outcome.error ? html` aria-describedby="error"` : '';
  const codeInput = view.askCode
    ? html`<p><label for="code">Code</label><br>
<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{8}" maxlength="8" required${described}></p>`
    : '';
  const passwordInput = view.askPassword
    ? html`<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" maxlength="1024" required${described}></p>`
    : '';
  const button =
    view.purpose === 'sign_in' ? 'Sign in' : view.askPassword ? 'Confirm my account' : 'Verify my email';
  return {
    ...outcomeFields(outcome),
    title: linkTitle(view),
    body: html`<p>${linkLead(view)}</p>
${errorMessage(outcome.error)}
<form method="post" action="${action}">
${hiddenField('token', token)}
${codeInput}${passwordInput}
<p><button type="submit">${button}</button></p>
</form>`,
  };
}
