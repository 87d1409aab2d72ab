import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageQuery, pageOf } from '../../http/pagination.js';
import { ProjectParams } from '../tenancy/schemas.js';
import { RemovePasskeysQuery } from './passkey-schemas.js';
import {
  CreateUser,
  IdentityPolicy,
  IdentityProblemResponses,
  RevokedCount,
  Session,
  SetPassword,
  SignInList,
  UpdateUser,
  User,
  UserParams,
  UserQuery,
  UserSessionParams,
} from './schemas.js';
import type { IdentityService } from './service.js';

const NoContent = Type.Null({ description: 'Done; no body.' });

/** The admin API of end users and the identity policy, for project API keys. */
export const identityAdminRoutes: FastifyPluginAsyncTypebox<{ identity: IdentityService }> = async (
  app,
  { identity },
) => {
  const tags = ['users'];

  app.post(
    '/v1/projects/:projectId/users',
    {
      schema: {
        tags,
        summary: 'Create a user, optionally with an initial password',
        params: ProjectParams,
        body: CreateUser,
        response: { 201: User, ...IdentityProblemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await identity.createUser(request.principal, request.params.projectId, request.body)),
  );

  app.get(
    '/v1/projects/:projectId/users',
    {
      schema: {
        tags,
        summary: 'List users, filtered by email or username prefix and status',
        params: ProjectParams,
        querystring: UserQuery,
        response: { 200: pageOf(User), ...IdentityProblemResponses },
      },
    },
    async (request) => identity.listUsers(request.principal, request.params.projectId, request.query),
  );

  app.get(
    '/v1/projects/:projectId/users/:userId',
    {
      schema: {
        tags,
        summary: 'Get a user',
        params: UserParams,
        response: { 200: User, ...IdentityProblemResponses },
      },
    },
    async (request) => identity.getUser(request.principal, request.params.projectId, request.params.userId),
  );

  app.patch(
    '/v1/projects/:projectId/users/:userId',
    {
      schema: {
        tags,
        summary: 'Change a user: display name, email verification, status (disabling ends their sessions)',
        params: UserParams,
        body: UpdateUser,
        response: { 200: User, ...IdentityProblemResponses },
      },
    },
    async (request) =>
      identity.updateUser(request.principal, request.params.projectId, request.params.userId, request.body),
  );

  app.delete(
    '/v1/projects/:projectId/users/:userId',
    {
      schema: {
        tags,
        summary: 'Delete a user: erases their personal data and credentials, ends their sessions',
        params: UserParams,
        response: { 204: NoContent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      await identity.deleteUser(request.principal, request.params.projectId, request.params.userId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/projects/:projectId/users/:userId/sessions',
    {
      schema: {
        tags,
        summary: "List a user's live sessions",
        params: UserParams,
        querystring: PageQuery,
        response: { 200: pageOf(Session), ...IdentityProblemResponses },
      },
    },
    async (request) =>
      identity.listUserSessions(
        request.principal,
        request.params.projectId,
        request.params.userId,
        request.query,
      ),
  );

  app.get(
    '/v1/projects/:projectId/users/:userId/sign-ins',
    {
      schema: {
        tags,
        summary: "A user's recent sign-ins, as adaptive MFA remembers them",
        params: UserParams,
        response: { 200: SignInList, ...IdentityProblemResponses },
      },
    },
    async (request) => ({
      data: await identity.listUserSignIns(
        request.principal,
        request.params.projectId,
        request.params.userId,
      ),
    }),
  );

  app.delete(
    '/v1/projects/:projectId/users/:userId/sessions',
    {
      schema: {
        tags,
        summary: "End all of a user's sessions",
        params: UserParams,
        response: { 200: RevokedCount, ...IdentityProblemResponses },
      },
    },
    async (request) => ({
      revoked: await identity.revokeUserSessions(
        request.principal,
        request.params.projectId,
        request.params.userId,
      ),
    }),
  );

  app.delete(
    '/v1/projects/:projectId/users/:userId/sessions/:sessionId',
    {
      schema: {
        tags,
        summary: "End one of a user's sessions",
        params: UserSessionParams,
        response: { 204: NoContent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const { projectId, userId, sessionId } = request.params;
      await identity.revokeUserSession(request.principal, projectId, userId, sessionId);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/v1/projects/:projectId/users/:userId/password',
    {
      schema: {
        tags,
        summary:
          "Set or reset a user's password (policy-checked); ends all their sessions and, with removePasskeys, removes their passkeys",
        params: UserParams,
        body: SetPassword,
        response: { 204: NoContent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const { projectId, userId } = request.params;
      const { password, removePasskeys } = request.body;
      await identity.setPassword(request.principal, projectId, userId, password, { removePasskeys });
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/v1/projects/:projectId/users/:userId/mfa',
    {
      schema: {
        tags,
        summary: "Reset a user's TOTP, recovery codes and (unless removePasskeys=false) passkeys",
        params: UserParams,
        querystring: RemovePasskeysQuery(
          'Also remove the passkeys, which sign in as MFA and may be on the lost device. Default true.',
        ),
        response: { 204: NoContent, ...IdentityProblemResponses },
      },
    },
    async (request, reply) => {
      const { projectId, userId } = request.params;
      await identity.resetMfa(request.principal, projectId, userId, request.query);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/projects/:projectId/identity-policy',
    {
      schema: {
        tags,
        summary: "The project's identity policy (defaults until one is set)",
        params: ProjectParams,
        response: { 200: IdentityPolicy, ...IdentityProblemResponses },
      },
    },
    async (request) => identity.getPolicy(request.principal, request.params.projectId),
  );

  app.put(
    '/v1/projects/:projectId/identity-policy',
    {
      schema: {
        tags,
        summary: "Set the project's identity policy: registration, password and MFA rules, session timeouts",
        params: ProjectParams,
        body: IdentityPolicy,
        response: { 200: IdentityPolicy, ...IdentityProblemResponses },
      },
    },
    async (request) => identity.putPolicy(request.principal, request.params.projectId, request.body),
  );
};
