import { randomBytes } from '@personachain/crypto';
import { base64url } from 'jose';
import { CredentialError } from '../errors.js';

const encoder = new TextEncoder();

/**
 * The SD-JWT hasher: SHA-256 (`_sd_alg` "sha-256", the default and the only one we issue or accept) on
 * the platform's WebCrypto, so the module stays browser-safe (`@sd-jwt/crypto-nodejs` imports
 * node:crypto).
 */
export async function sha256Hasher(data: string | ArrayBuffer, alg: string): Promise<Uint8Array> {
  if (alg.toLowerCase() !== 'sha-256') {
    throw new CredentialError('unsupported-alg', `SD-JWT digest algorithm ${alg} is not supported`);
  }
  const bytes = typeof data === 'string' ? encoder.encode(data) : new Uint8Array(data);
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
}

/** Disclosure salts: `length` random bytes (the library asks for 16, i.e. 128 bits), base64url. */
export function saltGenerator(length: number): string {
  return base64url.encode(randomBytes(length));
}
