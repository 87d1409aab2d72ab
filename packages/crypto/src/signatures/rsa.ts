import type { JsonWebKey, KeyObject } from 'node:crypto';
import { bufferOf, bytesOf, lazyNative, type NodeCrypto } from '../backends/node-crypto.js';
import { fromBase64Url, toBase64Url, toHex } from '../encoding.js';
import type { KeyPair, SignatureScheme } from '../types.js';
import { defineScheme } from './define.js';

/**
 * RSA-3072 signing with RSASSA-PKCS1-v1_5 and SHA-256 (JOSE `RS256`), for relying parties that only speak
 * RS256. Node-only: every operation runs in OpenSSL through `node:crypto`; there is no pure-JS backend,
 * because an RSA implementation is not something to write by hand and no audited noble one exists, so a
 * browser asking for it gets CryptoError('unsupported-algorithm').
 *
 * The raw formats keep the fixed lengths every other algorithm has (the modulus is always 3072 bits and the
 * public exponent always 65537): the public key is the modulus n, 384 bytes big-endian; the secret key is
 * the fixed-width concatenation n ‖ d ‖ p ‖ q ‖ dp ‖ dq ‖ qi (384 + 384 + 5 × 192 = 1,728 bytes), the JWK
 * private members, each left-padded with zeros. Signatures are 384 bytes.
 */
export const RSA_MODULUS_BYTES = 384;
const HALF = RSA_MODULUS_BYTES / 2;
const PUBLIC_EXPONENT = 0x10001;
const E = 'AQAB';
/** [JWK member, width in bytes] in the order of the raw secret key. */
const SECRET_LAYOUT = [
  ['n', RSA_MODULUS_BYTES],
  ['d', RSA_MODULUS_BYTES],
  ['p', HALF],
  ['q', HALF],
  ['dp', HALF],
  ['dq', HALF],
  ['qi', HALF],
] as const;
export const RSA_SECRET_KEY_BYTES = SECRET_LAYOUT.reduce((total, [, width]) => total + width, 0);

function leftPad(bytes: Uint8Array, width: number): Uint8Array {
  if (bytes.length > width) throw new RangeError(`integer longer than ${width} bytes`);
  const out = new Uint8Array(width);
  out.set(bytes, width - bytes.length);
  return out;
}

function minimal(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

function bigintOf(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${toHex(bytes)}`);
}

/** A 3072-bit modulus: exactly 384 bytes with the top bit set, and odd. */
export function isRsaModulus(n: Uint8Array): boolean {
  return (
    n.length === RSA_MODULUS_BYTES && ((n[0] as number) & 0x80) !== 0 && ((n.at(-1) as number) & 1) === 1
  );
}

/** The fixed-width raw secret key from a private RSA JWK (n, d, p, q, dp, dq, qi). */
export function rsaSecretKeyFromJwk(jwk: Record<string, unknown>): Uint8Array {
  const out = new Uint8Array(RSA_SECRET_KEY_BYTES);
  let offset = 0;
  for (const [name, width] of SECRET_LAYOUT) {
    const value = jwk[name];
    if (typeof value !== 'string') throw new RangeError(`RSA JWK member ${name} is missing`);
    out.set(leftPad(minimal(fromBase64Url(value)), width), offset);
    offset += width;
  }
  return out;
}

/** The private JWK members of a raw secret key, minimal big-endian as RFC 7518 §6.3 requires. */
export function rsaJwkFromSecretKey(secretKey: Uint8Array): Record<string, string> {
  const jwk: Record<string, string> = { e: E };
  let offset = 0;
  for (const [name, width] of SECRET_LAYOUT) {
    jwk[name] = toBase64Url(minimal(secretKey.subarray(offset, offset + width)));
    offset += width;
  }
  return jwk;
}

/** Cheap consistency of a raw secret key: a 3072-bit modulus that is the product of its two primes. */
export function isValidRsaSecretKey(secretKey: Uint8Array): boolean {
  if (secretKey.length !== RSA_SECRET_KEY_BYTES) return false;
  const n = secretKey.subarray(0, RSA_MODULUS_BYTES);
  const p = secretKey.subarray(2 * RSA_MODULUS_BYTES, 2 * RSA_MODULUS_BYTES + HALF);
  const q = secretKey.subarray(2 * RSA_MODULUS_BYTES + HALF, 2 * RSA_MODULUS_BYTES + 2 * HALF);
  return isRsaModulus(n) && bigintOf(p) * bigintOf(q) === bigintOf(n);
}

function publicJwk(n: Uint8Array): JsonWebKey {
  return { kty: 'RSA', n: toBase64Url(minimal(n)), e: E };
}

function pairOf(privateKey: KeyObject): KeyPair {
  const secretKey = rsaSecretKeyFromJwk(privateKey.export({ format: 'jwk' }) as Record<string, unknown>);
  return { secretKey, publicKey: secretKey.slice(0, RSA_MODULUS_BYTES) };
}

function createRsa(crypto: NodeCrypto): SignatureScheme {
  const privateKey = (secretKey: Uint8Array) =>
    crypto.createPrivateKey({ key: { kty: 'RSA', ...rsaJwkFromSecretKey(secretKey) }, format: 'jwk' });
  const signWith = (key: KeyObject, message: Uint8Array) =>
    bytesOf(crypto.sign('sha256', message, { key, padding: crypto.constants.RSA_PKCS1_PADDING }));
  return defineScheme({
    algorithm: 'RSA-3072',
    backend: 'native',
    publicKeyLength: RSA_MODULUS_BYTES,
    secretKeyLength: RSA_SECRET_KEY_BYTES,
    signatureLength: RSA_MODULUS_BYTES,
    // Generating a 3072-bit key takes a few hundred milliseconds: off the event loop, in OpenSSL's pool.
    generateKeyPair: () =>
      new Promise<KeyPair>((resolve, reject) => {
        crypto.generateKeyPair(
          'rsa',
          { modulusLength: 8 * RSA_MODULUS_BYTES, publicExponent: PUBLIC_EXPONENT },
          (error, _publicKey, key) => {
            if (error) reject(error);
            else resolve(pairOf(key));
          },
        );
      }),
    publicKeyFromSecretKey(secretKey) {
      const jwk = crypto.createPublicKey(privateKey(secretKey)).export({ format: 'jwk' });
      return leftPad(fromBase64Url(jwk.n as string), RSA_MODULUS_BYTES);
    },
    sign: (secretKey, message) => signWith(privateKey(secretKey), message),
    signer(secretKey) {
      const key = privateKey(secretKey);
      return (message) => signWith(key, message);
    },
    verify(publicKey, message, signature) {
      const key = crypto.createPublicKey({ key: publicJwk(publicKey), format: 'jwk' });
      return crypto.verify(
        'sha256',
        message,
        { key, padding: crypto.constants.RSA_PKCS1_PADDING },
        bufferOf(signature),
      );
    },
    isValidPublicKey: isRsaModulus,
    isValidSecretKey: isValidRsaSecretKey,
  });
}

export const nativeRsa3072 = lazyNative(
  'rsa-3072',
  (crypto) => {
    if (!crypto.constants.RSA_PKCS1_PADDING || typeof crypto.generateKeyPair !== 'function') {
      throw new Error('node:crypto lacks RSA');
    }
  },
  createRsa,
);
