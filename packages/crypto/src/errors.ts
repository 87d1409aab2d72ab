/**
 * Why a cryptographic operation refused its input. Every failure of this package is a CryptoError with
 * one of these codes, so callers can map it (to a 4xx, a retry, an alert) without parsing messages.
 */
export type CryptoErrorCode =
  | 'unsupported-algorithm' // an algorithm, suite or format version this build does not know
  | 'invalid-key' // a key of the wrong length, curve, type or encoding
  | 'invalid-signature' // a signature that is malformed (a well-formed wrong signature is a `false` verify)
  | 'decryption-failed' // wrong key, tampered or truncated ciphertext: no plaintext, not even partial
  | 'malformed-input' // bytes or text that do not parse as the expected structure
  | 'key-usage-exceeded' // a symmetric key reached its usage limit and must be rotated
  | 'invalid-argument'; // a parameter outside its allowed range (threshold, share count, length)

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
