import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DID_JSON, DID_LD_JSON, didResolutionHttpStatus } from '@personachain/credentials';
import { Type } from 'typebox';
import type { RateLimitConfig } from '../../config.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import type { DidService } from './service.js';

/** DID Resolution's own media type for a resolution result (and its JSON-LD profile form). */
const RESOLUTION = 'application/did-resolution';
const RESOLUTION_LD = 'application/ld+json;profile="https://w3id.org/did-resolution"';
const RESOLUTION_CONTEXT = 'https://w3id.org/did-resolution/v1';

/** DID Resolution options (methods other than did:persona ignore them). */
const ResolutionQuery = Type.Object(
  {
    history: Type.Optional(
      Type.Boolean({ description: 'did:persona: add the operation history with inclusion proofs.' }),
    ),
    versionId: Type.Optional(Type.String({ maxLength: 128, description: 'did:persona: an operation hash.' })),
    versionTime: Type.Optional(
      Type.String({ maxLength: 64, description: 'did:persona: an XML Schema dateTime with a time zone.' }),
    ),
  },
  { additionalProperties: false },
);

/** What the client asked for: the whole resolution result (default) or only the document. */
function representation(accept: string | undefined): 'result' | typeof DID_JSON | typeof DID_LD_JSON | null {
  if (
    !accept ||
    accept.includes('*/*') ||
    accept.includes(RESOLUTION) ||
    accept.includes('w3id.org/did-resolution')
  ) {
    return 'result';
  }
  if (accept.includes(DID_LD_JSON) || accept.includes('application/ld+json')) return DID_LD_JSON;
  if (accept.includes(DID_JSON) || accept.includes('application/json')) return DID_JSON;
  return null;
}

/**
 * The DID Resolution HTTP(S) binding: `GET /1.0/identifiers/{did or DID URL}`. Public (DIDs are public
 * identifiers) and rate-limited per client address, since did:web resolution makes the server fetch.
 */
export const didRoutes: FastifyPluginAsyncTypebox<{
  dids: DidService;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}> = async (app, { dids, limiter, rateLimit }) => {
  limitPerAddress(app, limiter, rateLimit, 'dids');

  app.get(
    '/1.0/identifiers/*',
    {
      schema: {
        tags: ['dids'],
        summary: 'Resolve a DID, or dereference a DID URL (fragment: URL-encode `#` as %23)',
        description:
          'Accept `application/did-resolution` (default) for the resolution result, or ' +
          '`application/did+ld+json` / `application/did+json` for the DID document alone. Errors use the ' +
          'DID Resolution codes: invalidDid 400, notFound 404, representationNotSupported 406, deactivated ' +
          '410, methodNotSupported 501. Resolution options go in the query: for did:persona, ' +
          '`history=true` adds `operationHistory` (every operation with its ledger index, integration time ' +
          'and a c2sp.org/tlog-proof inclusion proof) and the signed `checkpoint` to the document metadata; ' +
          '`versionId` or `versionTime` resolve an earlier version.',
        security: [],
        params: Type.Object({ '*': Type.String({ minLength: 1, maxLength: 8192 }) }),
        querystring: ResolutionQuery,
        response: {
          '2xx': Type.String({ description: 'A DID resolution or dereferencing result, or a DID document' }),
          '4xx': Type.String(),
          '5xx': Type.String(),
        },
      },
    },
    async (request, reply) => {
      const didUrl = request.params['*'];
      const wanted = representation(request.headers.accept);
      if (didUrl.includes('#') || didUrl.includes('?') || /^did:[^/]+\//.test(didUrl)) {
        const result = await dids.dereference(didUrl);
        const status = didResolutionHttpStatus(result.dereferencingMetadata, result.contentMetadata);
        return reply
          .code(status)
          .type(RESOLUTION)
          .send(
            JSON.stringify({
              '@context': RESOLUTION_CONTEXT,
              didDocument: result.contentStream,
              didDereferencingMetadata: result.dereferencingMetadata,
              contentMetadata: result.contentMetadata,
            }),
          );
      }
      const result = await dids.resolve(didUrl, wanted === DID_JSON ? DID_JSON : DID_LD_JSON, request.query);
      if (wanted === null) {
        result.didResolutionMetadata = {
          error: 'representationNotSupported',
          errorMessage: `cannot answer with ${request.headers.accept}; ask for ${RESOLUTION}, ${DID_LD_JSON} or ${DID_JSON}`,
        };
        result.didDocument = null;
      }
      const status = didResolutionHttpStatus(result.didResolutionMetadata, result.didDocumentMetadata);
      if (wanted === 'result' || wanted === null || status !== 200 || !result.didDocument) {
        const type = request.headers.accept?.includes('profile=') ? RESOLUTION_LD : RESOLUTION;
        return reply
          .code(status)
          .type(type)
          .send(JSON.stringify({ '@context': RESOLUTION_CONTEXT, ...result }));
      }
      // Serialized here: Fastify serializes objects only for content types it knows to be JSON.
      return reply.code(200).type(wanted).send(JSON.stringify(result.didDocument));
    },
  );
};
