import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WriteCapability } from '../types.js';
import { BadHeaderError, checkProof, hashWriteToken, parsePublicKey } from './ownership.js';
import { EMPTY, HttpError, header, proofHeaders, type RouteContext } from './request.js';

const KEYS_PATH = '/v1/keys';
const MAX_LIST_LIMIT = 1000;
const DEFAULT_LIST_LIMIT = 100;

/** `GET /v1/keys`: REPRAM's listing, restricted to the keys whose capability the caller proves. */
export function registerKeysRoute(app: FastifyInstance, context: RouteContext): void {
  const { store, replays } = context;

  app.get(KEYS_PATH, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const prefix = query.prefix ?? '';
    const cursor = query.cursor ?? '';
    const limitText = query.limit ?? String(DEFAULT_LIST_LIMIT);
    if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_LIST_LIMIT) {
      throw new BadHeaderError(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
    }
    const limit = Number(limitText);
    const keys = store.ownedKeys(provenOwner(request), prefix, cursor);
    const page = keys.slice(0, limit);
    return reply.send({ keys: page, next_cursor: keys.length > limit ? (page.at(-1) ?? '') : '' });
  });

  /** The capability a key listing proves: only keys registered under it are listed. */
  const provenOwner = (request: FastifyRequest): WriteCapability => {
    const proof = proofHeaders(request);
    // Presenting the token is the proof.
    if (proof.token !== undefined) return { kind: 'token-sha256', hash: hashWriteToken(proof.token) };
    const publicKeyHeader = header(request, 'x-write-public-key');
    if (proof.signature === undefined || publicKeyHeader === undefined) {
      throw new HttpError(
        401,
        'unauthorized',
        'listing keys needs X-Write-Token, or X-Write-Public-Key with X-Write-Timestamp and X-Write-Signature',
      );
    }
    const capability: WriteCapability = { kind: 'ed25519', publicKey: parsePublicKey(publicKeyHeader) };
    const outcome = checkProof(capability, proof, { method: 'GET', path: KEYS_PATH, body: EMPTY }, replays);
    if (outcome !== 'valid') throw new HttpError(401, 'unauthorized', 'the ownership proof is not valid');
    return capability;
  };
}
