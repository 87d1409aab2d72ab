import { CryptoError } from '../errors.js';
import { type KeyAlgorithm, keyTypes } from './key-types.js';

export function keyTypeOf(algorithm: KeyAlgorithm) {
  const keyType = Object.hasOwn(keyTypes, algorithm) ? keyTypes[algorithm] : undefined;
  if (!keyType) throw new CryptoError('unsupported-algorithm', `unknown key algorithm: ${String(algorithm)}`);
  return keyType;
}

/** Throws `invalid-key` unless `publicKey` has the algorithm's length and, where checkable, is a valid point. */
export function validatePublicKey(algorithm: KeyAlgorithm, publicKey: Uint8Array): void {
  const keyType = keyTypeOf(algorithm);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== keyType.publicKeyLength) {
    throw new CryptoError('invalid-key', `${algorithm} public key must be ${keyType.publicKeyLength} bytes`);
  }
  if (keyType.isValidPublicKey && !keyType.isValidPublicKey(publicKey)) {
    throw new CryptoError('invalid-key', `${algorithm} public key is not a valid point`);
  }
}

/** Throws `invalid-key` unless `secretKey` has the algorithm's length and, for scalars, is in range. */
export function validateSecretKey(algorithm: KeyAlgorithm, secretKey: Uint8Array): void {
  const keyType = keyTypeOf(algorithm);
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== keyType.secretKeyLength) {
    throw new CryptoError('invalid-key', `${algorithm} secret key must be ${keyType.secretKeyLength} bytes`);
  }
  if (keyType.isValidSecretKey && !keyType.isValidSecretKey(secretKey)) {
    throw new CryptoError('invalid-key', `${algorithm} secret key is out of range`);
  }
}
