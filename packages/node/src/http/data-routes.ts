import { fromBase64Url } from '@personachain/crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  keyCommitment,
  MAX_COMMITMENT_SALT_BYTES,
  MIN_COMMITMENT_SALT_BYTES,
} from '../attestation/commitment.js';
import type { Entry, QuorumResult, WriteCapability } from '../types.js';
import { checkKey, parseTtl } from './keys.js';
import { BadHeaderError, checkProof, hasProof, parseCapability } from './ownership.js';
import {
  EMPTY,
  entryHeaders,
  HttpError,
  header,
  iso,
  proofHeaders,
  type RouteContext,
  sameOwner,
} from './request.js';

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const dataKey = (request: FastifyRequest) => checkKey((request.params as { '*': string })['*']);

/** `X-Compliance-Salt` → the key commitment the node keeps instead of the salt. */
function complianceCommitment(request: FastifyRequest, key: string): string | undefined {
  const saltHeader = header(request, 'x-compliance-salt');
  if (saltHeader === undefined) return undefined;
  let salt: Uint8Array;
  try {
    salt = fromBase64Url(saltHeader);
  } catch {
    throw new BadHeaderError('X-Compliance-Salt is not base64url');
  }
  if (salt.length < MIN_COMMITMENT_SALT_BYTES || salt.length > MAX_COMMITMENT_SALT_BYTES) {
    throw new BadHeaderError(
      `X-Compliance-Salt must encode ${MIN_COMMITMENT_SALT_BYTES} to ${MAX_COMMITMENT_SALT_BYTES} bytes`,
    );
  }
  return keyCommitment(salt, key);
}

/** `X-Read-Once: true|false` (absent: false). */
function readOnceHeader(request: FastifyRequest): boolean {
  const value = header(request, 'x-read-once');
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new BadHeaderError('X-Read-Once must be true or false');
}

/** A client PUT, validated, before it becomes an entry. */
interface Write {
  readonly key: string;
  readonly ttl: number;
  readonly body: Uint8Array;
  readonly capability: WriteCapability | undefined;
  readonly commitment: string | undefined;
  readonly readOnce: boolean;
}

/** PUT, GET, HEAD and DELETE of `/v1/data/{key}`. */
export function registerDataRoutes(app: FastifyInstance, context: RouteContext): void {
  const { config, store, cluster, metrics, replays } = context;

  /** The key's entry from this node, or from its replicas on a local miss. */
  const lookup = async (key: string) => store.get(key) ?? (await cluster.get(key));

  /** Throws unless the request proves it may change `entry` (409 for a PUT over a key without owner, else 403). */
  const requireOwner = (request: FastifyRequest, entry: Entry, body: Uint8Array) => {
    if (entry.capability === undefined) {
      throw new HttpError(
        request.method === 'PUT' ? 409 : 403,
        request.method === 'PUT' ? 'conflict' : 'forbidden',
        'this key was written without a write capability and cannot be changed until it expires',
      );
    }
    const proof = proofHeaders(request);
    if (!hasProof(proof))
      throw new HttpError(403, 'forbidden', 'this key is owner-bound: prove the write capability');
    const outcome = checkProof(
      entry.capability,
      proof,
      { method: request.method, path: entry.key, body },
      replays,
    );
    if (outcome === 'replayed') throw new HttpError(403, 'forbidden', 'this signature was already used');
    if (outcome !== 'valid')
      throw new HttpError(403, 'forbidden', 'the ownership proof is not valid for this key');
  };

  /** Stores the write on this node as the version after `held`; throws when the store refuses it. */
  const accept = (write: Write, held: Entry | undefined): Entry => {
    const now = Date.now();
    // Each accepted write must be a newer version than the one it replaces, whatever the clocks did.
    const createdAt = held !== undefined && held.createdAt >= now ? held.createdAt + 1 : now;
    const entry: Entry = {
      key: write.key,
      value: write.body,
      createdAt,
      expiresAt: createdAt + write.ttl * 1000,
      ttlSeconds: write.ttl,
      origin: cluster.nodeId,
      capability: held?.capability ?? write.capability,
      keyCommitment: write.commitment ?? held?.keyCommitment,
      ...(write.readOnce ? { readOnce: true } : {}),
    };
    const outcome = store.apply(entry);
    if (outcome === 'full')
      throw new HttpError(507, 'insufficient storage', "the node's memory budget is full");
    if (outcome !== 'stored') {
      throw new HttpError(409, 'conflict', 'a newer write or a deletion of this key is already held');
    }
    return entry;
  };

  /** 201 once a majority of the replicas hold the write, 202 when it is stored here but short of it. */
  const answer = (reply: FastifyReply, entry: Entry, quorum: QuorumResult) => {
    const reached = quorum.acknowledged >= quorum.required;
    (reached ? metrics.quorumSuccesses : metrics.quorumTimeouts).inc();
    const expiresAt = iso(entry.expiresAt);
    return reply
      .code(reached ? 201 : 202)
      .headers({
        'x-expires-at': expiresAt,
        'x-replicas-acknowledged': String(quorum.acknowledged),
      })
      .send({
        key: entry.key,
        created_at: iso(entry.createdAt),
        expires_at: expiresAt,
        ttl: entry.ttlSeconds,
        replicas: { acknowledged: quorum.acknowledged, required: quorum.required, total: quorum.replicas },
      });
  };

  app.put('/v1/data/*', async (request, reply) => {
    const key = dataKey(request);
    const query = request.query as Record<string, string | undefined>;
    const ttl = parseTtl(
      query.ttl ?? header(request, 'x-ttl'),
      config.defaultTtlSeconds,
      config.minTtlSeconds,
      config.maxTtlSeconds,
    );
    const body = (request.body as Buffer | undefined) ?? EMPTY;
    const capabilityHeader = header(request, 'x-write-capability');
    const write: Write = {
      key,
      ttl,
      body,
      capability: capabilityHeader === undefined ? undefined : parseCapability(capabilityHeader),
      commitment: complianceCommitment(request, key),
      readOnce: readOnceHeader(request),
    };

    // What the local store holds decides synchronously with the apply in `accept`, so two concurrent
    // creations through this node cannot both pass as "new".
    let held = store.get(key);
    if (held === undefined) {
      // A first write as far as this node knows; its replicas refuse it if they hold the key (this node
      // missed a write), and then it is judged against what they hold, so a stranger cannot claim it.
      const entry = accept(write, undefined);
      const placed = await cluster.create(entry, config.writeTimeoutMs);
      if (!('held' in placed)) return answer(reply, entry, placed);
      held = store.get(key) ?? placed.held;
    }
    if (held !== undefined) {
      requireOwner(request, held, body);
      if (write.capability !== undefined && !sameOwner(held.capability, write.capability)) {
        throw new HttpError(
          409,
          'conflict',
          'the write capability is registered by the first write and cannot change',
        );
      }
    }
    const entry = accept(write, held);
    return answer(reply, entry, await cluster.put(entry, config.writeTimeoutMs));
  });

  app.get('/v1/data/*', async (request, reply) => {
    const key = dataKey(request);
    const burn = (request.query as { burn?: string }).burn === 'true';
    const entry = burn ? await cluster.burn(key, config.writeTimeoutMs) : await lookup(key);
    if (entry === undefined) return reply.code(404).send();
    if (entry.readOnce && !burn) {
      throw new HttpError(409, 'conflict', 'this value is read-once: read it with ?burn=true');
    }
    entryHeaders(reply, entry, Date.now());
    return reply.header('content-type', 'application/octet-stream').send(asBuffer(entry.value));
  });

  app.head('/v1/data/*', async (request, reply) => {
    const entry = await lookup(dataKey(request));
    if (entry === undefined) return reply.code(404).send();
    entryHeaders(reply, entry, Date.now());
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(entry.value.length))
      .send();
  });

  app.delete('/v1/data/*', async (request, reply) => {
    const key = dataKey(request);
    const held = await lookup(key);
    if (held === undefined) return reply.code(404).send();
    requireOwner(request, held, EMPTY);
    const result = await cluster.delete(key, config.writeTimeoutMs);
    if (!result.existed) return reply.code(404).send();
    return reply.code(204).header('x-replicas-acknowledged', String(result.acknowledged)).send();
  });
}
