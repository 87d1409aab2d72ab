import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponses } from '../../http/openapi.js';
import { PageQuery, pageOf } from '../../http/pagination.js';
import { DidParams, PersonaDidSummary, ProjectParams, Submission, SubmitOperation } from './schemas.js';
import type { PersonaService } from './service.js';

/**
 * A project's did:persona DIDs: submit client-signed operations to the ledger, list the DIDs.
 * Resolution is public, at /1.0/identifiers/{did}. Thin: parse, call the service (it authorizes), reply.
 */
export const personaRoutes: FastifyPluginAsyncTypebox<{ persona: PersonaService }> = async (
  app,
  { persona },
) => {
  const tags = ['dids'];
  const description =
    '201 once the entry is in the ledger (with its index), 202 if it is committed but not integrated ' +
    'yet. 400: malformed, badly signed or unauthorized operation; 409: it does not extend the current ' +
    'head (a fork, a concurrent submission, a deactivated DID, a pending recovery).';

  app.post(
    '/v1/projects/:projectId/dids',
    {
      schema: {
        tags,
        summary: 'Create a did:persona DID from a client-signed genesis operation (developer and above)',
        description,
        params: ProjectParams,
        body: SubmitOperation,
        response: { 201: Submission, 202: Submission, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const submitted = await persona.create(
        request.principal,
        request.params.projectId,
        request.body.operation,
      );
      return reply.code(submitted.ledgerIndex === null ? 202 : 201).send(submitted);
    },
  );

  app.post(
    '/v1/projects/:projectId/dids/:did/operations',
    {
      schema: {
        tags,
        summary: 'Append a client-signed operation to a did:persona DID (developer and above)',
        description,
        params: DidParams,
        body: SubmitOperation,
        response: { 201: Submission, 202: Submission, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { projectId, did } = request.params;
      const submitted = await persona.append(request.principal, projectId, did, request.body.operation);
      return reply.code(submitted.ledgerIndex === null ? 202 : 201).send(submitted);
    },
  );

  app.get(
    '/v1/projects/:projectId/dids',
    {
      schema: {
        tags,
        summary: "List a project's did:persona DIDs",
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: pageOf(PersonaDidSummary), ...ProblemResponses },
      },
    },
    async (request) => persona.list(request.principal, request.params.projectId, request.query),
  );
};
