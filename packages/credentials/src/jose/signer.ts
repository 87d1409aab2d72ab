import type { KeyStore, SignatureAlgorithm } from '@personachain/crypto';
import { CredentialError } from '../errors.js';
import { type JoseSigningAlgorithm, joseAlgorithmFor, joseAlgorithms } from './algorithms.js';

/**
 * Signs JWS signing inputs without holding a private key: `sign` is whatever produces the raw
 * signature (a KeyStore, an HSM, a wallet). ECDSA signatures must be P1363 `r‖s`.
 */
export interface JwsSigner {
  /** Goes into the protected header as `kid` (e.g. a DID URL of the verification method). */
  readonly kid: string;
  readonly alg: JoseSigningAlgorithm;
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

export interface CreateJwsSignerInput {
  kid: string;
  algorithm: SignatureAlgorithm;
  sign: (message: Uint8Array) => Promise<Uint8Array>;
}

/** A JWS signer from a raw signing function; the algorithm must be Ed25519, P-256, P-384 or P-521. */
export function createJwsSigner({ kid, algorithm, sign }: CreateJwsSignerInput): JwsSigner {
  const alg = joseAlgorithmFor(algorithm);
  if (alg === undefined) {
    throw new CredentialError('unsupported-alg', `no JOSE signing algorithm for ${algorithm} keys`);
  }
  if (kid.length === 0) throw new CredentialError('malformed', 'a JWS signer needs a kid');
  return {
    kid,
    alg,
    async sign(signingInput) {
      const signature = await sign(signingInput);
      // A DER-encoded ECDSA signature would produce a JWS nobody can verify: catch it here.
      if (signature.length !== joseAlgorithms[alg].signatureLength) {
        throw new CredentialError(
          'invalid-signature',
          `${alg} signature must be ${joseAlgorithms[alg].signatureLength} bytes, got ${signature.length}`,
        );
      }
      return signature;
    },
  };
}

/** A JWS signer backed by a KeyStore key: the private key never leaves the store. */
export async function keyStoreJwsSigner(keyStore: KeyStore, keyId: string, kid: string): Promise<JwsSigner> {
  const record = await keyStore.getKey(keyId);
  return createJwsSigner({
    kid,
    algorithm: record.algorithm,
    sign: (message) => keyStore.sign(keyId, message),
  });
}
