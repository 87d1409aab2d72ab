import { type Implementations, selectBackend } from '../backends/select.js';
import type { Backend, SignatureAlgorithm, SignatureScheme, SignatureVerifier } from '../types.js';
import { nobleBls12381G2 } from './bls12-381.js';
import {
  nativeP256,
  nativeP384,
  nativeP521,
  nativeSecp256k1,
  nobleP256,
  nobleP384,
  nobleP521,
  nobleSecp256k1,
} from './ecdsa.js';
import { nativeEd25519, nobleEd25519 } from './ed25519.js';
import {
  nativeMlDsa44,
  nativeMlDsa65,
  nativeMlDsa87,
  nativeSlhDsa,
  nobleFalcon512,
  nobleMlDsa44,
  nobleMlDsa65,
  nobleMlDsa87,
  nobleSlhDsa,
} from './post-quantum.js';
import { nativeRsa3072 } from './rsa.js';

const schemes: Record<SignatureAlgorithm, Implementations<SignatureScheme>> = {
  Ed25519: { noble: nobleEd25519, native: nativeEd25519 },
  'P-256': { noble: nobleP256, native: nativeP256 },
  'P-384': { noble: nobleP384, native: nativeP384 },
  'P-521': { noble: nobleP521, native: nativeP521 },
  secp256k1: { noble: nobleSecp256k1, native: nativeSecp256k1 },
  'BLS12-381-G2': { noble: nobleBls12381G2 },
  'ML-DSA-44': { noble: nobleMlDsa44, native: nativeMlDsa44 },
  'ML-DSA-65': { noble: nobleMlDsa65, native: nativeMlDsa65 },
  'ML-DSA-87': { noble: nobleMlDsa87, native: nativeMlDsa87 },
  'SLH-DSA-SHA2-128s': { noble: nobleSlhDsa, native: nativeSlhDsa },
  'Falcon-512': { noble: nobleFalcon512 },
  'RSA-3072': { native: nativeRsa3072 },
};

/** The algorithms this build implements, in a stable order (RSA-3072 only where `node:crypto` runs). */
export const signatureAlgorithms = Object.keys(schemes) as SignatureAlgorithm[];

/**
 * The scheme for `algorithm`. `backend` defaults to `'native'`; a native request for an algorithm the
 * runtime lacks returns the noble scheme, whose `backend` property says so.
 */
export function signatureScheme(algorithm: SignatureAlgorithm, backend: Backend = 'native'): SignatureScheme {
  return selectBackend(schemes, 'signature algorithm', algorithm, backend);
}

/** Verification on the calling thread with the native schemes: the default where no verifier is given. */
export const inPlaceVerifier: SignatureVerifier = {
  verify: (algorithm, publicKey, message, signature) =>
    signatureScheme(algorithm).verify(publicKey, message, signature),
};
