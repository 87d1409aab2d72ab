import { guard, publicKeyOf, requireKeyLength, requireSecretKey } from '../checks.js';
import { CryptoError } from '../errors.js';
import type { Backend, KeyPair, SignatureAlgorithm, SignatureScheme } from '../types.js';

/**
 * The synchronous core of one algorithm on one backend. `defineScheme` wraps it with the checks every
 * scheme shares, so each backend only says how to call its library.
 */
export interface SchemeCore {
  algorithm: SignatureAlgorithm;
  backend: Backend;
  publicKeyLength: number;
  secretKeyLength: number;
  /** Exact length, or the allowed range for variable-length signatures (Falcon). */
  signatureLength: number | { min: number; max: number };
  /** Asynchronous where generation is slow enough to belong off the event loop (RSA). */
  generateKeyPair(): KeyPair | Promise<KeyPair>;
  publicKeyFromSecretKey(secretKey: Uint8Array): Uint8Array;
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** `sign` with the key imported once, where importing costs (native keys); else `sign` is used. */
  signer?(secretKey: Uint8Array): (message: Uint8Array) => Uint8Array;
  /** May throw on inputs the library cannot parse; that counts as a failed verification. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** Structural validity beyond the length (a curve point, a subgroup member); run only after a failed verify. */
  isValidPublicKey?(publicKey: Uint8Array): boolean;
  /**
   * Run `isValidPublicKey` before verifying instead of only after a failure: for BLS, where the identity
   * point as public key would make forged signatures verify.
   */
  checkPublicKeyFirst?: boolean;
  /** Range check of a secret scalar (ECDSA, BLS: 0 < d < n). */
  isValidSecretKey?(secretKey: Uint8Array): boolean;
}

function signatureLengthOk(signature: Uint8Array, length: SchemeCore['signatureLength']): boolean {
  if (typeof length === 'number') return signature.length === length;
  return signature.length >= length.min && signature.length <= length.max;
}

export function defineScheme(core: SchemeCore): SignatureScheme {
  return {
    algorithm: core.algorithm,
    backend: core.backend,
    nativeSigningKeys: core.signer !== undefined,
    async generateKeyPair() {
      return core.generateKeyPair();
    },
    async publicKeyFromSecretKey(secretKey) {
      return publicKeyOf(core, secretKey);
    },
    async sign(secretKey, message) {
      requireSecretKey(core, secretKey);
      return guard('invalid-key', `${core.algorithm} signing failed`, () => core.sign(secretKey, message));
    },
    async signerFor(secretKey) {
      requireSecretKey(core, secretKey);
      const own = secretKey.slice();
      const sign = guard('invalid-key', `${core.algorithm} key import failed`, () =>
        core.signer ? core.signer(own) : (message: Uint8Array) => core.sign(own, message),
      );
      // A native key object holds its own copy.
      if (core.signer) own.fill(0);
      return async (message) => guard('invalid-key', `${core.algorithm} signing failed`, () => sign(message));
    },
    async verify(publicKey, message, signature) {
      requireKeyLength(publicKey, core.publicKeyLength, `${core.algorithm} public key`);
      if (!(signature instanceof Uint8Array) || !signatureLengthOk(signature, core.signatureLength)) {
        throw new CryptoError('invalid-signature', `${core.algorithm} signature has an impossible length`);
      }
      if (core.checkPublicKeyFirst && core.isValidPublicKey && !core.isValidPublicKey(publicKey)) {
        throw new CryptoError('invalid-key', `${core.algorithm} public key is malformed`);
      }
      let valid: boolean;
      try {
        valid = core.verify(publicKey, message, signature);
      } catch {
        valid = false;
      }
      // Checked only on failure: the fast path pays nothing, and a malformed key still raises
      // `invalid-key` instead of passing for a wrong signature.
      if (!valid && core.isValidPublicKey && !core.isValidPublicKey(publicKey)) {
        throw new CryptoError('invalid-key', `${core.algorithm} public key is malformed`);
      }
      return valid;
    },
  };
}
