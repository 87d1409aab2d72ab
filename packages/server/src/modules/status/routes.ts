import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RateLimitConfig } from '../../config.js';
import { ProblemResponses } from '../../http/openapi.js';
import { Problem } from '../../http/problem.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import {
  StatusIssuerParams,
  StatusListParams,
  UpdateStatusRequest,
  UpdateStatusResponse,
} from './schemas.js';
import { STATUS_LIST_MAX_AGE_SECONDS, type StatusService } from './service.js';

/** VC-API `POST {issuerBase}/credentials/status`: revoke, suspend, reinstate. Thin: the service authorizes. */
export const statusRoutes: FastifyPluginAsyncTypebox<{ status: StatusService }> = async (app, { status }) => {
  app.post(
    '/v1/issuers/:issuerId/credentials/status',
    {
      schema: {
        tags: ['credentials'],
        summary: 'Revoke, suspend or reinstate a credential of the issuer (VC-API; developer and above)',
        params: StatusIssuerParams,
        body: UpdateStatusRequest,
        response: { 200: UpdateStatusResponse, ...ProblemResponses },
      },
    },
    async (request) => status.changeStatus(request.principal, request.params.issuerId, request.body),
  );
};

/**
 * The signed BitstringStatusListCredentials, public and rate-limited per client address, cacheable for
 * `STATUS_LIST_MAX_AGE_SECONDS` with an `ETag` (a matching `If-None-Match` answers 304).
 */
export const statusListRoutes: FastifyPluginAsyncTypebox<{
  status: StatusService;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}> = async (app, { status, limiter, rateLimit }) => {
  limitPerAddress(app, limiter, rateLimit, 'status-lists');

  app.get(
    '/status/:issuerId/:purpose',
    {
      schema: {
        tags: ['credentials'],
        summary: "An issuer's Bitstring Status List credential (revocation or suspension)",
        security: [],
        params: StatusListParams,
        response: {
          200: Type.String({ description: 'The signed BitstringStatusListCredential (JSON)' }),
          304: Type.Null({ description: 'Not modified (If-None-Match)' }),
          ...ProblemResponses,
        },
      },
    },
    async (request, reply) => {
      const { issuerId, purpose } = request.params;
      const publication = await status.publication(issuerId, purpose);
      if (!publication) throw new Problem('not-found', `No ${purpose} status list for issuer ${issuerId}.`);
      reply
        .header('cache-control', `public, max-age=${STATUS_LIST_MAX_AGE_SECONDS}`)
        .header('etag', publication.etag)
        .header('vary', 'accept');
      const match = request.headers['if-none-match'];
      if (match?.split(',').some((tag) => tag.trim() === publication.etag)) {
        return reply.code(304).send(null);
      }
      // application/vc (VCDM 2.0) when asked for by name; otherwise JSON-LD, which generic clients parse.
      const accept = request.headers.accept ?? '';
      const type = /(^|,)\s*application\/vc\s*(;|,|$)/i.test(accept)
        ? 'application/vc'
        : 'application/ld+json';
      // Serialized here: Fastify serializes objects only for content types it knows to be JSON.
      return reply.type(type).send(publication.body);
    },
  );
};
