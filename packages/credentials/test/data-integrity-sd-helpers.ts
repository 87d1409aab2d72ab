import * as Bls12381Multikey from '@digitalbazaar/bls12-381-multikey';
import { driver } from '@digitalbazaar/did-method-key';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import { encodePublicKeyMultibase, signatureScheme } from '@personachain/crypto';
import {
  CredentialError,
  createBbsSigner,
  createDocumentLoader,
  createRawKeySigner,
  type DataIntegritySigner,
  type DocumentLoader,
} from '../src/index.js';

// did:key resolution for Ed25519 (holders), P-256 and BLS12-381 G2 keys (the platform's own resolver lives
// elsewhere).
const didKey = driver();
didKey.use({ multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from });
didKey.use({ multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from });
// A G2 key whose first byte is 0x80 encodes as zUC6, every other as zUC7.
didKey.use({ multibaseMultikeyHeader: 'zUC6', fromMultibase: Bls12381Multikey.from });
didKey.use({ multibaseMultikeyHeader: 'zUC7', fromMultibase: Bls12381Multikey.from });

export const documentLoader: DocumentLoader = createDocumentLoader({
  resolveDidUrl: (url) => didKey.get({ url }),
});

export interface SdIssuer {
  did: string;
  signer: DataIntegritySigner;
}

export const SD_SUITES = [
  ['ecdsa-sd-2023', 'P-256'],
  ['bbs-2023', 'BLS12-381-G2'],
] as const;

/** A did:key issuer: P-256 (ecdsa-sd-2023) with a raw-key signer, BLS12-381 G2 (bbs-2023) with a BBS signer. */
export async function newSdIssuer(algorithm: 'P-256' | 'BLS12-381-G2'): Promise<SdIssuer> {
  const { publicKey, secretKey } = await signatureScheme(algorithm).generateKeyPair();
  const publicKeyMultibase = encodePublicKeyMultibase(algorithm, publicKey);
  const did = `did:key:${publicKeyMultibase}`;
  const id = `${did}#${publicKeyMultibase}`;
  const signer =
    algorithm === 'P-256'
      ? createRawKeySigner({ id, algorithm, secretKey })
      : await createBbsSigner({ id, secretKey, publicKey });
  return { did, signer };
}

/** A VC 2.0 credential with nested objects and arrays to disclose piece by piece. */
export function sdCredential(issuer: string): Record<string, unknown> {
  return {
    '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
    id: 'urn:uuid:0b7e1b6e-6f8e-4f0e-9a4c-1d2e3f4a5b6c',
    type: ['VerifiableCredential', 'ExampleDriverCredential'],
    issuer,
    validFrom: '2024-01-01T00:00:00Z',
    validUntil: '2034-01-01T00:00:00Z',
    credentialSubject: {
      id: 'did:example:holder',
      name: 'Erika Mustermann',
      birthDate: '1984-01-26',
      address: { locality: 'Köln', postalCode: '51147', country: 'DE' },
      licenceClasses: [
        { code: 'B', issued: '2002-05-01' },
        { code: 'A', issued: '2010-07-14' },
      ],
    },
  };
}

/** What an issuer makes every disclosure carry: who issued it, when it is valid, and whom it is about. */
export const MANDATORY = ['/issuer', '/validFrom', '/validUntil', '/credentialSubject/id'];

export async function expectCredentialError(
  promise: Promise<unknown>,
  code: string,
): Promise<CredentialError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CredentialError))
    throw new Error(`expected a CredentialError, got ${String(error)}`);
  if (error.code !== code) throw new Error(`expected code ${code}, got ${error.code}: ${error.message}`);
  return error;
}
