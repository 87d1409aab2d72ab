import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProblemResponses } from '../../http/openapi.js';
import { pageOf } from '../../http/pagination.js';
import {
  CancelBody,
  CreatedSession,
  CreateProvider,
  CreateSession,
  DecisionBody,
  GetQuery,
  History,
  ListQuery,
  ProjectParams,
  Provider,
  ProviderParams,
  ReversalBody,
  Session,
  SessionParams,
  Settings,
  SettingsUpdate,
  UpdateProvider,
} from './schemas.js';
import type { KycService } from './service.js';
import type { KycSettings } from './settings.js';

/** The project's side of verification: sessions, the review queue, settings and providers (API keys). */
export const kycRoutes: FastifyPluginAsyncTypebox<{ kyc: KycService; settings: KycSettings }> = async (
  app,
  { kyc, settings },
) => {
  const tags = ['verifications'];
  const base = '/v1/projects/:projectId/verifications';

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Create a verification session (verifications:write; developer and above)',
        description:
          'Returns the session and a client token for the end user’s capture client, which uploads the documents ' +
          'sealed to the project’s key and submits them. Status changes arrive as `verification.*` webhooks.',
        params: ProjectParams,
        body: CreateSession,
        response: { 201: CreatedSession, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await kyc.create(request.principal, request.params.projectId, request.body)),
  );

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'List verification sessions, oldest first (verifications:read; auditor and above)',
        params: ProjectParams,
        querystring: ListQuery,
        response: { 200: pageOf(Session), ...ProblemResponses },
      },
    },
    async (request) => kyc.list(request.principal, request.params.projectId, request.query),
  );

  app.get(
    `${base}/:sessionId`,
    {
      schema: {
        tags,
        summary: 'A verification session with its result and credential offer (verifications:read)',
        description:
          'With `wait`, a session the platform is still working on is answered once the work is done, so a ' +
          'backend that does not take webhooks needs one request instead of polling.',
        params: SessionParams,
        querystring: GetQuery,
        response: { 200: Session, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { wait } = request.query;
      if (!wait) return kyc.get(request.principal, request.params.projectId, request.params.sessionId);
      // The response closes early only when the client went away: stop waiting for it then.
      const gone = new AbortController();
      const onClose = () => gone.abort();
      reply.raw.once('close', onClose);
      try {
        return await kyc.get(request.principal, request.params.projectId, request.params.sessionId, {
          ms: wait * 1000,
          signal: gone.signal,
        });
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );

  app.get(
    `${base}/:sessionId/history`,
    {
      schema: {
        tags,
        summary: 'Every state change and provider call of a session (verifications:read)',
        params: SessionParams,
        response: { 200: History, ...ProblemResponses },
      },
    },
    async (request) => kyc.history(request.principal, request.params.projectId, request.params.sessionId),
  );

  app.post(
    `${base}/:sessionId/cancel`,
    {
      schema: {
        tags,
        summary: 'Cancel a session before it is submitted (verifications:write); 409 afterwards',
        params: SessionParams,
        body: CancelBody,
        response: { 200: Session, ...ProblemResponses },
      },
    },
    async (request) =>
      kyc.cancel(request.principal, request.params.projectId, request.params.sessionId, request.body.reason),
  );

  app.get(
    '/v1/projects/:projectId/verification-reviews',
    {
      schema: {
        tags,
        summary:
          'The manual review queue: sessions in needs_review not claimed by another reviewer (verifications:review)',
        params: ProjectParams,
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(Session), ...ProblemResponses },
      },
    },
    async (request) => kyc.queue(request.principal, request.params.projectId, request.query),
  );

  app.post(
    `${base}/:sessionId/claim`,
    {
      schema: {
        tags,
        summary: 'Claim a session in review for 30 minutes (verifications:review; reviewer and above)',
        params: SessionParams,
        response: { 200: Session, ...ProblemResponses },
      },
    },
    async (request) => kyc.claim(request.principal, request.params.projectId, request.params.sessionId),
  );

  app.post(
    `${base}/:sessionId/decision`,
    {
      schema: {
        tags,
        summary:
          'Decide a claimed session: approve, decline or request resubmission, with a reason (verifications:review)',
        params: SessionParams,
        body: DecisionBody,
        response: { 200: Session, ...ProblemResponses },
      },
    },
    async (request) =>
      kyc.decide(request.principal, request.params.projectId, request.params.sessionId, request.body),
  );

  app.post(
    `${base}/:sessionId/reversal`,
    {
      schema: {
        tags,
        summary: 'Reverse an approval: decline the session and revoke its credential (verifications:review)',
        params: SessionParams,
        body: ReversalBody,
        response: { 200: Session, ...ProblemResponses },
      },
    },
    async (request) =>
      kyc.reverse(request.principal, request.params.projectId, request.params.sessionId, request.body.reason),
  );

  app.get(
    '/v1/projects/:projectId/verification-settings',
    {
      schema: {
        tags,
        summary:
          'The project’s verification settings and encryption key (verification_settings:read; developer+)',
        params: ProjectParams,
        response: { 200: Settings, ...ProblemResponses },
      },
    },
    async (request) => settings.get(request.principal, request.params.projectId),
  );

  app.patch(
    '/v1/projects/:projectId/verification-settings',
    {
      schema: {
        tags,
        summary: 'Change the verification settings and routing rules (verification_settings:write; admin+)',
        params: ProjectParams,
        body: SettingsUpdate,
        response: { 200: Settings, ...ProblemResponses },
      },
    },
    async (request) => settings.update(request.principal, request.params.projectId, request.body),
  );

  app.get(
    '/v1/projects/:projectId/verification-providers',
    {
      schema: {
        tags,
        summary: 'The project’s provider configurations, never their secrets (verification_settings:read)',
        params: ProjectParams,
        response: { 200: Type.Object({ data: Type.Array(Provider) }), ...ProblemResponses },
      },
    },
    async (request) => ({ data: await settings.listProviders(request.principal, request.params.projectId) }),
  );

  app.post(
    '/v1/projects/:projectId/verification-providers',
    {
      schema: {
        tags,
        summary: 'Configure a provider: Onfido, Sumsub, Veriff, Persona or the built-in local one (admin+)',
        params: ProjectParams,
        body: CreateProvider,
        response: { 201: Provider, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await settings.createProvider(request.principal, request.params.projectId, request.body)),
  );

  app.patch(
    '/v1/projects/:projectId/verification-providers/:providerId',
    {
      schema: {
        tags,
        summary: 'Change a provider configuration; `secrets` replaces all of them (admin+)',
        params: ProviderParams,
        body: UpdateProvider,
        response: { 200: Provider, ...ProblemResponses },
      },
    },
    async (request) =>
      settings.updateProvider(
        request.principal,
        request.params.projectId,
        request.params.providerId,
        request.body,
      ),
  );

  app.delete(
    '/v1/projects/:projectId/verification-providers/:providerId',
    {
      schema: {
        tags,
        summary: 'Delete a provider configuration no routing rule names (admin+)',
        params: ProviderParams,
        response: { 204: Type.Null(), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await settings.deleteProvider(request.principal, request.params.projectId, request.params.providerId);
      return reply.code(204).send(null);
    },
  );
};
