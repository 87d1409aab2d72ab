import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { Problem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { principalId: string; key: string; responseKey: Buffer };
  }
}

const HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** How long a key's first response is kept for replay. */
const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** A reservation whose request never finished (crash, dropped connection) is given up after this. */
const ABANDONED_AFTER_MS = 60_000;

/**
 * Stored responses are encrypted under a key derived from the caller's own bearer secret, which the
 * server does not keep: a replayed API-key creation still returns its secret, yet the database never
 * holds that secret in a readable form.
 */
function responseKey(bearerSecret: string, principalId: string, idempotencyKey: string): Buffer {
  return Buffer.from(
    hkdfSync(
      'sha256',
      bearerSecret,
      `${principalId}\n${idempotencyKey}`,
      'persona idempotent response v1',
      32,
    ),
  );
}

function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
}

function open(key: Buffer, sealed: string): string {
  const bytes = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString(
    'utf8',
  );
}

/** JSON with object keys sorted, so the same body sent with its fields in another order matches. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function requestHash(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method}\n${request.url}\n${canonicalJson(request.body)}`)
    .digest('hex');
}

/**
 * `Idempotency-Key` on POST: the first successful response for a key is stored (encrypted) and replayed
 * for the same request; the same key with a different request is 422; while the first is in flight, 409.
 * An error response is not kept (the key is released), so a corrected retry can use the same key.
 */
export function registerIdempotency(app: FastifyInstance, db: Kysely<Database>): void {
  const claim = async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers[HEADER];
    if (key === undefined) return;
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new Problem('validation-error', 'Idempotency-Key must be 1–255 visible ASCII characters.', {
        errors: [
          { in: 'headers', pointer: '#/idempotency-key', detail: 'must be 1-255 visible ASCII characters' },
        ],
      });
    }
    const principalId = request.principal.keyId;
    const hash = requestHash(request);
    const now = Date.now();
    const derived = responseKey(request.bearerSecret, principalId, key);

    // Forget this caller's expired or abandoned record of the key, if any, then try to claim the key.
    await db
      .deleteFrom('idempotency_keys')
      .where('principal_id', '=', principalId)
      .where('idempotency_key', '=', key)
      .where((eb) =>
        eb.or([
          eb('created_at', '<', new Date(now - IDEMPOTENCY_TTL_MS).toISOString()),
          eb.and([
            eb('status_code', 'is', null),
            eb('created_at', '<', new Date(now - ABANDONED_AFTER_MS).toISOString()),
          ]),
        ]),
      )
      .execute();
    const claimed = await db
      .insertInto('idempotency_keys')
      .values({
        principal_id: principalId,
        idempotency_key: key,
        method: request.method,
        path: request.url,
        request_hash: hash,
        status_code: null,
        response_body: null,
        response_type: null,
        created_at: new Date(now).toISOString(),
      })
      .onConflict((oc) => oc.columns(['principal_id', 'idempotency_key']).doNothing())
      .executeTakeFirst();
    if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 1) {
      request.idempotency = { principalId, key, responseKey: derived };
      return;
    }

    const existing = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('principal_id', '=', principalId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    if (!existing)
      throw new Problem(
        'idempotency-in-progress',
        'Retry the request: its idempotency key was just released.',
      );
    if (existing.request_hash !== hash) {
      throw new Problem(
        'idempotency-key-reused',
        'This Idempotency-Key was already used with a different request; use a new key for a new request.',
      );
    }
    if (existing.status_code === null || existing.response_body === null) {
      throw new Problem(
        'idempotency-in-progress',
        'A request with this Idempotency-Key is still being processed.',
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    return replay(reply, existing.status_code, existing.response_type, open(derived, existing.response_body));
  };

  const record = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const reservation = request.idempotency;
    if (!reservation) return payload;
    request.idempotency = undefined;
    const serialized = payload === null || typeof payload === 'string' ? (payload ?? '') : null;
    if (reply.statusCode >= 300 || serialized === null) {
      // Only a success is a result to replay: release the key so the client can retry.
      await db
        .deleteFrom('idempotency_keys')
        .where('principal_id', '=', reservation.principalId)
        .where('idempotency_key', '=', reservation.key)
        .execute();
      return payload;
    }
    await db
      .updateTable('idempotency_keys')
      .set({
        status_code: reply.statusCode,
        response_body: seal(reservation.responseKey, serialized),
        response_type: String(reply.getHeader('content-type') ?? ''),
      })
      .where('principal_id', '=', reservation.principalId)
      .where('idempotency_key', '=', reservation.key)
      .execute();
    return payload;
  };

  // Only POST routes take Idempotency-Key; other routes pay nothing for it.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('POST')) return;
    route.preHandler = [...asArray(route.preHandler), claim];
    route.onSend = [...asArray(route.onSend), record];
  });
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function replay(reply: FastifyReply, status: number, type: string | null, body: string): FastifyReply {
  reply.header('idempotent-replayed', 'true').code(status);
  if (type) reply.header('content-type', type);
  // The body is already serialized; send it as is.
  return reply.serializer((payload: unknown) => payload as string).send(body);
}

/** Deletes stored responses past their replay window. */
export async function purgeExpiredIdempotencyKeys(db: Kysely<Database>, now = Date.now()): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', new Date(now - IDEMPOTENCY_TTL_MS).toISOString())
    .execute();
}
