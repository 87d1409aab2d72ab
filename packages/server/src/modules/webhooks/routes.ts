import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProblemResponses } from '../../http/openapi.js';
import { PageQuery } from '../../http/pagination.js';
import {
  CreateEndpoint,
  Endpoint,
  EndpointList,
  EndpointParams,
  EndpointWithSecret,
  Message,
  MessageDetail,
  MessageList,
  MessageParams,
  MessageQuery,
  ProjectParams,
  RotateSecret,
  TestSent,
  UpdateEndpoint,
} from './schemas.js';
import type { WebhookService } from './service.js';

const NoContent = Type.Null({ description: 'Done; no body.' });

/** Webhook endpoints of a project and their delivery log. Thin: the service authorizes and acts. */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhookService }> = async (
  app,
  { webhooks },
) => {
  const tags = ['webhooks'];
  const base = '/v1/projects/:projectId/webhooks';

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Add a webhook endpoint (webhooks:write; a v1 secret is shown once)',
        description:
          'Events are signed per Standard Webhooks: `v1` (HMAC-SHA256, the default) answers with the ' +
          '`whsec_` secret, shown only now; `v1a` (Ed25519) answers with the `whpk_` public key. The URL ' +
          'must be https and must not name a private, loopback or link-local address.',
        params: ProjectParams,
        body: CreateEndpoint,
        response: { 201: EndpointWithSecret, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const created = await webhooks.createEndpoint(
        request.principal,
        request.params.projectId,
        request.body,
      );
      return reply.code(201).send(created);
    },
  );

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'List the project\u2019s webhook endpoints (webhooks:read)',
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: EndpointList, ...ProblemResponses },
      },
    },
    async (request) => webhooks.listEndpoints(request.principal, request.params.projectId, request.query),
  );

  app.get(
    `${base}/:endpointId`,
    {
      schema: {
        tags,
        summary: 'Get a webhook endpoint (webhooks:read; never its secret)',
        params: EndpointParams,
        response: { 200: Endpoint, ...ProblemResponses },
      },
    },
    async (request) =>
      webhooks.getEndpoint(request.principal, request.params.projectId, request.params.endpointId),
  );

  app.patch(
    `${base}/:endpointId`,
    {
      schema: {
        tags,
        summary:
          'Change a webhook endpoint\u2019s URL, filters, rate limit or description; enable or disable it',
        description:
          'Disabling cancels the pending messages; enabling again delivers new events only (replay ' +
          'canceled messages one by one).',
        params: EndpointParams,
        body: UpdateEndpoint,
        response: { 200: Endpoint, ...ProblemResponses },
      },
    },
    async (request) =>
      webhooks.updateEndpoint(
        request.principal,
        request.params.projectId,
        request.params.endpointId,
        request.body,
      ),
  );

  app.delete(
    `${base}/:endpointId`,
    {
      schema: {
        tags,
        summary: 'Delete a webhook endpoint with its messages (webhooks:write)',
        params: EndpointParams,
        response: { 204: NoContent, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await webhooks.deleteEndpoint(request.principal, request.params.projectId, request.params.endpointId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:endpointId/rotate-secret`,
    {
      schema: {
        tags,
        summary: 'Replace the signing key; old and new both sign during the overlap (webhooks:write)',
        description:
          'During the overlap `webhook-signature` carries two signatures, one per key, space-separated, so ' +
          'receivers verify with either. A v1 endpoint\u2019s new secret is shown only now.',
        params: EndpointParams,
        body: RotateSecret,
        response: { 200: EndpointWithSecret, ...ProblemResponses },
      },
      // The body is optional: a bare POST rotates with the default overlap.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) =>
      webhooks.rotateSecret(
        request.principal,
        request.params.projectId,
        request.params.endpointId,
        request.body.overlapSeconds,
      ),
  );

  app.post(
    `${base}/:endpointId/test`,
    {
      schema: {
        tags,
        summary: 'Send a `webhook.test` event to this endpoint (webhooks:write)',
        params: EndpointParams,
        response: { 202: TestSent, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const sent = await webhooks.sendTest(
        request.principal,
        request.params.projectId,
        request.params.endpointId,
      );
      return reply.code(202).send(sent);
    },
  );

  app.get(
    `${base}/:endpointId/messages`,
    {
      schema: {
        tags,
        summary: 'The endpoint\u2019s delivery log: its messages, newest first (webhooks:read)',
        params: EndpointParams,
        querystring: MessageQuery,
        response: { 200: MessageList, ...ProblemResponses },
      },
    },
    async (request) =>
      webhooks.listMessages(
        request.principal,
        request.params.projectId,
        request.params.endpointId,
        request.query,
      ),
  );

  app.get(
    `${base}/:endpointId/messages/:messageId`,
    {
      schema: {
        tags,
        summary: 'A message with its body and attempts (webhooks:read)',
        params: MessageParams,
        response: { 200: MessageDetail, ...ProblemResponses },
      },
    },
    async (request) =>
      webhooks.getMessage(
        request.principal,
        request.params.projectId,
        request.params.endpointId,
        request.params.messageId,
      ),
  );

  app.post(
    `${base}/:endpointId/messages/:messageId/replay`,
    {
      schema: {
        tags,
        summary: 'Send a message again soon, with the same webhook-id (webhooks:write)',
        description:
          'A finished message (succeeded, failed or canceled) gets one more attempt; a pending one is tried ' +
          'now instead of at its scheduled time. 409 while it is being sent or the endpoint is disabled.',
        params: MessageParams,
        response: { 202: Message, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const message = await webhooks.replay(
        request.principal,
        request.params.projectId,
        request.params.endpointId,
        request.params.messageId,
      );
      return reply.code(202).send(message);
    },
  );
};
