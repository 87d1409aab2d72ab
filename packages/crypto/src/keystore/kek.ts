import { AES_GCM_KEY_LENGTH } from '../aead.js';
import { CryptoError } from '../errors.js';
import { hkdfSha256 } from '../kdf.js';

/** HKDF `info` of the key-encryption key; changing it changes every KEK, so it is versioned. */
export const KEK_HKDF_INFO = 'PersonaChain keystore KEK v1';

/**
 * Derives the 32-byte key-encryption key from the master secret (PERSONA_MASTER_KEY, or the dev key
 * file, decoded by the server): HKDF-SHA-256 with an empty salt (RFC 5869: 32 zero bytes) and
 * info = "PersonaChain keystore KEK v1". The master secret must hold at least 32 bytes.
 */
export function deriveKeyEncryptionKey(masterSecret: Uint8Array): Uint8Array {
  if (!(masterSecret instanceof Uint8Array) || masterSecret.length < 32) {
    throw new CryptoError('invalid-key', 'the master secret must be at least 32 bytes');
  }
  return hkdfSha256(masterSecret, undefined, new TextEncoder().encode(KEK_HKDF_INFO), AES_GCM_KEY_LENGTH);
}
