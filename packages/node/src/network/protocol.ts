import type { Entry, EntryMeta, EntryVersion, Tombstone, WriteCapability } from '../types.js';

/**
 * The replication protocol: length-prefixed frames, requests and their responses matched by envelope
 * id. A frame is a JSON document whose byte fields travel after it, raw (see `encodeFrame`).
 */
export const REPLICATION_PROTOCOL = '/persona/ephemeral/2.0.0';

/** Largest frame accepted: a 10 MiB value plus metadata, with headroom for digest and pull pages. */
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

/** How a replica answered a put: `held` refuses a first write because it holds the key already. */
export type PutOutcome = 'stored' | 'stale' | 'expired' | 'tombstoned' | 'full' | 'held';

export type Request =
  | ({ op: 'hello' } & Hello)
  /** `ifAbsent`: a first write, stored only by a replica holding no live entry for the key. */
  | { op: 'put'; entry: Entry; ifAbsent?: boolean }
  /** Takes back a first write that did not reach its quorum: removed where exactly this version is held. */
  | { op: 'withdraw'; key: string; version: EntryVersion }
  | { op: 'get'; key: string }
  | { op: 'tombstone'; tombstone: Tombstone }
  | { op: 'burn'; tombstone: Tombstone }
  | { op: 'digest'; after: string; limit: number }
  | { op: 'pull'; keys: string[] };

export type Response =
  | ({ op: 'hello' } & Hello)
  | { op: 'put'; outcome: PutOutcome }
  | { op: 'withdraw'; withdrawn: boolean }
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

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes of the big-endian length of the JSON part that starts a frame. */
const JSON_LENGTH_BYTES = 4;

/** A message as JSON text plus the byte fields it refers to, in order. */
interface Encoded {
  readonly json: string;
  readonly attached: readonly Uint8Array[];
  readonly attachedBytes: number;
}

/** Responses that never hold bytes skip the walk that looks for them (a replica sends one per put). */
const BYTELESS_RESPONSES = new Set<Response['op']>([
  'put',
  'withdraw',
  'tombstone',
  'digest',
  'hello',
  'error',
]);

/**
 * A frame is `u32 (JSON length) | JSON | attached bytes`. Every byte field (a value, a capability) is
 * written as `{"bin":[offset,length]}` into the attached bytes, which follow the JSON as they are: no
 * base64 to encode, decode and carry a third larger, and no JSON string scan over the value.
 */
export function encodeFrame(message: Envelope | (Response & { re?: string })): Uint8Array {
  if ('op' in message && BYTELESS_RESPONSES.has(message.op)) {
    return assemble({ json: JSON.stringify(message), attached: [], attachedBytes: 0 });
  }
  return assemble(encode(message));
}

/**
 * Request bodies encoded once however many peers they go to (a put goes to every replica); bodies are
 * never changed after they are made.
 */
const encodedBodies = new WeakMap<Request, Encoded>();

/** `encodeFrame` for a request, reusing its body's encoding. */
export function encodeRequest(envelope: Envelope): Uint8Array {
  let body = encodedBodies.get(envelope.body);
  if (body === undefined) {
    body = encode(envelope.body);
    encodedBodies.set(envelope.body, body);
  }
  const { id, ts, enclave } = envelope;
  const json = `{"id":${JSON.stringify(id)},"ts":${JSON.stringify(ts)},"enclave":${JSON.stringify(enclave)},"body":${body.json}}`;
  return assemble({ ...body, json });
}

function encode(message: unknown): Encoded {
  const attached: Uint8Array[] = [];
  let attachedBytes = 0;
  const toWire = (value: unknown): unknown => {
    if (value instanceof Uint8Array) {
      const ref = { bin: [attachedBytes, value.byteLength] };
      attached.push(value);
      attachedBytes += value.byteLength;
      return ref;
    }
    if (Array.isArray(value)) return value.map(toWire);
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
      return out;
    }
    return value;
  };
  const json = JSON.stringify(toWire(message));
  return { json, attached, attachedBytes };
}

function assemble({ json, attached, attachedBytes }: Encoded): Uint8Array {
  const text = Buffer.from(json, 'utf8');
  const head = Buffer.allocUnsafe(JSON_LENGTH_BYTES);
  head.writeUInt32BE(text.byteLength);
  return Buffer.concat([head, text, ...attached], JSON_LENGTH_BYTES + text.byteLength + attachedBytes);
}

// ---- decoding with validation: a peer is authenticated, not trusted to send well-formed data ----------

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

function fail(what: string): never {
  throw new ProtocolError(`malformed ${what}`);
}

export type Obj = Record<string, unknown>;

/** A frame's JSON and the bytes attached after it. */
export interface ParsedFrame {
  readonly json: Obj;
  readonly attached: Uint8Array;
}

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
/** An attached byte field, copied out so that it does not keep the whole received chunk alive. */
function bytes(v: unknown, what: string, attached: Uint8Array): Uint8Array {
  const ref = obj(v, what).bin;
  if (!Array.isArray(ref) || ref.length !== 2) fail(what);
  const [offset, length] = ref;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) fail(what);
  if (offset + length > attached.byteLength) fail(what);
  return new Uint8Array(attached.subarray(offset, offset + length));
}
function key(v: unknown): string {
  const k = str(v, 'key', MAX_KEY_BYTES);
  if (k.length === 0 || Buffer.byteLength(k, 'utf8') > MAX_KEY_BYTES) fail('key');
  return k;
}
function strings(v: unknown, what: string, max: number): string[] {
  if (!Array.isArray(v) || v.length > max) fail(what);
  return v.map((s) => str(s, what, 1024));
}

function capability(v: unknown, attached: Uint8Array): WriteCapability | undefined {
  if (v === undefined) return undefined;
  const o = obj(v, 'capability');
  if (o.kind === 'token-sha256') {
    const hash = bytes(o.hash, 'capability', attached);
    if (hash.length !== 32) fail('capability');
    return { kind: 'token-sha256', hash };
  }
  if (o.kind === 'ed25519') {
    const publicKey = bytes(o.publicKey, 'capability', attached);
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

function decodeEntry(v: unknown, attached: Uint8Array): Entry {
  const o = obj(v, 'entry');
  const createdAt = int(o.createdAt, 'entry');
  const expiresAt = int(o.expiresAt, 'entry');
  if (expiresAt <= createdAt) fail('entry');
  const cap = capability(o.capability, attached);
  const entry: Entry = {
    key: key(o.key),
    createdAt,
    expiresAt,
    ttlSeconds: int(o.ttlSeconds, 'entry'),
    origin: str(o.origin, 'entry', 128),
    value: bytes(o.value, 'entry', attached),
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

function decodeTombstone(v: unknown): Tombstone {
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

function parse(frame: Uint8Array): ParsedFrame {
  if (frame.byteLength < JSON_LENGTH_BYTES) fail('frame');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const jsonEnd = JSON_LENGTH_BYTES + view.getUint32(0);
  if (jsonEnd > frame.byteLength) fail('frame');
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(frame.subarray(JSON_LENGTH_BYTES, jsonEnd)));
  } catch {
    fail('frame');
  }
  return { json: obj(json, 'frame'), attached: frame.subarray(jsonEnd) };
}

export function decodeEnvelope(frame: Uint8Array): Envelope {
  const { json: o, attached } = parse(frame);
  const b = obj(o.body, 'request');
  let body: Request;
  switch (b.op) {
    case 'hello':
      body = { op: 'hello', ...hello(b) };
      break;
    case 'put':
      if (b.ifAbsent !== undefined && typeof b.ifAbsent !== 'boolean') fail('request');
      body = {
        op: 'put',
        entry: decodeEntry(b.entry, attached),
        ...(b.ifAbsent === true ? { ifAbsent: true } : {}),
      };
      break;
    case 'withdraw':
      body = { op: 'withdraw', key: key(b.key), version: version(b.version) };
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

const PUT_OUTCOMES = new Set<string>(['stored', 'stale', 'expired', 'tombstoned', 'full', 'held']);

/** The envelope id a response answers (responses on a shared stream arrive in any order). */
export function responseTo(frame: Uint8Array): { re: string | undefined; parsed: ParsedFrame } {
  const parsed = parse(frame);
  return { re: typeof parsed.json.re === 'string' ? parsed.json.re : undefined, parsed };
}

export function decodeResponse(frame: Uint8Array | ParsedFrame, expected: Request['op']): Response {
  const { json: o, attached } = frame instanceof Uint8Array ? parse(frame) : frame;
  if (o.op === 'error') return { op: 'error', error: str(o.error, 'error', 256) };
  if (o.op !== expected) fail('response');
  switch (o.op) {
    case 'hello':
      return { op: 'hello', ...hello(o) };
    case 'put':
      if (typeof o.outcome !== 'string' || !PUT_OUTCOMES.has(o.outcome)) fail('put response');
      return { op: 'put', outcome: o.outcome as PutOutcome };
    case 'withdraw':
      return { op: 'withdraw', withdrawn: o.withdrawn === true };
    case 'get':
      return {
        op: 'get',
        ...(o.entry !== undefined ? { entry: decodeEntry(o.entry, attached) } : {}),
        ...(o.tombstone !== undefined ? { tombstone: decodeTombstone(o.tombstone) } : {}),
      };
    case 'tombstone':
      return { op: 'tombstone', existed: o.existed === true, applied: o.applied === true };
    case 'burn':
      return {
        op: 'burn',
        accepted: o.accepted === true,
        ...(o.entry !== undefined ? { entry: decodeEntry(o.entry, attached) } : {}),
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
      return { op: 'pull', entries: o.entries.map((entry) => decodeEntry(entry, attached)) };
    default:
      fail('response');
  }
}
