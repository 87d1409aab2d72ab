import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { BoundedCache, constantTimeEqual, fromBase64Url, toBase64Url } from '@personachain/crypto';
import type { WriteCapability } from '../types.js';

/** A header value the client got wrong: the HTTP layer answers 400 with this message. */
export class BadHeaderError extends Error {}

/** What the signature covers first, so a signature for this API can never be taken for another. */
export const SIGNATURE_CONTEXT = 'persona-ephemeral-write/v1';
/** How far a signed request's timestamp may be from the node's clock. */
export const SIGNATURE_WINDOW_MS = 60_000;
/** Write tokens are base64url random bytes; these bounds keep hashing cheap and guessing hopeless. */
const MIN_TOKEN_BYTES = 16;
const MAX_TOKEN_BYTES = 64;

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function decode(header: string, text: string, length?: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text);
  } catch {
    throw new BadHeaderError(`${header} is not base64url`);
  }
  if (length !== undefined && bytes.length !== length) {
    throw new BadHeaderError(`${header} must encode ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** Parses `X-Write-Capability: token-sha256=<32 bytes>` or `ed25519=<32-byte public key>`. */
export function parseCapability(header: string): WriteCapability {
  const separator = header.indexOf('=');
  const kind = header.slice(0, separator).trim();
  const value = header.slice(separator + 1).trim();
  if (separator > 0 && kind === 'token-sha256') {
    return { kind, hash: decode('X-Write-Capability', value, 32) };
  }
  if (separator > 0 && kind === 'ed25519') {
    const publicKey = decode('X-Write-Capability', value, 32);
    publicKeyObject(publicKey); // rejects bytes that are not a valid point now, not at the first delete
    return { kind, publicKey };
  }
  throw new BadHeaderError('X-Write-Capability must be "token-sha256=<base64url>" or "ed25519=<base64url>"');
}

/** SHA-256 of the decoded token bytes: what `token-sha256` registers. */
export function hashWriteToken(token: string): Uint8Array {
  const bytes = decode('X-Write-Token', token);
  if (bytes.length < MIN_TOKEN_BYTES || bytes.length > MAX_TOKEN_BYTES) {
    throw new BadHeaderError(`X-Write-Token must encode ${MIN_TOKEN_BYTES} to ${MAX_TOKEN_BYTES} bytes`);
  }
  return createHash('sha256').update(bytes).digest();
}

const keyObjects = new BoundedCache<string, KeyObject>(10_000);

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = toBase64Url(publicKey);
  const known = keyObjects.get(id);
  if (known) return known;
  try {
    const key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    return keyObjects.set(id, key);
  } catch {
    throw new BadHeaderError('the Ed25519 public key is not valid');
  }
}

/** The exact bytes an owner signs: see docs/ephemeral-node.md "Proving ownership". */
export function signedMessage(method: string, path: string, timestamp: string, body: Uint8Array): Buffer {
  const bodyHash = toBase64Url(createHash('sha256').update(body).digest());
  return Buffer.from(`${SIGNATURE_CONTEXT}\n${method}\n${path}\n${timestamp}\n${bodyHash}`, 'utf8');
}

/**
 * Signatures accepted within the timestamp window, refused when seen again. Entries leave once their
 * timestamp is outside the window (a replay would fail the timestamp check anyway). When the cache is
 * full of signatures still inside the window the node refuses new signed requests rather than forget
 * one, because forgetting would make that signature replayable.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly capacity = 200_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records the signature; false when it was seen before or there is no room. */
  remember(signature: string, timestamp: number): boolean {
    if (this.seen.has(signature)) return false;
    if (this.seen.size >= this.capacity) this.prune();
    if (this.seen.size >= this.capacity) return false;
    this.seen.set(signature, timestamp + SIGNATURE_WINDOW_MS);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  prune(): void {
    const now = this.now();
    for (const [signature, forgetAt] of this.seen) if (forgetAt < now) this.seen.delete(signature);
  }
}

/** The proof headers of one request, as sent. */
export interface ProofHeaders {
  readonly token?: string | undefined;
  readonly timestamp?: string | undefined;
  readonly signature?: string | undefined;
}

export type ProofOutcome = 'valid' | 'invalid' | 'missing' | 'replayed';

export function hasProof(headers: ProofHeaders): boolean {
  return headers.token !== undefined || headers.signature !== undefined || headers.timestamp !== undefined;
}

/**
 * Checks a request's proof against a registered capability. `path` is the key (data routes) or
 * "/v1/keys"; `body` the request body (empty for DELETE and GET). Throws BadHeaderError on malformed
 * headers.
 */
export function checkProof(
  capability: WriteCapability,
  headers: ProofHeaders,
  request: { method: string; path: string; body: Uint8Array },
  replays: ReplayCache,
  now = Date.now(),
): ProofOutcome {
  if (capability.kind === 'token-sha256') {
    if (headers.token === undefined) return 'missing';
    return constantTimeEqual(hashWriteToken(headers.token), capability.hash) ? 'valid' : 'invalid';
  }
  if (headers.signature === undefined || headers.timestamp === undefined) return 'missing';
  const timestamp = parseTimestamp(headers.timestamp);
  if (Math.abs(now - timestamp) > SIGNATURE_WINDOW_MS) return 'invalid';
  const signature = decode('X-Write-Signature', headers.signature, 64);
  const message = signedMessage(request.method, request.path, headers.timestamp, request.body);
  if (!verify(null, message, publicKeyObject(capability.publicKey), signature)) return 'invalid';
  return replays.remember(headers.signature, timestamp) ? 'valid' : 'replayed';
}

export function parseTimestamp(text: string): number {
  if (!/^\d{1,15}$/.test(text))
    throw new BadHeaderError('X-Write-Timestamp must be Unix time in milliseconds');
  return Number(text);
}

/** The public key a signed key listing is for (`X-Write-Public-Key`). */
export function parsePublicKey(text: string): Uint8Array {
  const publicKey = decode('X-Write-Public-Key', text, 32);
  publicKeyObject(publicKey);
  return publicKey;
}
