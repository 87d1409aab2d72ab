import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RateLimitConfig } from '../../config.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import { ProjectParams } from '../tenancy/schemas.js';
import { lockedProblem } from './auth-routes.js';
import {
  CreationOptions,
  OwnPasskeyParams,
  Passkey,
  PasskeyList,
  PasskeySignIn,
  Reauthenticate,
  Reauthenticated,
  RegisterPasskey,
  RenamePasskey,
  RequestOptions,
  UserPasskeyParams,
} from './passkey-schemas.js';
import { ceremonyFailed, type PasskeyService } from './passkeys.js';
import { IdentityProblemResponses, SignedIn, UserParams } from './schemas.js';
import type { IdentityService } from './service.js';
import type { SessionAuth } from './session-auth.js';

const NoContent = Type.Null({ description: 'Done; no body.' });

/** The end-user passkey API: username-less sign-in and the signed-in user's own passkeys. */
export const passkeyRoutes: FastifyPluginAsyncTypebox<{
  passkeys: PasskeyService;
  identity: IdentityService;
  auth: SessionAuth;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}> = async (app, { passkeys, identity, auth, limiter, rateLimit }) => {
  limitPerAddress(app, limiter, rateLimit, 'identity');
  const tags = ['end-user auth'];

  app.post(
    '/p/:projectId/auth/passkey/options',
    {
      schema: {
        tags,
        summary: 'Start a username-less passkey sign-in: WebAuthn request options',
        params: ProjectParams,
        response: { 200: RequestOptions, ...IdentityProblemResponses },
      },
    },
    async (request) => {
      auth.checkSameOrigin(request);
      return passkeys.signInOptions(request.params.projectId);
    },
  );

  app.post(
    '/p/:projectId/auth/passkey',
    {
      schema: {
        tags,
        summary: 'Finish a passkey sign-in: a session with amr hwk (device-bound) or swk (synced), user, mfa',
        params: ProjectParams,
        body: PasskeySignIn,
        response: { 200: SignedIn, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      auth.checkSameOrigin(request);
      const { projectId } = request.params;
      const outcome = await passkeys.signIn(projectId, request.body.response, { ip: request.ip });
      if (outcome.status === 'locked') throw lockedProblem(outcome.retryAfterSeconds);
      if (outcome.status === 'failed') throw ceremonyFailed();
      // Already multi-factor: not scored, but remembered, so the next password sign-in knows this device.
      const deviceId = auth.deviceId(request);
      const { userId } = outcome.signed.session;
      if (await identity.rememberSignIn(projectId, userId, { ip: request.ip, deviceId })) {
        auth.setDeviceCookie(reply, projectId, deviceId);
      }
      auth.setCookie(reply, projectId, outcome.signed.token, outcome.signed.session.expiresAt);
      return { status: 'signed_in' as const, ...outcome.signed, mfaEnrollmentRequired: false };
    },
  );

  app.post(
    '/p/:projectId/account/reauthenticate',
    {
      schema: {
        tags,
        summary:
          'Confirm it is you (password, or a TOTP code for TOTP users): the session counts as recently authenticated, as adding a passkey needs',
        params: ProjectParams,
        body: Reauthenticate,
        response: { 200: Reauthenticated, ...IdentityProblemResponses },
      },
    },
    async (request) => {
      const session = await auth.require(request, request.params.projectId);
      const { amr, authTime } = await passkeys.reauthenticate(session, request.body);
      return { amr, authTime };
    },
  );

  app.post(
    '/p/:projectId/account/passkeys/options',
    {
      schema: {
        tags,
        summary:
          'Start registering a passkey: WebAuthn creation options (needs a session authenticated in the last 10 minutes)',
        params: ProjectParams,
        response: { 200: CreationOptions, ...IdentityProblemResponses },
      },
    },
    async (request) => passkeys.registrationOptions(await auth.require(request, request.params.projectId)),
  );

  app.post(
    '/p/:projectId/account/passkeys',
    {
      schema: {
        tags,
        summary: 'Finish registering a passkey, with a name',
        params: ProjectParams,
        body: RegisterPasskey,
        response: { 201: Passkey, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const session = await auth.require(request, request.params.projectId);
      const { name, response } = request.body;
      return reply.code(201).send(await passkeys.register(session, name.trim(), response));
    },
  );

  app.get(
    '/p/:projectId/account/passkeys',
    {
      schema: {
        tags,
        summary: "The signed-in user's passkeys",
        params: ProjectParams,
        response: { 200: PasskeyList, ...IdentityProblemResponses },
      },
    },
    async (request) => ({
      items: await passkeys.listOwn(await auth.require(request, request.params.projectId)),
    }),
  );

  app.patch(
    '/p/:projectId/account/passkeys/:passkeyId',
    {
      schema: {
        tags,
        summary: 'Rename one of your passkeys',
        params: OwnPasskeyParams,
        body: RenamePasskey,
        response: { 200: Passkey, ...IdentityProblemResponses },
      },
    },
    async (request) => {
      const session = await auth.require(request, request.params.projectId);
      return passkeys.renameOwn(session, request.params.passkeyId, request.body.name.trim());
    },
  );

  app.delete(
    '/p/:projectId/account/passkeys/:passkeyId',
    {
      schema: {
        tags,
        summary: 'Remove one of your passkeys',
        params: OwnPasskeyParams,
        response: { 204: NoContent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const session = await auth.require(request, request.params.projectId);
      await passkeys.deleteOwn(session, request.params.passkeyId);
      return reply.code(204).send(null);
    },
  );
};

/** The admin API of users' passkeys, for project API keys (users:read / users:write). */
export const passkeyAdminRoutes: FastifyPluginAsyncTypebox<{ passkeys: PasskeyService }> = async (
  app,
  { passkeys },
) => {
  const tags = ['users'];

  app.get(
    '/v1/projects/:projectId/users/:userId/passkeys',
    {
      schema: {
        tags,
        summary: "A user's passkeys",
        params: UserParams,
        response: { 200: PasskeyList, ...IdentityProblemResponses },
      },
    },
    async (request) => ({
      items: await passkeys.listForUser(request.principal, request.params.projectId, request.params.userId),
    }),
  );

  app.delete(
    '/v1/projects/:projectId/users/:userId/passkeys/:passkeyId',
    {
      schema: {
        tags,
        summary: "Remove a user's passkey (a lost device)",
        params: UserPasskeyParams,
        response: { 204: NoContent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const { projectId, userId, passkeyId } = request.params;
      await passkeys.deleteForUser(request.principal, projectId, userId, passkeyId);
      return reply.code(204).send(null);
    },
  );
};
