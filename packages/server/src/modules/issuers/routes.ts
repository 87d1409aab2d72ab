import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RateLimitConfig } from '../../config.js';
import { ProblemResponses } from '../../http/openapi.js';
import { PageQuery, pageOf } from '../../http/pagination.js';
import { Problem } from '../../http/problem.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import { CreateIssuer, Issuer, IssuerParams, ProjectParams, PublicIssuerParams } from './schemas.js';
import type { IssuersService } from './service.js';

/** A project's issuers: create, list, get. Thin: parse, call the service (it authorizes), reply. */
export const issuerRoutes: FastifyPluginAsyncTypebox<{ issuers: IssuersService }> = async (
  app,
  { issuers },
) => {
  const tags = ['issuers'];

  app.post(
    '/v1/projects/:projectId/issuers',
    {
      schema: {
        tags,
        summary: 'Create an issuer: a DID and KeyStore keys for its suites (developer and above)',
        params: ProjectParams,
        body: CreateIssuer,
        response: { 201: Issuer, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await issuers.createIssuer(request.principal, request.params.projectId, request.body)),
  );

  app.get(
    '/v1/projects/:projectId/issuers',
    {
      schema: {
        tags,
        summary: "List a project's issuers",
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: pageOf(Issuer), ...ProblemResponses },
      },
    },
    async (request) => issuers.listIssuers(request.principal, request.params.projectId, request.query),
  );

  app.get(
    '/v1/projects/:projectId/issuers/:issuerId',
    {
      schema: {
        tags,
        summary: 'Get an issuer',
        params: IssuerParams,
        response: { 200: Issuer, ...ProblemResponses },
      },
    },
    async (request) =>
      issuers.getIssuer(request.principal, request.params.projectId, request.params.issuerId),
  );
};

/**
 * The did:web documents of the platform's issuers, public (`did:web:<host>:issuers:<id>` resolves to
 * `https://<host>/issuers/<id>/did.json`) and rate-limited per client address.
 */
export const issuerDocumentRoutes: FastifyPluginAsyncTypebox<{
  issuers: IssuersService;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}> = async (app, { issuers, limiter, rateLimit }) => {
  limitPerAddress(app, limiter, rateLimit, 'issuer-documents');

  app.get(
    '/issuers/:issuerId/did.json',
    {
      schema: {
        tags: ['issuers'],
        summary: "A did:web issuer's DID document",
        security: [],
        params: PublicIssuerParams,
        response: {
          200: Type.String({ description: 'The DID document (application/did+ld+json)' }),
          ...ProblemResponses,
        },
      },
    },
    async (request, reply) => {
      const document = await issuers.hostedDocument(request.params.issuerId);
      if (!document) throw new Problem('not-found', `No did:web issuer ${request.params.issuerId}.`);
      // Serialized here: Fastify serializes objects only for content types it knows to be JSON.
      return reply.type('application/did+ld+json').send(JSON.stringify(document));
    },
  );
};
