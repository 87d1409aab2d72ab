/** Input checks shared by the signature, key-agreement and KEM modules. */
import { CryptoError } from './errors.js';

export function requireKeyLength(key: Uint8Array, length: number, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== length) {
    throw new CryptoError('invalid-key', `${what} must be ${length} bytes`);
  }
}

/** Runs a library call and turns whatever it throws into a CryptoError with `code`. */
export function guard<T>(code: CryptoError['code'], what: string, operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    if (error instanceof CryptoError) throw error;
    throw new CryptoError(code, what, { cause: error });
  }
}

/** What both signature schemes and key agreements know about their secret keys. */
export interface SecretKeyRules {
  algorithm: string;
  secretKeyLength: number;
  isValidSecretKey?: (secretKey: Uint8Array) => boolean;
  publicKeyFromSecretKey(secretKey: Uint8Array): Uint8Array;
}

/** Throws CryptoError('invalid-key') unless `secretKey` has the algorithm's length and range. */
export function requireSecretKey(rules: SecretKeyRules, secretKey: Uint8Array): void {
  requireKeyLength(secretKey, rules.secretKeyLength, `${rules.algorithm} secret key`);
  if (rules.isValidSecretKey && !rules.isValidSecretKey(secretKey)) {
    throw new CryptoError('invalid-key', `${rules.algorithm} secret key is out of range`);
  }
}

/** The public key of a checked secret key; library failures become CryptoError('invalid-key'). */
export function publicKeyOf(rules: SecretKeyRules, secretKey: Uint8Array): Uint8Array {
  requireSecretKey(rules, secretKey);
  return guard('invalid-key', `${rules.algorithm} secret key rejected`, () =>
    rules.publicKeyFromSecretKey(secretKey),
  );
}
