import { html, type SafeHtml } from './html.js';

export function hiddenField(name: string, value: string): SafeHtml {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}

/** The second-factor inputs: a TOTP code, or instead one of the recovery codes, and the submit button. */
export function secondFactorFields(): SafeHtml {
  return html`<p><label for="code">Authentication code</label><br>
<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6"></p>
<p><label for="recoveryCode">Or a recovery code</label><br>
<input id="recoveryCode" name="recoveryCode" autocomplete="off" maxlength="64"></p>
<p><button type="submit">Verify</button></p>`;
}
