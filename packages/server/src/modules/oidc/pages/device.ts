import { errorMessage, html, type Page, SafeHtml } from '../../../http/pages/html.js';

/** The action and xsrf token of oidc-provider's device form: the page renders its own accessible form. */
export function providerFormFields(providerForm: string): { action: string; xsrf: string } {
  const action = /action="([^"]+)"/.exec(providerForm)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(providerForm)?.[1];
  if (!action || !xsrf) throw new Error('oidc-provider device form without action or xsrf');
  return { action, xsrf };
}

const INPUT_ERRORS: Record<string, string> = {
  NoCodeError: 'Enter the code shown on your device.',
  NotFoundError: 'That code is not valid. Check it and try again.',
  ExpiredError: 'That code has expired. Start again on your device.',
  AlreadyUsedError: 'That code was already used. Start again on your device.',
  AbortedError: 'The sign-in was cancelled.',
};

/**
 * oidc-provider re-renders the page for a wrong, expired or used code with status 200; those are the
 * user's bad input (400), except a cancellation, which is an answer, not an error.
 */
function inputStatus(error: { name?: string; status?: number } | undefined): number {
  if (!error || error.name === 'AbortedError') return 200;
  return error.status !== undefined && error.status >= 400 ? error.status : 400;
}

/** Where the user types the code their device shows (`verification_uri`). */
export function deviceInputPage(providerForm: string, error?: { name?: string; status?: number }): Page {
  const { action, xsrf } = providerFormFields(providerForm);
  const message = error
    ? (INPUT_ERRORS[error.name ?? ''] ?? 'The code could not be checked. Try again.')
    : undefined;
  return {
    status: inputStatus(error),
    title: 'Connect a device',
    body: html`${errorMessage(message)}
<form method="post" action="${action}">
<input type="hidden" name="xsrf" value="${xsrf}">
<p><label for="user_code">Code shown on your device</label><br>
<input id="user_code" name="user_code" autocomplete="off" autocapitalize="characters" required maxlength="32"></p>
<p><button type="submit">Continue</button></p>
</form>`,
  };
}

/**
 * Confirms the device before signing in. `providerForm` is oidc-provider's hidden confirm form (action,
 * xsrf, the code, confirm=yes; it escapes the code); the buttons submit it, one with abort=yes.
 */
export function deviceConfirmPage(providerForm: string, clientName: string, userCode: string): Page {
  return {
    status: 200,
    title: 'Confirm the device',
    body: html`<p>${clientName} on a device is asking to sign in. Check that your device shows this code:</p>
<p><strong>${userCode}</strong></p>
<p>If you did not start this, or the code differs, cancel.</p>
${new SafeHtml(providerForm)}
<p><button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Cancel</button></p>`,
  };
}

export function deviceSuccessPage(clientName: string): Page {
  return {
    status: 200,
    title: 'Device connected',
    body: html`<p>${clientName} is signed in on your device. You can close this page.</p>`,
  };
}
