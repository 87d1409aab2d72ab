import { sha256 } from '@noble/hashes/sha2.js';
import { toBase64Url } from '@personachain/crypto';
import { EphemeralError } from './errors.js';

/*
 * The salted key commitment a compliance write's deletion attestations are filed under. It must be
 * byte-for-byte the node's `keyCommitment` (packages/node/src/attestation/commitment.ts); this copy
 * uses @noble/hashes instead of node:crypto so it runs in browsers, and a test pins both to one vector.
 */

const COMMITMENT_CONTEXT = new TextEncoder().encode('personachain/ephemeral/key-commitment/v1\0');

export const MIN_COMPLIANCE_SALT_BYTES = 16;
export const MAX_COMPLIANCE_SALT_BYTES = 64;

/** base64url(SHA-256("personachain/ephemeral/key-commitment/v1\0" ‖ salt ‖ UTF-8(key))). */
export function ephemeralKeyCommitment(salt: Uint8Array, key: string): string {
  if (
    !(salt instanceof Uint8Array) ||
    salt.length < MIN_COMPLIANCE_SALT_BYTES ||
    salt.length > MAX_COMPLIANCE_SALT_BYTES
  ) {
    throw new EphemeralError(
      'invalid-argument',
      `a compliance salt must be ${MIN_COMPLIANCE_SALT_BYTES} to ${MAX_COMPLIANCE_SALT_BYTES} bytes`,
    );
  }
  const hash = sha256.create();
  hash.update(COMMITMENT_CONTEXT);
  hash.update(salt);
  hash.update(new TextEncoder().encode(key));
  return toBase64Url(hash.digest());
}
