// Shared by the JOSE and SD-JWT tests: throwaway signing keys and the code of an expected failure.
import { exportJwk, type SignatureAlgorithm, signatureScheme } from '@personachain/crypto';
import type { JWK } from 'jose';
import { expect } from 'vitest';
import { CredentialError, createJwsSigner } from '../src/index.js';

/** A fresh key: a JWS signer over its raw secret key, and its public JWK. */
export async function key(algorithm: SignatureAlgorithm, kid: string) {
  const scheme = signatureScheme(algorithm);
  const { publicKey, secretKey } = await scheme.generateKeyPair();
  return {
    signer: createJwsSigner({ kid, algorithm, sign: (message) => scheme.sign(secretKey, message) }),
    jwk: exportJwk(algorithm, publicKey) as JWK,
  };
}

/** The CredentialError code `promise` rejects with (and that it rejects with a CredentialError at all). */
export async function failure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CredentialError);
  return (error as CredentialError).code;
}

/** A presentation by `holder` carrying `vcJwt` as its one EnvelopedVerifiableCredential. */
export function presentationOf(holder: string, vcJwt: string) {
  return {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiablePresentation'],
    holder,
    verifiableCredential: [
      {
        '@context': ['https://www.w3.org/ns/credentials/v2'],
        type: ['EnvelopedVerifiableCredential'],
        id: `data:application/vc+jwt,${vcJwt}`,
      },
    ],
  };
}
