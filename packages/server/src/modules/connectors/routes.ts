import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProblemResponses } from '../../http/openapi.js';
import {
  Connector,
  ConnectorList,
  ConnectorPageQuery,
  ConnectorParams,
  ConnectorProblemResponses,
  CreateConnector,
  IssuedFromConnector,
  IssueFromConnector,
  ProjectParams,
  RunList,
  RunRequest,
  RunResult,
  UpdateConnector,
} from './schemas.js';
import type { ConnectorService } from './service.js';

/** Configurations, inputs and answers are small; a larger request is not a connector's. */
const BODY_LIMIT = 256 * 1024;

/**
 * HTTP connectors of a project: configure (connectors:write), read (connectors:read), run a test, a health
 * check or an issuance (connectors:run; issuing also needs credentials:issue on the issuer). Thin: the
 * service authorizes.
 */
export const connectorRoutes: FastifyPluginAsyncTypebox<{ connectors: ConnectorService }> = async (
  app,
  { connectors },
) => {
  const tags = ['connectors'];
  const base = '/v1/projects/:projectId/connectors';

  app.post(
    base,
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        tags,
        summary: 'Create a connector (connectors:write; developer and above)',
        description:
          'Templates, the URL origin and the JSONata expressions are checked now: a syntax error, an unknown ' +
          'secret or a URL to a private or loopback address (unless the operator trusts the host) is a 400 ' +
          'naming the field. Secrets are stored encrypted and never returned. See docs/connectors.md.',
        params: ProjectParams,
        body: CreateConnector,
        response: { 201: Connector, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const created = await connectors.create(request.principal, request.params.projectId, request.body);
      return reply.code(201).send(created);
    },
  );

  app.get(
    base,
    {
      schema: {
        tags,
        summary: "The project's connectors (connectors:read; auditor and above)",
        params: ProjectParams,
        querystring: ConnectorPageQuery,
        response: { 200: ConnectorList, ...ProblemResponses },
      },
    },
    async (request) => connectors.list(request.principal, request.params.projectId, request.query),
  );

  app.get(
    `${base}/:connectorId`,
    {
      schema: {
        tags,
        summary: 'A connector with its last health check and quota usage (connectors:read)',
        params: ConnectorParams,
        response: { 200: Connector, ...ProblemResponses },
      },
    },
    async (request) =>
      connectors.get(request.principal, request.params.projectId, request.params.connectorId),
  );

  app.patch(
    `${base}/:connectorId`,
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        tags,
        summary: 'Change a connector (connectors:write)',
        description:
          'Only the fields sent change; the result is checked as a whole, as on creation. `secrets` is ' +
          'merged: a value sets a secret, null removes it.',
        params: ConnectorParams,
        body: UpdateConnector,
        response: { 200: Connector, ...ProblemResponses },
      },
    },
    async (request) =>
      connectors.update(
        request.principal,
        request.params.projectId,
        request.params.connectorId,
        request.body,
      ),
  );

  app.delete(
    `${base}/:connectorId`,
    {
      schema: {
        tags,
        summary: 'Delete a connector with its run log (connectors:write)',
        params: ConnectorParams,
        response: { 204: Type.Null(), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await connectors.remove(request.principal, request.params.projectId, request.params.connectorId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:connectorId/test`,
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        tags,
        summary: 'Run a connector without issuing (connectors:run; developer and above)',
        description:
          'Sends the request and answers what the success rule and the mapping made of the response. A remote ' +
          'failure is an answer with `success: false` and a `reason`; input the templates cannot use is a 400; ' +
          "the connector's rate limit or quota is a 429 with Retry-After. The run counts against the quota.",
        params: ConnectorParams,
        body: RunRequest,
        response: { 200: RunResult, ...ConnectorProblemResponses },
      },
    },
    async (request) =>
      connectors.test(
        request.principal,
        request.params.projectId,
        request.params.connectorId,
        request.body.input,
      ),
  );

  app.post(
    `${base}/:connectorId/issue`,
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        tags,
        summary:
          'Run a connector and issue a credential with its claims (connectors:run + credentials:issue)',
        description:
          'The credential is VC 2.0: `type: [VerifiableCredential, <credential.type>]`, `credentialSubject` ' +
          'the mapped claims (with `id` = subjectId when given), issued by issuerId or the connector’s ' +
          'default issuer. A failed success rule or mapping is a 400 `credential-rejected`, an API that fails ' +
          'or times out a 503, both with `reason`; rate limit and quota a 429.',
        params: ConnectorParams,
        body: IssueFromConnector,
        response: { 201: IssuedFromConnector, ...ConnectorProblemResponses },
      },
    },
    async (request, reply) => {
      const issued = await connectors.issue(
        request.principal,
        request.params.projectId,
        request.params.connectorId,
        request.body,
      );
      return reply.code(201).send(issued);
    },
  );

  app.post(
    `${base}/:connectorId/health`,
    {
      schema: {
        tags,
        summary: 'Run the health check now (connectors:run)',
        description:
          'Sends healthCheck (healthy when it answers expectStatus) or else the main request with ' +
          'sampleInput (healthy when it succeeds); 400 when neither is configured. The result is kept and ' +
          'shown by GET.',
        params: ConnectorParams,
        response: { 200: Connector.properties.health, ...ConnectorProblemResponses },
      },
    },
    async (request) =>
      connectors.checkHealth(request.principal, request.params.projectId, request.params.connectorId),
  );

  app.get(
    `${base}/:connectorId/runs`,
    {
      schema: {
        tags,
        summary: "The connector's recent runs, newest first (connectors:read)",
        description:
          'Time, kind, HTTP status, duration, success and the failure reason of the last 500 runs; never ' +
          'input values or response bodies.',
        params: ConnectorParams,
        querystring: ConnectorPageQuery,
        response: { 200: RunList, ...ProblemResponses },
      },
    },
    async (request) =>
      connectors.runs(request.principal, request.params.projectId, request.params.connectorId, request.query),
  );
};
