import { base32nopad } from '@scure/base';
import { DidError } from '../errors.js';
import { parseDid } from '../syntax.js';

/**
 * Hashes and identifiers: an operation's hash is SHA-256 of its canonical bytes, written as 52 lowercase
 * RFC 4648 base32 characters (no padding); the DID is `did:persona:` + base32 of the first 20 bytes
 * (160 bits, 32 characters) of the genesis operation's hash.
 */
export const PERSONA_DID_PREFIX = 'did:persona:';
export const PERSONA_ID_BYTES = 20;
const DID_PATTERN = /^did:persona:[a-z2-7]{32}$/;
export const HASH_PATTERN = /^[a-z2-7]{52}$/;

/** SHA-256 via WebCrypto (Node and browsers alike). */
async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

function base32Lower(bytes: Uint8Array): string {
  return base32nopad.encode(bytes).toLowerCase();
}

/** The hash of an operation's canonical bytes: what `prev` and `versionId` hold. */
export async function operationHash(bytes: Uint8Array): Promise<string> {
  return base32Lower(await sha256(bytes));
}

/** The DID a signed genesis operation (its canonical bytes) creates; anyone can recompute it. */
export async function personaDidFromGenesis(bytes: Uint8Array): Promise<string> {
  return PERSONA_DID_PREFIX + base32Lower((await sha256(bytes)).subarray(0, PERSONA_ID_BYTES));
}

export function isPersonaDid(value: unknown): value is string {
  return typeof value === 'string' && DID_PATTERN.test(value);
}

/** Checks DID syntax first (invalidDid for a malformed DID), then the did:persona identifier. */
export function assertPersonaDid(did: string): void {
  const { method } = parseDid(did);
  if (method !== 'persona') throw new DidError('invalidDid', `${did} is not a did:persona DID`);
  if (!DID_PATTERN.test(did)) {
    throw new DidError(
      'invalidDid',
      'a did:persona identifier is 32 lowercase base32 characters (a-z, 2-7) after "did:persona:"',
    );
  }
}
