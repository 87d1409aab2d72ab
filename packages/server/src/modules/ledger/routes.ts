import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RateLimitConfig } from '../../config.js';
import { ProblemResponses } from '../../http/openapi.js';
import { Problem } from '../../http/problem.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import {
  ConsistencyProof,
  ConsistencyQuery,
  InclusionProof,
  InclusionQuery,
  TilePathParams,
} from './schemas.js';
import type { LedgerService } from './service.js';

const TEXT = 'text/plain; charset=utf-8';
const BYTES = 'application/octet-stream';
/** tlog-tiles: the checkpoint changes with every batch, so caches may keep it only briefly. */
const CHECKPOINT_CACHE = 'public, max-age=2';
const FULL_TILE_CACHE = 'public, max-age=31536000, immutable';
const PARTIAL_TILE_CACHE = 'public, max-age=60';

const toBase64 = (hash: Uint8Array) => Buffer.from(hash).toString('base64');

/**
 * The log's public read side (C2SP tlog-tiles layout under /ledger): anyone may fetch the checkpoint,
 * tiles and proofs and verify them without an account. Requests are rate-limited per client address.
 */
export const ledgerRoutes: FastifyPluginAsyncTypebox<{
  ledger: LedgerService;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}> = async (app, { ledger, limiter, rateLimit }) => {
  limitPerAddress(app, limiter, rateLimit, 'ledger');

  app.get(
    '/ledger/checkpoint',
    {
      schema: {
        tags: ['ledger'],
        summary: 'The latest checkpoint (C2SP tlog-checkpoint in a signed note)',
        description:
          'With witnesses configured (PERSONA_LEDGER_WITNESSES), the latest checkpoint their quorum ' +
          'cosigned, carrying their cosignature lines (404 until the first is published); otherwise the ' +
          'latest signed checkpoint.',
        security: [],
        produces: [TEXT],
        response: { 200: Type.String(), ...ProblemResponses },
      },
    },
    async (_request, reply) => {
      const checkpoint = await ledger.servedCheckpoint();
      if (checkpoint === undefined) {
        throw new Problem('not-found', 'No checkpoint has been cosigned by the witness quorum yet.');
      }
      return reply.type(TEXT).header('cache-control', CHECKPOINT_CACHE).send(checkpoint);
    },
  );

  app.get(
    '/ledger/verifier-key',
    {
      schema: {
        tags: ['ledger'],
        summary: "The checkpoint signer's public key, as a signed-note verifier key",
        security: [],
        produces: [TEXT],
        response: { 200: Type.String(), ...ProblemResponses },
      },
    },
    async (_request, reply) => reply.type(TEXT).send(`${ledger.verifierKey}\n`),
  );

  app.get(
    '/ledger/tile/*',
    {
      schema: {
        tags: ['ledger'],
        summary: 'A hash tile or an entry bundle (C2SP tlog-tiles)',
        description:
          '`tile/{L}/{N}[.p/{W}]` for hashes, `tile/entries/{N}[.p/{W}]` for entry bundles (each entry ' +
          'prefixed by its big-endian uint16 length). Full tiles never change.',
        security: [],
        params: TilePathParams,
        produces: [BYTES],
        response: { 200: Type.Unsafe({ type: 'string', format: 'binary' }), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const tile = await ledger.tile(`tile/${request.params['*']}`);
      if (!tile) throw new Problem('not-found', 'No such tile in the log (yet).');
      return reply
        .type(BYTES)
        .header('cache-control', tile.full ? FULL_TILE_CACHE : PARTIAL_TILE_CACHE)
        .send(Buffer.from(tile.body.buffer, tile.body.byteOffset, tile.body.byteLength));
    },
  );

  app.get(
    '/ledger/proofs/inclusion',
    {
      schema: {
        tags: ['ledger'],
        summary: 'Inclusion proof of an entry in the tree of a given size (RFC 9162 §2.1.3)',
        security: [],
        querystring: InclusionQuery,
        response: { 200: InclusionProof, ...ProblemResponses },
      },
    },
    async (request) => {
      const proof = await ledger.inclusionProof(request.query.index, request.query.size);
      return { index: proof.index, size: proof.size, hashes: proof.hashes.map(toBase64) };
    },
  );

  app.get(
    '/ledger/proofs/consistency',
    {
      schema: {
        tags: ['ledger'],
        summary: 'Consistency proof between two tree sizes (RFC 9162 §2.1.4)',
        security: [],
        querystring: ConsistencyQuery,
        response: { 200: ConsistencyProof, ...ProblemResponses },
      },
    },
    async (request) => {
      const proof = await ledger.consistencyProof(request.query.from, request.query.to);
      return { from: proof.from, to: proof.to, hashes: proof.hashes.map(toBase64) };
    },
  );
};
