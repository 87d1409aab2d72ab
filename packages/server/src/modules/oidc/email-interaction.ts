import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionDetails } from 'oidc-provider';
import type { Form } from '../../http/pages/fastify.js';
import { sendPage } from '../../http/pages/fastify.js';
import type { EmailCodes } from '../identity/email-codes.js';
import { codeField, emailField, interactionCookie, requestCodePage } from '../identity/email-page-routes.js';
import { type EmailForms, emailCodePage, emailStartPage } from '../identity/pages/email-code-pages.js';
import { SECOND_FACTOR_UNAVAILABLE } from '../identity/risk-gate.js';
import type { IdentityService } from '../identity/service.js';
import { type FormContext, loginPage, totpPage } from './pages/interaction-pages.js';

/** Email sign-in in an OIDC interaction: the mailer and the public URL (for the cookie's Secure flag). */
export interface InteractionEmail {
  codes: EmailCodes;
  publicUrl: string;
}

/** What the interaction routes lend the email pages: loading an interaction and finishing its login. */
export interface InteractionHelpers<
  L extends { projectId: string; form: FormContext; details: InteractionDetails },
> {
  load(request: FastifyRequest, reply: FastifyReply, prompt: 'login' | undefined): Promise<L>;
  signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    loaded: L,
    userId: string,
    amr: string[],
  ): Promise<unknown>;
  startEnrollment(reply: FastifyReply, loaded: L, userId: string, amr: string[]): Promise<unknown>;
  /** Adaptive MFA's device id of the browser (see SessionAuth.deviceId). */
  deviceId(request: FastifyRequest): string;
  /** Sets or refreshes the device cookie, in projects whose MFA is adaptive. */
  keepDevice(reply: FastifyReply, projectId: string, deviceId: string): Promise<void>;
}

/**
 * `/p/{projectId}/interaction/{uid}/email` and `/email/code`: "Email me a sign-in code" on the login
 * page. A code entered here finishes the interaction with amr `otp`; a TOTP user still gets the second
 * factor. The request also leaves a cookie naming the interaction, so the magic link opened in this
 * browser comes back here to finish it.
 */
export function emailInteractionRoutes<
  L extends { projectId: string; form: FormContext; details: InteractionDetails },
>(
  scope: FastifyInstance,
  identity: IdentityService,
  email: InteractionEmail,
  helpers: InteractionHelpers<L>,
): void {
  const base = '/p/:projectId/interaction/:uid';
  const opts = { schema: { hide: true } };
  const formsOf = (form: FormContext): EmailForms => ({
    action: form.base,
    csrf: form.csrf,
    lead: `to continue to ${form.clientName}`,
  });

  scope.get(`${base}/email`, opts, async (request, reply) => {
    const loaded = await helpers.load(request, reply, undefined);
    if (loaded.details.prompt.name !== 'login' || !loaded.form.emailSignIn) {
      return reply.redirect(loaded.form.base, 303);
    }
    return sendPage(reply, emailStartPage(formsOf(loaded.form)));
  });

  scope.post(`${base}/email`, opts, async (request, reply) => {
    const loaded = await helpers.load(request, reply, 'login');
    if (!loaded.form.emailSignIn) return sendPage(reply, loginPage(loaded.form));
    const body = request.body as Form | undefined;
    const { page, setCookie } = await requestCodePage(
      email.codes,
      loaded.projectId,
      formsOf(loaded.form),
      body,
      request.ip,
    );
    if (setCookie) {
      reply.header('set-cookie', interactionCookie(loaded.projectId, loaded.details.uid, email.publicUrl));
      reply.header('set-cookie', setCookie);
    }
    return sendPage(reply, page);
  });

  scope.post(`${base}/email/code`, opts, async (request, reply) => {
    const loaded = await helpers.load(request, reply, 'login');
    const form = request.body as Form | undefined;
    const forms = formsOf(loaded.form);
    const address = emailField(form);
    if (!address) return sendPage(reply, loginPage(loaded.form));
    const userId = await email.codes.checkSignInCode(loaded.projectId, address, codeField(form));
    const deviceId = helpers.deviceId(request);
    const outcome = userId
      ? await identity.emailFirstFactor(loaded.projectId, userId, { ip: request.ip, deviceId })
      : null;
    if (!outcome) {
      return sendPage(
        reply,
        emailCodePage(forms, address, {
          status: 401,
          error: 'The code is wrong, expired or was already used.',
        }),
      );
    }
    if (outcome.status === 'failed') {
      return sendPage(reply, loginPage(loaded.form, { status: 403, error: SECOND_FACTOR_UNAVAILABLE }));
    }
    await helpers.keepDevice(reply, loaded.projectId, deviceId);
    if (outcome.status === 'mfa_required') {
      const notice = outcome.reason ? { notice: outcome.reason } : {};
      return sendPage(reply, totpPage(loaded.form, { challenge: outcome.challenge, ...notice }));
    }
    if (outcome.mfaEnrollmentRequired)
      return helpers.startEnrollment(reply, loaded, outcome.userId, outcome.amr);
    return helpers.signIn(request, reply, loaded, outcome.userId, outcome.amr);
  });
}
