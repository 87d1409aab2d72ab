import { constantTimeEqual } from '@personachain/crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NodeConfig } from '../config.js';
import type { NodeMetrics } from '../metrics.js';
import type { MemoryStore } from '../store/memory-store.js';
import type { Cluster, Entry, WriteCapability } from '../types.js';
import { BadHeaderError, type ProofHeaders, type ReplayCache } from './ownership.js';

/** What the route modules share. */
export interface RouteContext {
  readonly config: NodeConfig;
  readonly store: MemoryStore;
  readonly cluster: Cluster;
  readonly metrics: NodeMetrics;
  readonly replays: ReplayCache;
}

export const EMPTY = Buffer.alloc(0);

/** A client error with its status; the error handler turns it into `{"error","detail"}`. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly title: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** One request header; sent twice it is refused rather than guessed at. */
export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (Array.isArray(value)) throw new BadHeaderError(`${name} must be sent once`);
  return value;
}

export function proofHeaders(request: FastifyRequest): ProofHeaders {
  return {
    token: header(request, 'x-write-token'),
    timestamp: header(request, 'x-write-timestamp'),
    signature: header(request, 'x-write-signature'),
  };
}

/** Seconds whose RFC 3339 text up to the fraction is known, e.g. `2026-11-22T07:19:11.` */
const isoSeconds = new Map<number, string>();
const MAX_ISO_SECONDS = 64;
/** 9999-12-31T23:59:59: beyond it (and before 1970) the year no longer has four digits. */
const LAST_FOUR_DIGIT_SECOND = 253_402_300_799;

/**
 * RFC 3339 with milliseconds, as `Date#toISOString`. A response carries two or three of them and
 * formatting a Date costs about a microsecond, so the text up to the second is kept for the seconds
 * last used (writes of one moment share their createdAt and expiresAt seconds).
 */
export function iso(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second < 0 || second > LAST_FOUR_DIGIT_SECOND) return new Date(ms).toISOString();
  let prefix = isoSeconds.get(second);
  if (prefix === undefined) {
    if (isoSeconds.size >= MAX_ISO_SECONDS) isoSeconds.clear();
    prefix = new Date(second * 1000).toISOString().slice(0, 20);
    isoSeconds.set(second, prefix);
  }
  const millis = ms - second * 1000;
  return `${prefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

const ownerBytes = (capability: WriteCapability) =>
  capability.kind === 'token-sha256' ? capability.hash : capability.publicKey;

export function sameOwner(a: WriteCapability | undefined, b: WriteCapability): boolean {
  return a !== undefined && a.kind === b.kind && constantTimeEqual(ownerBytes(a), ownerBytes(b));
}

/** REPRAM's entry headers, plus the absolute expiry. */
export function entryHeaders(reply: FastifyReply, entry: Entry, now: number): void {
  reply.headers({
    'x-created-at': iso(entry.createdAt),
    'x-original-ttl': String(entry.ttlSeconds),
    'x-remaining-ttl': String(Math.max(0, Math.ceil((entry.expiresAt - now) / 1000))),
    'x-expires-at': iso(entry.expiresAt),
  });
  if (entry.readOnce) reply.header('x-read-once', 'true');
}
