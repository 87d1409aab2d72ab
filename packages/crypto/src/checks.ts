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
