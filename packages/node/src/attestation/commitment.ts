import { createHash } from 'node:crypto';
import { toBase64Url } from '@personachain/crypto';

/** Domain separation, so a commitment can never equal a hash computed for another purpose. */
const COMMITMENT_CONTEXT = 'personachain/ephemeral/key-commitment/v1\0';

/** Salts shorter than this could be guessed together with a guessable key. */
export const MIN_COMMITMENT_SALT_BYTES = 16;
export const MAX_COMMITMENT_SALT_BYTES = 64;

/**
 * The salted commitment a compliance write is attested under:
 * base64url(SHA-256(context ‖ salt ‖ UTF-8(key))).
 *
 * The owner keeps the salt and can recompute the commitment from its key; anyone else, even holding
 * the attestation and guessing the key, cannot link the two. Nodes drop the salt once they hold the
 * commitment. The SDK computes the same value (its tests pin both to one vector).
 */
export function keyCommitment(salt: Uint8Array, key: string): string {
  if (salt.length < MIN_COMMITMENT_SALT_BYTES || salt.length > MAX_COMMITMENT_SALT_BYTES) {
    throw new RangeError(
      `a compliance salt must be ${MIN_COMMITMENT_SALT_BYTES} to ${MAX_COMMITMENT_SALT_BYTES} bytes, got ${salt.length}`,
    );
  }
  const digest = createHash('sha256').update(COMMITMENT_CONTEXT).update(salt).update(key, 'utf8').digest();
  return toBase64Url(digest);
}
