import { driver } from '@digitalbazaar/did-method-key';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import { encodePublicKeyMultibase, signatureScheme } from '@personachain/crypto';
import {
  type CryptosuiteName,
  createDocumentLoader,
  createRawKeySigner,
  type DataIntegrityAlgorithm,
  type DataIntegritySigner,
  type DocumentLoader,
} from '../src/index.js';

// did:key resolution for the tests (the platform's own resolver lives elsewhere).
const didKey = driver();
didKey.use({ multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from });
didKey.use({ multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from });
didKey.use({ multibaseMultikeyHeader: 'z82L', fromMultibase: EcdsaMultikey.from });

export const documentLoader: DocumentLoader = createDocumentLoader({
  resolveDidUrl: (url) => didKey.get({ url }),
});

export interface TestIssuer {
  did: string;
  signer: DataIntegritySigner;
  publicKeyMultibase: string;
}

export async function newIssuer(algorithm: DataIntegrityAlgorithm): Promise<TestIssuer> {
  const { publicKey, secretKey } = await signatureScheme(algorithm).generateKeyPair();
  const publicKeyMultibase = encodePublicKeyMultibase(algorithm, publicKey);
  const did = `did:key:${publicKeyMultibase}`;
  return {
    did,
    publicKeyMultibase,
    signer: createRawKeySigner({ id: `${did}#${publicKeyMultibase}`, algorithm, secretKey }),
  };
}

export const SUITE_KEYS: [CryptosuiteName, DataIntegrityAlgorithm][] = [
  ['eddsa-rdfc-2022', 'Ed25519'],
  ['eddsa-jcs-2022', 'Ed25519'],
  ['ecdsa-rdfc-2019', 'P-256'],
  ['ecdsa-rdfc-2019', 'P-384'],
];

export function v2Credential(issuer: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
    id: 'urn:uuid:3f1c2a9e-3b1a-4c55-9d8e-0c1b2a3d4e5f',
    type: ['VerifiableCredential', 'AlumniCredential'],
    issuer,
    validFrom: '2024-01-01T00:00:00Z',
    credentialSubject: { id: 'did:example:subject', alumniOf: 'The School of Examples' },
    ...extra,
  };
}

/** The VC 1.1 request body the DI conformance suites send. */
export function v1Credential(issuer: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@context': ['https://www.w3.org/2018/credentials/v1'],
    id: 'urn:uuid:7d0c3c1e-9a57-4e0e-8d8e-2b0b7f9f1a11',
    type: ['VerifiableCredential'],
    issuer,
    issuanceDate: '2020-03-16T22:37:26.544Z',
    credentialSubject: { id: 'did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b' },
    ...extra,
  };
}
