import { hiddenField } from '../../../http/pages/forms.js';
import { html, type Page } from '../../../http/pages/html.js';
import { emailCodeForm } from '../../identity/pages/email-second-factor-pages.js';
import type { FormContext } from './interaction-pages.js';

/** Interaction pages: the code adaptive MFA emailed after a risky password sign-in. */
export function emailCodePage(
  form: FormContext,
  options: { challenge: string; status?: number; error?: string; notice?: string; retryAfter?: number },
): Page {
  return {
    status: options.status ?? 200,
    ...(options.retryAfter === undefined ? {} : { retryAfter: options.retryAfter }),
    title: "Confirm it's you",
    body: emailCodeForm(
      `${form.base}/totp`,
      html`${hiddenField('csrf', form.csrf)}${hiddenField('challenge', options.challenge)}`,
      options,
    ),
  };
}
