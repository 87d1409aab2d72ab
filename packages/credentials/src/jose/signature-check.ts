import {
  CryptoError,
  importJwk,
  inPlaceVerifier,
  type Jwk,
  type SignatureVerifier,
} from '@personachain/crypto';
import type { JWK } from 'jose';
import { CredentialError } from '../errors.js';
import type { SignatureAlgorithmUse } from './algorithms.js';

/** Who checks the signatures of a JOSE or COSE verification. */
export interface SignatureCheckOptions {
  /**
   * Default: in place, on the calling thread. A server hands them to VerificationThreads instead, so its
   * event loop only packs them into a batch.
   */
  signatureVerifier?: SignatureVerifier | undefined;
}

// Importing a JWK (for ECDSA a point decompressed and validated) costs more than an Ed25519 verification:
// resolvers that return the same JWK object (a cached DID document) have it imported once.
const importedKeys = new WeakMap<JWK, Awaited<ReturnType<typeof importJwk>>>();

/** Ed25519 keys are named `EdDSA` (RFC 8037) or `Ed25519` (RFC 9864). */
const sameAlgorithm = (a: string, b: string) =>
  a === b || (a === 'EdDSA' && b === 'Ed25519') || (a === 'Ed25519' && b === 'EdDSA');

/** The raw public key of a resolved JWK, which must be public and of the key type `algorithm` needs. */
async function publicKeyFor(jwk: JWK, algorithm: SignatureAlgorithmUse, form: string): Promise<Uint8Array> {
  if (typeof jwk.alg === 'string' && !sameAlgorithm(jwk.alg, algorithm.name)) {
    throw new CredentialError('invalid-key', `the key is for ${jwk.alg}, the ${form} uses ${algorithm.name}`);
  }
  if (jwk.d !== undefined) throw new CredentialError('invalid-key', 'a verification key must be public');
  let imported = importedKeys.get(jwk);
  if (imported === undefined) {
    try {
      imported = await importJwk(jwk as Jwk);
    } catch (cause) {
      throw new CredentialError('invalid-key', `the resolved key cannot verify ${algorithm.name}`, { cause });
    }
    importedKeys.set(jwk, imported);
  }
  if (imported.algorithm !== algorithm.keyAlgorithm) {
    throw new CredentialError(
      'invalid-key',
      `the resolved key cannot verify ${algorithm.name}: it is a ${imported.algorithm} key`,
    );
  }
  return imported.publicKey;
}

/**
 * Checks a JWS or COSE_Sign1 signature (`form` names which, for errors) over `message` with the resolved
 * public JWK, whose key type `algorithm` fixes. A wrong signature is `invalid-signature`, an unusable key
 * `invalid-key`; anything else (a verification thread that died) is not the credential's fault and passes
 * through.
 */
export async function checkSignature(
  jwk: JWK,
  algorithm: SignatureAlgorithmUse,
  message: Uint8Array,
  signature: Uint8Array,
  form: string,
  { signatureVerifier = inPlaceVerifier }: SignatureCheckOptions,
): Promise<void> {
  const publicKey = await publicKeyFor(jwk, algorithm, form);
  if (signature.length !== algorithm.signatureLength) {
    throw new CredentialError(
      'invalid-signature',
      `a ${algorithm.name} signature is ${algorithm.signatureLength} bytes, this one ${signature.length}`,
    );
  }
  let valid: boolean;
  try {
    valid = await signatureVerifier.verify(algorithm.keyAlgorithm, publicKey, message, signature);
  } catch (cause) {
    if (!(cause instanceof CryptoError)) throw cause;
    const code = cause.code === 'invalid-key' ? 'invalid-key' : 'invalid-signature';
    throw new CredentialError(code, `the ${form} signature cannot be checked: ${cause.message}`, { cause });
  }
  if (!valid) throw new CredentialError('invalid-signature', `the ${form} signature does not verify`);
}
