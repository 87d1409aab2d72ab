import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keyAgreement } from '../agreement/index.js';
import { constantTimeEqual } from '../compare.js';
import { fromBase64Url, toBase64Url } from '../encoding.js';
import { CryptoError } from '../errors.js';
import { signatureScheme } from '../signatures/index.js';
import { RSA_MODULUS_BYTES, rsaJwkFromSecretKey, rsaSecretKeyFromJwk } from '../signatures/rsa.js';
import type { KeyAlgorithm } from './key-types.js';
import { validatePublicKey, validateSecretKey } from './validate.js';

/**
 * JSON Web Keys: OKP (RFC 8037) for Ed25519/X25519, EC (RFC 7518 §6.2; secp256k1 per RFC 8812) for
 * P-256/P-384/P-521/secp256k1, AKP for ML-DSA (RFC 9964, formerly draft-ietf-cose-dilithium: `pub` is the
 * encoded public key, `priv` the 32-byte seed — the form Node 24 exports too), RSA (RFC 7518 §6.3) for
 * RSA-3072 keys, whose public exponent is always 65537 (`e` "AQAB").
 * BLS12-381, SLH-DSA, ML-KEM and Falcon keys have no settled JWK form here: `unsupported-algorithm`.
 */
export interface Jwk {
  kty: 'OKP' | 'EC' | 'AKP' | 'RSA';
  crv?: string;
  alg?: string;
  x?: string;
  y?: string;
  d?: string;
  pub?: string;
  priv?: string;
  [member: string]: unknown;
}

type JwkAlgorithm =
  | 'Ed25519'
  | 'X25519'
  | 'P-256'
  | 'P-384'
  | 'P-521'
  | 'secp256k1'
  | 'ML-DSA-44'
  | 'ML-DSA-65'
  | 'ML-DSA-87'
  | 'RSA-3072';

const ecCurves = { 'P-256': p256, 'P-384': p384, 'P-521': p521, secp256k1 } as const;
/**
 * Coordinate size in bytes: RFC 7518 §6.2.1.2 wants `x`/`y` at the curve's full size (66 for P-521, whose
 * leading bits are zero), never shortened.
 */
const ecCoordinateBytes = { 'P-256': 32, 'P-384': 48, 'P-521': 66, secp256k1: 32 } as const;
const okpCurves = ['Ed25519', 'X25519'] as const;
const akpAlgorithms = ['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'] as const;

function isEc(algorithm: KeyAlgorithm): algorithm is keyof typeof ecCurves {
  return Object.hasOwn(ecCurves, algorithm);
}
function isOkp(algorithm: KeyAlgorithm): algorithm is (typeof okpCurves)[number] {
  return (okpCurves as readonly string[]).includes(algorithm);
}
function isAkp(algorithm: KeyAlgorithm): algorithm is (typeof akpAlgorithms)[number] {
  return (akpAlgorithms as readonly string[]).includes(algorithm);
}

const RSA_PUBLIC_EXPONENT = 'AQAB';

function unsupported(algorithm: unknown): never {
  throw new CryptoError('unsupported-algorithm', `no JWK form for ${String(algorithm)} keys`);
}

/** The public JWK of a raw public key, plus `d` / `priv` when the secret key is given. */
export function exportJwk(algorithm: KeyAlgorithm, publicKey: Uint8Array, secretKey?: Uint8Array): Jwk {
  validatePublicKey(algorithm, publicKey);
  if (secretKey !== undefined) validateSecretKey(algorithm, secretKey);
  if (isOkp(algorithm)) {
    return {
      kty: 'OKP',
      crv: algorithm,
      x: toBase64Url(publicKey),
      ...(secretKey && { d: toBase64Url(secretKey) }),
    };
  }
  if (isEc(algorithm)) {
    const uncompressed = ecCurves[algorithm].Point.fromBytes(publicKey).toBytes(false);
    const size = (uncompressed.length - 1) / 2;
    return {
      kty: 'EC',
      crv: algorithm,
      x: toBase64Url(uncompressed.subarray(1, 1 + size)),
      y: toBase64Url(uncompressed.subarray(1 + size)),
      ...(secretKey && { d: toBase64Url(secretKey) }),
    };
  }
  if (isAkp(algorithm)) {
    return {
      kty: 'AKP',
      alg: algorithm,
      pub: toBase64Url(publicKey),
      ...(secretKey && { priv: toBase64Url(secretKey) }),
    };
  }
  if (algorithm === 'RSA-3072') {
    return {
      kty: 'RSA',
      n: toBase64Url(publicKey),
      e: RSA_PUBLIC_EXPONENT,
      ...(secretKey && rsaJwkFromSecretKey(secretKey)),
    };
  }
  return unsupported(algorithm);
}

function member(jwk: Jwk, name: string): Uint8Array {
  const value = jwk[name];
  if (typeof value !== 'string') throw new CryptoError('invalid-key', `JWK member "${name}" is missing`);
  try {
    return fromBase64Url(value);
  } catch (error) {
    throw new CryptoError('invalid-key', `JWK member "${name}" is not base64url`, { cause: error });
  }
}

function optionalMember(jwk: Jwk, name: string): Uint8Array | undefined {
  return jwk[name] === undefined ? undefined : member(jwk, name);
}

function algorithmOf(jwk: Jwk): JwkAlgorithm {
  if (jwk === null || typeof jwk !== 'object')
    throw new CryptoError('invalid-key', 'a JWK must be an object');
  if (jwk.kty === 'OKP' && isOkp(jwk.crv as KeyAlgorithm)) return jwk.crv as JwkAlgorithm;
  if (jwk.kty === 'EC' && isEc(jwk.crv as KeyAlgorithm)) return jwk.crv as JwkAlgorithm;
  if (jwk.kty === 'AKP' && isAkp(jwk.alg as KeyAlgorithm)) return jwk.alg as JwkAlgorithm;
  if (jwk.kty === 'RSA') {
    if (jwk.e !== RSA_PUBLIC_EXPONENT) {
      throw new CryptoError(
        'unsupported-algorithm',
        'only RSA keys with public exponent 65537 are supported',
      );
    }
    if (typeof jwk.n === 'string' && member(jwk, 'n').length === RSA_MODULUS_BYTES) return 'RSA-3072';
    throw new CryptoError('unsupported-algorithm', 'only 3072-bit RSA keys are supported');
  }
  throw new CryptoError(
    'unsupported-algorithm',
    `unsupported JWK: kty ${String(jwk.kty)}, crv/alg ${String(jwk.crv ?? jwk.alg)}`,
  );
}

/** The raw RSA-3072 secret key of a private RSA JWK; members missing or too long are `invalid-key`. */
function guardRsaMembers(jwk: Jwk): Uint8Array {
  for (const name of ['d', 'p', 'q', 'dp', 'dq', 'qi']) member(jwk, name);
  try {
    return rsaSecretKeyFromJwk(jwk);
  } catch (error) {
    throw new CryptoError('invalid-key', 'RSA JWK private members have impossible sizes', { cause: error });
  }
}

/**
 * Reads a JWK into raw keys, validating lengths and points. A private JWK must hold the secret key of its
 * own public key: the public key is re-derived and compared, so a mismatched pair is `invalid-key`.
 */
export async function importJwk(
  jwk: Jwk,
): Promise<{ algorithm: JwkAlgorithm; publicKey: Uint8Array; secretKey?: Uint8Array }> {
  const algorithm = algorithmOf(jwk);
  let publicKey: Uint8Array;
  let secretKey: Uint8Array | undefined;
  if (isEc(algorithm)) {
    const x = member(jwk, 'x');
    const y = member(jwk, 'y');
    const size = ecCoordinateBytes[algorithm];
    if (x.length !== size || y.length !== size)
      throw new CryptoError('invalid-key', `${algorithm} x/y must be ${size} bytes`);
    const uncompressed = new Uint8Array(1 + 2 * size);
    uncompressed[0] = 0x04;
    uncompressed.set(x, 1);
    uncompressed.set(y, 1 + size);
    try {
      publicKey = ecCurves[algorithm].Point.fromBytes(uncompressed).toBytes(true);
    } catch (error) {
      throw new CryptoError('invalid-key', `${algorithm} JWK is not a point on the curve`, { cause: error });
    }
    secretKey = optionalMember(jwk, 'd');
  } else if (isOkp(algorithm)) {
    publicKey = member(jwk, 'x');
    secretKey = optionalMember(jwk, 'd');
  } else if (algorithm === 'RSA-3072') {
    publicKey = member(jwk, 'n');
    if (jwk.d !== undefined) {
      secretKey = guardRsaMembers(jwk);
      if (!constantTimeEqual(secretKey.subarray(0, RSA_MODULUS_BYTES), publicKey)) {
        throw new CryptoError('invalid-key', 'RSA JWK private members belong to another modulus');
      }
    }
  } else {
    publicKey = member(jwk, 'pub');
    secretKey = optionalMember(jwk, 'priv');
  }
  validatePublicKey(algorithm, publicKey);
  if (secretKey === undefined) return { algorithm, publicKey };
  validateSecretKey(algorithm, secretKey);
  const derived =
    algorithm === 'X25519'
      ? await keyAgreement('X25519').publicKeyFromSecretKey(secretKey)
      : await signatureScheme(algorithm).publicKeyFromSecretKey(secretKey);
  if (!constantTimeEqual(derived, publicKey)) {
    throw new CryptoError('invalid-key', `${algorithm} JWK secret key does not match its public key`);
  }
  return { algorithm, publicKey, secretKey };
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) over the required public members in lexicographic order. */
export function jwkThumbprint(jwk: Jwk): string {
  const algorithm = algorithmOf(jwk);
  const required: Record<string, unknown> = isEc(algorithm)
    ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : isOkp(algorithm)
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
      : algorithm === 'RSA-3072'
        ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
        : { alg: jwk.alg, kty: jwk.kty, pub: jwk.pub };
  for (const [name, value] of Object.entries(required)) {
    if (typeof value !== 'string') throw new CryptoError('invalid-key', `JWK member "${name}" is missing`);
  }
  // Keys are already in lexicographic order and values are base64url/ASCII names: JSON.stringify is canonical.
  return toBase64Url(sha256(new TextEncoder().encode(JSON.stringify(required))));
}
