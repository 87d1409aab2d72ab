import { hiddenField } from '../../../http/pages/forms.js';
import { errorMessage, html, type Page, type SafeHtml } from '../../../http/pages/html.js';
import type { Outcome } from './account-pages.js';

/**
 * The form body asking for the code adaptive MFA emailed as a second factor, with why it is asked
 * (`notice`, from the risk reasons) and the last error tied to the input.
 */
export function emailCodeForm(
  action: string,
  hidden: SafeHtml,
  options: { notice?: string | undefined; error?: string | undefined },
): SafeHtml {
  const described = options.error ? html` aria-describedby="error"` : '';
  return html`${options.notice ? html`<p role="status">${options.notice}</p>` : ''}
<p>We emailed a code to your address. It expires in 10 minutes.</p>
${errorMessage(options.error)}
<form method="post" action="${action}">
${hidden}
<p><label for="emailCode">Code from the email</label><br>
<input id="emailCode" name="emailCode" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{8}" maxlength="8" required${described}></p>
<p><button type="submit">Verify</button></p>
</form>`;
}

/** Account pages: the emailed code after a risky password sign-in; posts where the TOTP code does. */
export function signInEmailCodePage(base: string, challenge: string, outcome: Outcome = {}): Page {
  return {
    status: outcome.status ?? 200,
    ...(outcome.retryAfter === undefined ? {} : { retryAfter: outcome.retryAfter }),
    title: "Confirm it's you",
    body: emailCodeForm(`${base}/sign-in/totp`, hiddenField('challenge', challenge), outcome),
  };
}
