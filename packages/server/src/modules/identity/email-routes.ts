import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RateLimitConfig } from '../../config.js';
import { Problem } from '../../http/problem.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import { ProjectParams } from '../tenancy/schemas.js';
import type { TenancyService } from '../tenancy/service.js';
import type { EmailCodes } from './email-codes.js';
import {
  EMAIL_ACCEPTED,
  EmailAccepted,
  EmailCodeBody,
  EmailSent,
  EmailStart,
  EmailVerified,
  EmailVerify,
  RegistrationConfirm,
} from './email-schemas.js';
import { secondFactorUnavailableProblem } from './risk-gate.js';
import { IdentityProblemResponses, MfaRequired, SignedIn, User } from './schemas.js';
import type { IdentityService } from './service.js';
import type { SessionAuth } from './session-auth.js';

export function invalidEmailCode(): Problem {
  return new Problem('unauthorized', 'The code is wrong, expired or was already used.', {
    extensions: { code: 'invalid_code' },
  });
}

function emailSignInOff(): Problem {
  return new Problem('forbidden', 'This project does not allow email sign-in.', {
    extensions: { code: 'email_sign_in_disabled' },
  });
}

function invalidConfirmation(): Problem {
  return new Problem('unauthorized', 'The code or the password is wrong, or the code expired or was used.', {
    extensions: { code: 'invalid_code' },
  });
}

/**
 * Sign-in by emailed code, and email verification for signed-in users. Public like the rest of the
 * end-user API, limited per client address.
 */
export const emailCodeRoutes: FastifyPluginAsyncTypebox<{
  identity: IdentityService;
  emailCodes: EmailCodes;
  tenancy: TenancyService;
  auth: SessionAuth;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}> = async (app, { identity, emailCodes, tenancy, auth, limiter, rateLimit }) => {
  limitPerAddress(app, limiter, rateLimit, 'identity');
  const tags = ['end-user auth'];

  const requireProject = async (projectId: string) => {
    if (!(await tenancy.projectExists(projectId))) throw new Problem('not-found', 'No such project.');
  };

  app.post(
    '/p/:projectId/auth/email/start',
    {
      schema: {
        tags,
        summary: 'Email a one-time sign-in code and link (the same answer for any address)',
        params: ProjectParams,
        body: EmailStart,
        response: { 202: EmailAccepted, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      auth.checkSameOrigin(request);
      emailCodes.requireEnabled();
      const { projectId } = request.params;
      await requireProject(projectId);
      if (!(await identity.emailSignInAllowed(projectId))) throw emailSignInOff();
      // A browser calling this gets the cookie that lets the link sign in with one click there only.
      const browser = emailCodes.browserCookie(projectId);
      await emailCodes.requestSignIn(projectId, request.body.email, request.ip, browser.token);
      return reply.code(202).header('set-cookie', browser.setCookie).send(EMAIL_ACCEPTED);
    },
  );

  app.post(
    '/p/:projectId/auth/email/verify',
    {
      schema: {
        tags,
        summary: 'Sign in with an emailed code: a session, or the second-factor challenge',
        params: ProjectParams,
        body: EmailVerify,
        response: { 200: Type.Union([SignedIn, MfaRequired]), ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      auth.checkSameOrigin(request);
      emailCodes.requireEnabled();
      const { projectId } = request.params;
      await requireProject(projectId);
      if (!(await identity.emailSignInAllowed(projectId))) throw emailSignInOff();
      const userId = await emailCodes.checkSignInCode(projectId, request.body.email, request.body.code);
      const deviceId = auth.deviceId(request);
      const outcome = userId
        ? await identity.emailFirstFactor(projectId, userId, { ip: request.ip, deviceId })
        : null;
      if (!outcome) throw invalidEmailCode();
      if (outcome.status === 'failed') throw secondFactorUnavailableProblem();
      if (await identity.usesAdaptiveMfa(projectId)) auth.setDeviceCookie(reply, projectId, deviceId);
      if (outcome.status === 'mfa_required') {
        return {
          status: 'mfa_required' as const,
          challenge: outcome.challenge,
          methods: outcome.methods,
          ...(outcome.reason ? { reason: outcome.reason } : {}),
        };
      }
      const restricted = outcome.mfaEnrollmentRequired;
      const signed = await identity.startSession(projectId, outcome.userId, outcome.amr, restricted);
      auth.setCookie(reply, projectId, signed.token, signed.session.expiresAt);
      return { status: 'signed_in' as const, ...signed, mfaEnrollmentRequired: restricted };
    },
  );

  app.post(
    '/p/:projectId/auth/register/confirm',
    {
      schema: {
        tags,
        summary: 'Confirm a registration with the emailed code and the password chosen when registering',
        params: ProjectParams,
        body: RegistrationConfirm,
        response: { 200: EmailVerified, ...IdentityProblemResponses },
      },
    },
    async (request) => {
      auth.checkSameOrigin(request);
      emailCodes.requireEnabled();
      const { projectId } = request.params;
      await requireProject(projectId);
      const userId = await emailCodes.pendingUserId(projectId, request.body.email);
      // The mailbox alone is not enough: whoever registered the address first chose the password, and
      // only they may activate it. A wrong password costs one of the code's attempts.
      const chosen = await identity.pendingPasswordMatches(projectId, userId, request.body.password);
      if (userId !== null && !chosen) await emailCodes.spendAttempt(projectId, userId, 'verify_email');
      const valid =
        userId !== null &&
        chosen &&
        (await emailCodes.checkEmailCode(projectId, userId, 'verify_email', request.body.code));
      if (!valid || !userId) throw invalidConfirmation();
      await identity.markEmailVerified(projectId, userId, 'email_code');
      return { status: 'verified' as const };
    },
  );

  app.post(
    '/p/:projectId/account/email/verification',
    {
      schema: {
        tags,
        summary: 'Email the signed-in user a code that verifies their address',
        params: ProjectParams,
        response: { 202: EmailSent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const session = await auth.require(request, request.params.projectId, { allowRestricted: true });
      emailCodes.requireEnabled();
      const user = await identity.account(session);
      if (!user.email) throw new Problem('conflict', 'The account has no email address.');
      if (user.emailVerified) throw new Problem('conflict', 'The email address is already verified.');
      const sent = await emailCodes.sendEmailCode(session.projectId, session.userId, 'verify_email', {
        ip: request.ip,
      });
      if (!sent) {
        throw new Problem('rate-limited', 'A code was sent recently; wait a minute and try again.', {
          headers: { 'retry-after': '60' },
          extensions: { code: 'email_rate_limited', retryAfterSeconds: 60 },
        });
      }
      return reply.code(202).send({ status: 'sent' as const });
    },
  );

  app.post(
    '/p/:projectId/account/email/verification/confirm',
    {
      schema: {
        tags,
        summary: 'Confirm the emailed verification code: the address is verified',
        params: ProjectParams,
        body: EmailCodeBody,
        response: { 200: User, ...IdentityProblemResponses },
      },
    },
    async (request) => {
      const session = await auth.require(request, request.params.projectId, { allowRestricted: true });
      emailCodes.requireEnabled();
      const { projectId, userId } = session;
      if (!(await emailCodes.checkEmailCode(projectId, userId, 'verify_email', request.body.code))) {
        throw invalidEmailCode();
      }
      await identity.markEmailVerified(projectId, userId, 'email_code');
      return identity.account(session);
    },
  );
};
