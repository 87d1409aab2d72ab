import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { RateLimitConfig } from '../../config.js';
import { PageQuery, pageOf } from '../../http/pagination.js';
import { Problem } from '../../http/problem.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import { ProjectParams } from '../tenancy/schemas.js';
import type { TenancyService } from '../tenancy/service.js';
import type { EmailCodes } from './email-codes.js';
import { REGISTRATION_ACCEPTED, RegistrationAccepted } from './email-schemas.js';
import { RemovePasskeysQuery } from './passkey-schemas.js';
import { secondFactorUnavailableProblem } from './risk-gate.js';
import {
  ChangePassword,
  IdentityProblemResponses,
  Login,
  LoginSecondFactor,
  MfaRequired,
  OwnSessionParams,
  RecoveryCodes,
  Register,
  RevokedCount,
  Session,
  SignedIn,
  TotpCodeBody,
  TotpEnrollment,
  User,
} from './schemas.js';
import type { IdentityService, SignedInSession } from './service.js';
import type { SessionAuth } from './session-auth.js';

const NoContent = Type.Null({ description: 'Done; no body.' });

export function lockedProblem(retryAfterSeconds: number): Problem {
  return new Problem('rate-limited', `Too many failed sign-ins; retry in ${retryAfterSeconds} s.`, {
    headers: { 'retry-after': String(retryAfterSeconds) },
    extensions: { code: 'locked', retryAfterSeconds },
  });
}

/**
 * The end-user API of a project: public (no API key), limited per client address, the session carried by
 * the HttpOnly cookie or as a bearer token.
 */
export const identityAuthRoutes: FastifyPluginAsyncTypebox<{
  identity: IdentityService;
  tenancy: TenancyService;
  auth: SessionAuth;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
  /** Mails the codes of registrations that verify email. */
  emailCodes: EmailCodes;
}> = async (app, { identity, tenancy, auth, limiter, rateLimit, emailCodes }) => {
  limitPerAddress(app, limiter, rateLimit, 'identity');
  const tags = ['end-user auth'];

  const requireProject = async (projectId: string) => {
    if (!(await tenancy.projectExists(projectId))) throw new Problem('not-found', 'No such project.');
  };
  const signedIn = (reply: FastifyReply, projectId: string, signed: SignedInSession, restricted: boolean) => {
    auth.setCookie(reply, projectId, signed.token, signed.session.expiresAt);
    return { status: 'signed_in' as const, ...signed, mfaEnrollmentRequired: restricted };
  };

  app.post(
    '/p/:projectId/auth/register',
    {
      schema: {
        tags,
        summary: 'Register an account (when the project allows self-registration)',
        params: ProjectParams,
        body: Register,
        response: { 201: User, 202: RegistrationAccepted, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      auth.checkSameOrigin(request);
      const { projectId } = request.params;
      if (await identity.registrationVerifiesEmail(projectId)) {
        emailCodes.requireEnabled();
        const registered = await identity.registerPending(projectId, request.body);
        emailCodes.afterRegistration(projectId, registered, request.ip);
        return reply.code(202).send(REGISTRATION_ACCEPTED);
      }
      return reply.code(201).send(await identity.register(projectId, request.body));
    },
  );

  app.post(
    '/p/:projectId/auth/login',
    {
      schema: {
        tags,
        summary: 'Sign in with a password: a session, or a challenge for the second factor',
        params: ProjectParams,
        body: Login,
        response: { 200: Type.Union([SignedIn, MfaRequired]), ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      auth.checkSameOrigin(request);
      const { projectId } = request.params;
      await requireProject(projectId);
      const deviceId = auth.deviceId(request);
      const outcome = await identity.authenticate(projectId, request.body, { ip: request.ip, deviceId });
      if (
        (outcome.status === 'ok' || outcome.status === 'mfa_required') &&
        (await identity.usesAdaptiveMfa(projectId))
      ) {
        auth.setDeviceCookie(reply, projectId, deviceId);
      }
      switch (outcome.status) {
        case 'locked':
          throw lockedProblem(outcome.retryAfterSeconds);
        case 'failed':
          if (outcome.reason === 'second_factor_unavailable') throw secondFactorUnavailableProblem();
          throw outcome.reason === 'disabled'
            ? new Problem('forbidden', 'This account is disabled.', {
                extensions: { code: 'account_disabled' },
              })
            : new Problem('unauthorized', 'The identifier or the password is wrong.', {
                extensions: { code: 'invalid_credentials' },
              });
        case 'mfa_required':
          return {
            status: 'mfa_required' as const,
            challenge: outcome.challenge,
            methods: outcome.methods,
            ...(outcome.reason ? { reason: outcome.reason } : {}),
          };
        case 'ok': {
          const restricted = outcome.mfaEnrollmentRequired;
          const signed = await identity.startSession(projectId, outcome.userId, outcome.amr, restricted);
          return signedIn(reply, projectId, signed, restricted);
        }
      }
    },
  );

  app.post(
    '/p/:projectId/auth/login/totp',
    {
      schema: {
        tags,
        summary: 'Finish a sign-in with a TOTP code or a recovery code',
        params: ProjectParams,
        body: LoginSecondFactor,
        response: { 200: SignedIn, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      auth.checkSameOrigin(request);
      const { projectId } = request.params;
      const { challenge, code, recoveryCode, emailCode } = request.body;
      const given = [code, recoveryCode, emailCode].filter((value) => value !== undefined).length;
      if (given !== 1) {
        throw new Problem('validation-error', 'Send one of `code`, `recoveryCode` and `emailCode`.', {
          errors: [
            {
              in: 'body',
              pointer: '#/code',
              detail: 'exactly one of code, recoveryCode and emailCode is required',
            },
          ],
        });
      }
      const factor =
        code !== undefined
          ? { code }
          : emailCode !== undefined
            ? { emailCode }
            : { recoveryCode: recoveryCode as string };
      const deviceId = auth.deviceId(request);
      const outcome = await identity.verifySecondFactor(projectId, challenge, factor, {
        ip: request.ip,
        deviceId,
      });
      if (outcome.status === 'ok' && (await identity.usesAdaptiveMfa(projectId))) {
        auth.setDeviceCookie(reply, projectId, deviceId);
      }
      switch (outcome.status) {
        case 'locked':
          throw lockedProblem(outcome.retryAfterSeconds);
        case 'failed':
          throw outcome.reason === 'invalid_challenge'
            ? new Problem('unauthorized', 'The sign-in expired or failed too often; sign in again.', {
                extensions: { code: 'invalid_challenge' },
              })
            : new Problem('unauthorized', 'The code is wrong or was already used.', {
                extensions: { code: 'invalid_code' },
              });
        case 'ok':
          return signedIn(
            reply,
            projectId,
            await identity.startSession(projectId, outcome.userId, outcome.amr, false),
            false,
          );
      }
    },
  );

  app.post(
    '/p/:projectId/auth/logout',
    {
      schema: {
        tags,
        summary: 'Sign out of this session',
        params: ProjectParams,
        response: { 204: NoContent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const session = await auth.require(request, request.params.projectId, { allowRestricted: true });
      await identity.signOut(session);
      auth.clearCookie(reply, request.params.projectId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/p/:projectId/account',
    {
      schema: {
        tags,
        summary: 'The signed-in user',
        params: ProjectParams,
        response: { 200: User, ...IdentityProblemResponses },
      },
    },
    async (request) =>
      identity.account(await auth.require(request, request.params.projectId, { allowRestricted: true })),
  );

  app.post(
    '/p/:projectId/account/password',
    {
      schema: {
        tags,
        summary: 'Change the password; other sessions are signed out',
        params: ProjectParams,
        body: ChangePassword,
        response: { 204: NoContent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const session = await auth.require(request, request.params.projectId);
      await identity.changePassword(session, request.body.currentPassword, request.body.newPassword);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/p/:projectId/account/sessions',
    {
      schema: {
        tags,
        summary: "List the user's live sessions",
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: pageOf(Session), ...IdentityProblemResponses },
      },
    },
    async (request) => {
      const session = await auth.require(request, request.params.projectId);
      return identity.sessions.list(session.projectId, session.userId, request.query, session.id);
    },
  );

  app.delete(
    '/p/:projectId/account/sessions/:sessionId',
    {
      schema: {
        tags,
        summary: 'Revoke one of the user’s sessions',
        params: OwnSessionParams,
        response: { 204: NoContent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const session = await auth.require(request, request.params.projectId);
      await identity.revokeOwnSession(session, request.params.sessionId);
      if (request.params.sessionId === session.id) auth.clearCookie(reply, request.params.projectId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/p/:projectId/account/sessions/revoke-all',
    {
      schema: {
        tags,
        summary:
          'Sign out everywhere, this session included; with removePasskeys=true, remove your passkeys too',
        params: ProjectParams,
        querystring: RemovePasskeysQuery(
          "Also remove all your passkeys (one may be an intruder's). Default false.",
        ),
        response: { 200: RevokedCount, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const session = await auth.require(request, request.params.projectId, { allowRestricted: true });
      const revoked = await identity.revokeOwnSessions(session, request.query);
      auth.clearCookie(reply, request.params.projectId);
      return { revoked };
    },
  );

  app.post(
    '/p/:projectId/account/totp',
    {
      schema: {
        tags,
        summary: 'Start TOTP enrollment: a new secret, shown once',
        params: ProjectParams,
        response: { 200: TotpEnrollment, ...IdentityProblemResponses },
      },
    },
    async (request) =>
      identity.beginTotp(await auth.require(request, request.params.projectId, { allowRestricted: true })),
  );

  app.post(
    '/p/:projectId/account/totp/confirm',
    {
      schema: {
        tags,
        summary: 'Confirm TOTP enrollment with a first code; returns the recovery codes, shown once',
        params: ProjectParams,
        body: TotpCodeBody,
        response: { 200: RecoveryCodes, ...IdentityProblemResponses },
      },
    },
    async (request) => {
      const session = await auth.require(request, request.params.projectId, { allowRestricted: true });
      return { recoveryCodes: await identity.confirmTotp(session, request.body.code) };
    },
  );

  app.post(
    '/p/:projectId/account/totp/recovery-codes',
    {
      schema: {
        tags,
        summary: 'Replace the recovery codes (needs a current TOTP code)',
        params: ProjectParams,
        body: TotpCodeBody,
        response: { 200: RecoveryCodes, ...IdentityProblemResponses },
      },
    },
    async (request) => {
      const session = await auth.require(request, request.params.projectId);
      return { recoveryCodes: await identity.regenerateRecoveryCodes(session, request.body.code) };
    },
  );

  app.post(
    '/p/:projectId/account/totp/disable',
    {
      schema: {
        tags,
        summary: 'Turn TOTP off (needs a current TOTP code; refused when the project requires MFA)',
        params: ProjectParams,
        body: TotpCodeBody,
        response: { 204: NoContent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const session = await auth.require(request, request.params.projectId);
      await identity.disableTotp(session, request.body.code);
      return reply.code(204).send(null);
    },
  );
};
