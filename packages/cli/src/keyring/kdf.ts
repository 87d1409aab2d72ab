import { randomBytes, scrypt } from 'node:crypto';
import { AES_GCM_KEY_LENGTH, AeadKey, fromBase64Url, toBase64Url } from '@personachain/crypto';

/** How a keyring's encryption key is derived from its passphrase; stored in the keyring file. */
export interface ScryptParams {
  name: 'scrypt';
  /** 16 random bytes, base64url. */
  salt: string;
  /** CPU/memory cost (a power of two), block size, parallelization. */
  N: number;
  r: number;
  p: number;
}

/** OWASP's scrypt recommendation: N = 2^17, r = 8, p = 1 (128 MiB, a few hundred ms per unlock). */
export const SCRYPT_DEFAULTS = { N: 2 ** 17, r: 8, p: 1 } as const;
const MAX_N = 2 ** 22;

export function newScryptParams(cost: Pick<ScryptParams, 'N' | 'r' | 'p'> = SCRYPT_DEFAULTS): ScryptParams {
  return { name: 'scrypt', salt: toBase64Url(randomBytes(16)), ...cost };
}

/** Whether the parameters read from a file are ones this CLI can use without running out of memory. */
export function isUsableScryptParams(params: ScryptParams): boolean {
  const { N, r, p } = params;
  return (
    params.name === 'scrypt' &&
    typeof params.salt === 'string' &&
    Number.isSafeInteger(N) &&
    N >= 2 &&
    N <= MAX_N &&
    (N & (N - 1)) === 0 &&
    r >= 1 &&
    r <= 32 &&
    p >= 1 &&
    p <= 16
  );
}

/** The 32-byte AES-256-GCM key of a keyring. */
export function derivePassphraseKey(passphrase: string, params: ScryptParams): Promise<Uint8Array> {
  const { N, r, p } = params;
  const salt = fromBase64Url(params.salt);
  // scrypt needs 128·N·r bytes; maxmem must exceed that (node's default is 32 MiB).
  const maxmem = 128 * N * r + 32 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFC'), salt, AES_GCM_KEY_LENGTH, { N, r, p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(new Uint8Array(key));
    });
  });
}

/** The AES-256-GCM key a keyring file is sealed with, derived from its passphrase. */
export async function passphraseKey(passphrase: string, kdf: ScryptParams): Promise<AeadKey> {
  const derived = await derivePassphraseKey(passphrase, kdf);
  try {
    return new AeadKey(derived);
  } finally {
    derived.fill(0);
  }
}

/** The header a keyring file's key is bound to: changing its format or KDF parameters fails the check. */
export function kdfHeaderAad(format: string, kdf: ScryptParams): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([format, kdf.name, kdf.salt, kdf.N, kdf.r, kdf.p]));
}
