import { hiddenField } from '../../../http/pages/forms.js';
import { html, type SafeHtml } from '../../../http/pages/html.js';
import { qrCodeSvg } from '../../../http/pages/qr-code.js';

/**
 * The key of a TOTP enrollment (as a QR code to scan, an otpauth:// link, and base32 text to type in) and
 * the form that confirms it with a first code; shared by the account pages and the OIDC sign-in.
 */
export function enrollTotpForm(
  enrollment: { otpauthUri: string; secret: string },
  target: { action: string; csrf: string },
): SafeHtml {
  return html`<p>Add this key to your authenticator app, then enter the code it shows.</p>
<p>${qrCodeSvg(enrollment.otpauthUri, 'QR code of the key, to scan with your authenticator app')}</p>
<p><a href="${enrollment.otpauthUri}">Open in your authenticator app</a></p>
<p><label for="secret">Key for manual entry</label><br>
<input id="secret" readonly value="${enrollment.secret}" size="40"></p>
<form method="post" action="${target.action}">
${hiddenField('csrf', target.csrf)}
<p><label for="code">Authentication code</label><br>
<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required></p>
<p><button type="submit">Turn on</button></p>
</form>`;
}

/** Recovery codes, shown once: after an enrollment or a regeneration. */
export function recoveryCodesList(codes: string[]): SafeHtml {
  return html`<p>Each code signs you in once if you lose your authenticator app. They are shown only now: store them somewhere safe.</p>
<ul>
${codes.map((code) => html`<li><code>${code}</code></li>\n`)}
</ul>`;
}
