import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { RateLimitConfig } from '../../config.js';
import { ProblemResponses } from '../../http/openapi.js';
import { Problem } from '../../http/problem.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import { ClientSession, DocumentParams, DocumentUpload, Submitted, UploadedDocument } from './schemas.js';
import type { KycService } from './service.js';

/** A sealed document of up to 10 MiB, base64url-encoded in JSON. */
const UPLOAD_BODY_LIMIT = 15 * 1024 * 1024;

function clientToken(request: FastifyRequest): string {
  const match = /^Bearer (vct_[A-Za-z0-9_-]{43})$/.exec(request.headers.authorization ?? '');
  if (!match)
    throw new Problem('unauthorized', 'Send the session’s client token: Authorization: Bearer vct_….');
  return match[1] as string;
}

/**
 * The end user's capture client: authenticated by the session's client token (not an API key), rate
 * limited per address. It reads what to upload and the key to seal it to, uploads ciphertext, submits.
 */
export const kycClientRoutes: FastifyPluginAsyncTypebox<{
  kyc: KycService;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}> = async (app, { kyc, limiter, rateLimit }) => {
  limitPerAddress(app, limiter, rateLimit, 'verification-client');
  const tags = ['verification client'];
  const security = [{ clientToken: [] }];

  app.get(
    '/v1/verification-client/session',
    {
      schema: {
        tags,
        security,
        summary: 'The session the client token is for: checks, documents to upload, the key to seal them to',
        response: { 200: ClientSession, ...ProblemResponses },
      },
    },
    async (request) => kyc.clientSession(clientToken(request)),
  );

  app.put(
    '/v1/verification-client/documents/:kind',
    {
      bodyLimit: UPLOAD_BODY_LIMIT,
      schema: {
        tags,
        security,
        summary: 'Upload one document, sealed in the client; a new upload of the same kind replaces it',
        description:
          'The server checks the sealed key is addressed to the project’s key and stores the ciphertext; it never ' +
          'sees the document until a provider needs it (then only in memory).',
        params: DocumentParams,
        body: DocumentUpload,
        response: { 201: UploadedDocument, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await kyc.upload(clientToken(request), request.params.kind, request.body)),
  );

  app.post(
    '/v1/verification-client/submit',
    {
      schema: {
        tags,
        security,
        summary: 'Submit the uploaded documents; processing continues in the background (202)',
        response: { 202: Submitted, ...ProblemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await kyc.submit(clientToken(request))),
  );
};
