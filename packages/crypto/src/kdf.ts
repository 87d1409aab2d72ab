import { expand, extract, hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors.js';

/** HKDF-SHA-256 output is limited to 255 hash blocks (RFC 5869 §2.3). */
export const HKDF_SHA256_MAX_LENGTH = 255 * 32;

function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 1 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new CryptoError(
      'invalid-argument',
      `HKDF-SHA-256 output length must be 1..${HKDF_SHA256_MAX_LENGTH}`,
    );
  }
}

/*
 * HKDF-SHA-256 runs on @noble/hashes: synchronous, the same bytes in Node and browsers, and for the short
 * inputs of key derivation faster than a round trip through async WebCrypto.
 */

/** HKDF (RFC 5869): Extract then Expand. An empty or absent salt means 32 zero bytes, as the RFC says. */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array,
  length: number,
): Uint8Array {
  checkLength(length);
  return hkdf(sha256, ikm, salt, info, length);
}

/** HKDF-Extract (RFC 5869 §2.2): PRK = HMAC-SHA-256(salt, IKM). */
export function hkdfSha256Extract(ikm: Uint8Array, salt?: Uint8Array): Uint8Array {
  return extract(sha256, ikm, salt);
}

/** HKDF-Expand (RFC 5869 §2.3) from a 32-byte pseudorandom key. */
export function hkdfSha256Expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  checkLength(length);
  if (prk.length < 32) throw new CryptoError('invalid-key', 'HKDF-Expand needs a PRK of at least 32 bytes');
  return expand(sha256, prk, info, length);
}
