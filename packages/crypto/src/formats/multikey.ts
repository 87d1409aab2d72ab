import { base58 } from '@scure/base';
import { BoundedCache } from '../bounded-cache.js';
import { CryptoError } from '../errors.js';
import { type KeyAlgorithm, keyTypes } from './key-types.js';
import { keyTypeOf, validatePublicKey, validateSecretKey } from './validate.js';

/**
 * Multikey (W3C Controlled Identifiers §2.2.2): `publicKeyMultibase` / `secretKeyMultibase` are the
 * multicodec code as an unsigned varint, then the raw key, in base58btc multibase (a leading `z`).
 */

/**
 * Multibase public keys already found valid. A point check costs more than verifying a signature with the
 * key (a field inversion and square root for Ed25519 in noble), and a verifier sees the same issuers'
 * keys over and over.
 */
const validPublicKeys = new BoundedCache<string, KeyAlgorithm>(4096);

function encodeVarint(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}

/** Reads a minimally encoded unsigned varint of at most 3 bytes (every key code is below 2^21). */
function decodeVarint(bytes: Uint8Array): { value: number; length: number } {
  let value = 0;
  for (let index = 0; index < 3 && index < bytes.length; index++) {
    const byte = bytes[index] as number;
    value |= (byte & 0x7f) << (7 * index);
    if ((byte & 0x80) === 0) {
      if (index > 0 && byte === 0) break; // a trailing zero byte is a non-minimal encoding
      return { value, length: index + 1 };
    }
  }
  throw new CryptoError('invalid-key', 'multikey does not start with a valid multicodec varint');
}

/**
 * @scure/base refuses base58 input above 2,048 bytes (the conversion is quadratic, so the cap guards
 * against denial of service). That leaves ML-DSA-87 public keys (2,594 bytes) without a Multikey form here.
 */
const MAX_BASE58_BYTES = 2048;

function encode(code: number, key: Uint8Array, algorithm: KeyAlgorithm): string {
  const prefix = encodeVarint(code);
  if (prefix.length + key.length > MAX_BASE58_BYTES) {
    throw new CryptoError(
      'unsupported-algorithm',
      `${algorithm} keys are too large for base58btc Multikey; use JWK`,
    );
  }
  const bytes = new Uint8Array(prefix.length + key.length);
  bytes.set(prefix);
  bytes.set(key, prefix.length);
  return `z${base58.encode(bytes)}`;
}

function decode(multibase: string): { code: number; key: Uint8Array } {
  if (typeof multibase !== 'string' || !multibase.startsWith('z')) {
    throw new CryptoError('invalid-key', 'multikey must be base58btc multibase (a leading "z")');
  }
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(multibase.slice(1));
  } catch (error) {
    throw new CryptoError('invalid-key', 'multikey is not valid base58btc', { cause: error });
  }
  const { value, length } = decodeVarint(bytes);
  return { code: value, key: bytes.slice(length) };
}

const algorithmsByCode = (which: 'publicCodec' | 'secretCodec') =>
  new Map(
    (Object.entries(keyTypes) as Array<[KeyAlgorithm, (typeof keyTypes)[KeyAlgorithm]]>)
      .filter(([, keyType]) => keyType[which] !== undefined)
      .map(([algorithm, keyType]) => [keyType[which] as number, algorithm]),
  );
const publicAlgorithms = algorithmsByCode('publicCodec');
const secretAlgorithms = algorithmsByCode('secretCodec');

function codecOf(algorithm: KeyAlgorithm, which: 'publicCodec' | 'secretCodec'): number {
  const code = keyTypeOf(algorithm)[which];
  if (code === undefined) {
    throw new CryptoError(
      'unsupported-algorithm',
      `the multicodec table has no ${which} code for ${algorithm} keys`,
    );
  }
  return code;
}

export function encodePublicKeyMultibase(algorithm: KeyAlgorithm, publicKey: Uint8Array): string {
  const code = codecOf(algorithm, 'publicCodec');
  validatePublicKey(algorithm, publicKey);
  return encode(code, publicKey, algorithm);
}

export function encodeSecretKeyMultibase(algorithm: KeyAlgorithm, secretKey: Uint8Array): string {
  const code = codecOf(algorithm, 'secretCodec');
  validateSecretKey(algorithm, secretKey);
  return encode(code, secretKey, algorithm);
}

/**
 * Decodes a `publicKeyMultibase`, validating length and point. With `expected`, a key of any other
 * algorithm is rejected with `invalid-key`.
 */
export function decodePublicKeyMultibase(
  multibase: string,
  expected?: KeyAlgorithm,
): { algorithm: KeyAlgorithm; publicKey: Uint8Array } {
  const { code, key } = decode(multibase);
  const algorithm = publicAlgorithms.get(code);
  if (!algorithm)
    throw new CryptoError('invalid-key', `multicodec 0x${code.toString(16)} is not a public key type`);
  if (expected !== undefined && algorithm !== expected) {
    throw new CryptoError('invalid-key', `expected a ${expected} public key, got ${algorithm}`);
  }
  if (validPublicKeys.get(multibase) !== algorithm) {
    validatePublicKey(algorithm, key);
    validPublicKeys.set(multibase, algorithm);
  }
  return { algorithm, publicKey: key };
}

export function decodeSecretKeyMultibase(
  multibase: string,
  expected?: KeyAlgorithm,
): { algorithm: KeyAlgorithm; secretKey: Uint8Array } {
  const { code, key } = decode(multibase);
  const algorithm = secretAlgorithms.get(code);
  if (!algorithm)
    throw new CryptoError('invalid-key', `multicodec 0x${code.toString(16)} is not a secret key type`);
  if (expected !== undefined && algorithm !== expected) {
    throw new CryptoError('invalid-key', `expected a ${expected} secret key, got ${algorithm}`);
  }
  validateSecretKey(algorithm, key);
  return { algorithm, secretKey: key };
}
