import { toBase64Url } from '@personachain/crypto';
import type { Entry, EntryMeta, EntryVersion, Tombstone, WriteCapability } from '../types.js';

/** The replication protocol: one length-prefixed JSON request and one response per libp2p stream. */
export const REPLICATION_PROTOCOL = '/persona/ephemeral/1.0.0';

/** Largest frame accepted: a 10 MiB value in base64 plus metadata, with headroom for digest pages. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Largest key (bytes) and batch sizes a peer may send. */
const MAX_KEY_BYTES = 1024;
export const MAX_DIGEST_PAGE = 2_000;
export const MAX_PULL_KEYS = 256;
const MAX_ADDRS = 16;
const MAX_PEERS = 512;

export interface PeerInfo {
  readonly peerId: string;
  readonly addrs: readonly string[];
}

/** What one node says about itself when it joins another: the enclave check and peer exchange. */
export interface Hello {
  readonly enclave: string;
  readonly httpUrl?: string;
  readonly addrs: readonly string[];
  readonly peers: readonly PeerInfo[];
}

export interface DigestItem {
  readonly key: string;
  readonly version: EntryVersion;
  readonly expiresAt: number;
  /** Present for tombstones. */
  readonly removed?: 'deleted' | 'burned';
}

export type Request =
  | ({ op: 'hello' } & Hello)
  | { op: 'put'; entry: Entry }
  | { op: 'get'; key: string }
  | { op: 'tombstone'; tombstone: Tombstone }
  | { op: 'burn'; tombstone: Tombstone }
  | { op: 'digest'; after: string; limit: number }
  | { op: 'pull'; keys: string[] };

export type Response =
  | ({ op: 'hello' } & Hello)
  | { op: 'put'; outcome: 'stored' | 'stale' | 'expired' | 'tombstoned' | 'full' }
  | { op: 'get'; entry?: Entry; tombstone?: Tombstone }
  | { op: 'tombstone'; existed: boolean; applied: boolean }
  | { op: 'burn'; accepted: boolean; entry?: Entry }
  | { op: 'digest'; items: DigestItem[]; next?: string }
  | { op: 'pull'; entries: Entry[] }
  | { op: 'error'; error: string };

/** Every request travels in an envelope that makes it replay-proof (see replay-guard.ts). */
export interface Envelope {
  readonly id: string;
  readonly ts: number;
  readonly enclave: string;
  readonly body: Request;
}

/** Orders versions the same way on every node: createdAt, then the origin node id. */
export function compareVersions(a: EntryVersion, b: EntryVersion): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.nodeId === b.nodeId ? 0 : a.nodeId < b.nodeId ? -1 : 1;
}

export function versionOf(meta: EntryMeta): EntryVersion {
  return { createdAt: meta.createdAt, nodeId: meta.origin };
}

// ---- encoding ---------------------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeFrame(message: Envelope | (Response & { re?: string })): Uint8Array {
  return encoder.encode(JSON.stringify(toWire(message)));
}

/**
 * Bytes travel as `{b64}`. Converting before JSON.stringify (rather than in a replacer) matters: for a
 * Buffer, stringify first calls Buffer#toJSON, which builds an array of one number per byte.
 */
function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return { b64: toBase64Url(value) };
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  return value;
}

// ---- decoding with validation: a peer is authenticated, not trusted to send well-formed data ----------

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

function fail(what: string): never {
  throw new ProtocolError(`malformed ${what}`);
}

export type Obj = Record<string, unknown>;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(what);
  return v as Obj;
}
function str(v: unknown, what: string, max = 4096): string {
  if (typeof v !== 'string' || v.length > max) fail(what);
  return v;
}
function int(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(what);
  return v;
}
function bytes(v: unknown, what: string): Uint8Array {
  const b64 = obj(v, what).b64;
  if (typeof b64 !== 'string' || !BASE64URL.test(b64)) fail(what);
  const decoded = Buffer.from(b64, 'base64url');
  return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
}
function key(v: unknown): string {
  const k = str(v, 'key', MAX_KEY_BYTES);
  if (k.length === 0 || encoder.encode(k).length > MAX_KEY_BYTES) fail('key');
  return k;
}
function strings(v: unknown, what: string, max: number): string[] {
  if (!Array.isArray(v) || v.length > max) fail(what);
  return v.map((s) => str(s, what, 1024));
}

function capability(v: unknown): WriteCapability | undefined {
  if (v === undefined) return undefined;
  const o = obj(v, 'capability');
  if (o.kind === 'token-sha256') {
    const hash = bytes(o.hash, 'capability');
    if (hash.length !== 32) fail('capability');
    return { kind: 'token-sha256', hash };
  }
  if (o.kind === 'ed25519') {
    const publicKey = bytes(o.publicKey, 'capability');
    if (publicKey.length !== 32) fail('capability');
    return { kind: 'ed25519', publicKey };
  }
  fail('capability');
}

function readOnce(v: unknown): boolean {
  if (v === undefined || v === false) return false;
  if (v !== true) fail('entry');
  return true;
}

export function decodeEntry(v: unknown): Entry {
  const o = obj(v, 'entry');
  const createdAt = int(o.createdAt, 'entry');
  const expiresAt = int(o.expiresAt, 'entry');
  if (expiresAt <= createdAt) fail('entry');
  const cap = capability(o.capability);
  const entry: Entry = {
    key: key(o.key),
    createdAt,
    expiresAt,
    ttlSeconds: int(o.ttlSeconds, 'entry'),
    origin: str(o.origin, 'entry', 128),
    value: bytes(o.value, 'entry'),
    ...(cap ? { capability: cap } : {}),
    ...(o.keyCommitment !== undefined ? { keyCommitment: str(o.keyCommitment, 'entry', 128) } : {}),
    ...(readOnce(o.readOnce) ? { readOnce: true } : {}),
  };
  return entry;
}

function version(v: unknown): EntryVersion {
  const o = obj(v, 'version');
  return { createdAt: int(o.createdAt, 'version'), nodeId: str(o.nodeId, 'version', 128) };
}

export function decodeTombstone(v: unknown): Tombstone {
  const o = obj(v, 'tombstone');
  if (o.reason !== 'deleted' && o.reason !== 'burned') fail('tombstone');
  return {
    key: key(o.key),
    version: version(o.version),
    expiresAt: int(o.expiresAt, 'tombstone'),
    reason: o.reason,
  };
}

function hello(o: Obj): Hello {
  const peers = o.peers;
  if (!Array.isArray(peers) || peers.length > MAX_PEERS) fail('hello');
  return {
    enclave: str(o.enclave, 'hello', 256),
    ...(o.httpUrl !== undefined ? { httpUrl: str(o.httpUrl, 'hello', 512) } : {}),
    addrs: strings(o.addrs, 'hello', MAX_ADDRS),
    peers: peers.map((p) => {
      const po = obj(p, 'hello');
      return { peerId: str(po.peerId, 'hello', 128), addrs: strings(po.addrs, 'hello', MAX_ADDRS) };
    }),
  };
}

function digestItem(v: unknown): DigestItem {
  const o = obj(v, 'digest');
  if (o.removed !== undefined && o.removed !== 'deleted' && o.removed !== 'burned') fail('digest');
  return {
    key: key(o.key),
    version: version(o.version),
    expiresAt: int(o.expiresAt, 'digest'),
    ...(o.removed ? { removed: o.removed } : {}),
  };
}

function parse(frame: Uint8Array): Obj {
  try {
    return obj(JSON.parse(decoder.decode(frame)), 'frame');
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    fail('frame');
  }
}

export function decodeEnvelope(frame: Uint8Array): Envelope {
  const o = parse(frame);
  const b = obj(o.body, 'request');
  let body: Request;
  switch (b.op) {
    case 'hello':
      body = { op: 'hello', ...hello(b) };
      break;
    case 'put':
      body = { op: 'put', entry: decodeEntry(b.entry) };
      break;
    case 'get':
      body = { op: 'get', key: key(b.key) };
      break;
    case 'tombstone':
    case 'burn':
      body = { op: b.op, tombstone: decodeTombstone(b.tombstone) };
      break;
    case 'digest': {
      const limit = int(b.limit, 'digest');
      if (limit === 0 || limit > MAX_DIGEST_PAGE) fail('digest');
      body = { op: 'digest', after: str(b.after, 'digest', MAX_KEY_BYTES), limit };
      break;
    }
    case 'pull':
      body = { op: 'pull', keys: strings(b.keys, 'pull', MAX_PULL_KEYS).map(key) };
      break;
    default:
      fail('request');
  }
  return {
    id: str(o.id, 'envelope', 64),
    ts: int(o.ts, 'envelope'),
    enclave: str(o.enclave, 'envelope', 256),
    body,
  };
}

const PUT_OUTCOMES = new Set(['stored', 'stale', 'expired', 'tombstoned', 'full']);

/** The envelope id a response answers (responses on a shared stream arrive in any order). */
export function responseTo(frame: Uint8Array): { re: string | undefined; body: Obj } {
  const body = parse(frame);
  return { re: typeof body.re === 'string' ? body.re : undefined, body };
}

export function decodeResponse(frame: Uint8Array | Obj, expected: Request['op']): Response {
  const o = frame instanceof Uint8Array ? parse(frame) : frame;
  if (o.op === 'error') return { op: 'error', error: str(o.error, 'error', 256) };
  if (o.op !== expected) fail('response');
  switch (o.op) {
    case 'hello':
      return { op: 'hello', ...hello(o) };
    case 'put':
      if (typeof o.outcome !== 'string' || !PUT_OUTCOMES.has(o.outcome)) fail('put response');
      return { op: 'put', outcome: o.outcome as 'stored' };
    case 'get':
      return {
        op: 'get',
        ...(o.entry !== undefined ? { entry: decodeEntry(o.entry) } : {}),
        ...(o.tombstone !== undefined ? { tombstone: decodeTombstone(o.tombstone) } : {}),
      };
    case 'tombstone':
      return { op: 'tombstone', existed: o.existed === true, applied: o.applied === true };
    case 'burn':
      return {
        op: 'burn',
        accepted: o.accepted === true,
        ...(o.entry !== undefined ? { entry: decodeEntry(o.entry) } : {}),
      };
    case 'digest': {
      if (!Array.isArray(o.items) || o.items.length > MAX_DIGEST_PAGE) fail('digest response');
      return {
        op: 'digest',
        items: o.items.map(digestItem),
        ...(o.next !== undefined ? { next: key(o.next) } : {}),
      };
    }
    case 'pull':
      if (!Array.isArray(o.entries) || o.entries.length > MAX_PULL_KEYS) fail('pull response');
      return { op: 'pull', entries: o.entries.map(decodeEntry) };
    default:
      fail('response');
  }
}
