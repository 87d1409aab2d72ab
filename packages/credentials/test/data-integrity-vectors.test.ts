import { readFileSync } from 'node:fs';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as ecdsaRdfc2019 } from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import { decodeSecretKeyMultibase } from '@personachain/crypto';
import { describe, expect, it } from 'vitest';
import {
  createDocumentLoader,
  createRawKeySigner,
  type DocumentLoader,
  issueCredential,
  verifyCredential,
} from '../src/index.js';
import { documentLoader } from './data-integrity-helpers.js';

const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8'));
const eddsa = read('di-eddsa.json');
const ecdsa = read('di-ecdsa.json');
const CONTROLLER = 'https://vc.example/issuers/5678';
const CREATED = '2023-02-24T23:36:38Z';

/**
 * The eddsa vectors' issuer is an https controller document, not a DID: serve it and its key from memory
 * in front of the offline loader.
 */
function controllerLoader(publicKeyMultibase: string): DocumentLoader {
  const method = {
    '@context': 'https://w3id.org/security/multikey/v1',
    id: `${CONTROLLER}#${publicKeyMultibase}`,
    type: 'Multikey',
    controller: CONTROLLER,
    publicKeyMultibase,
  };
  const controller = {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: CONTROLLER,
    verificationMethod: [method],
    assertionMethod: [method.id],
  };
  const documents = new Map<string, unknown>([
    [CONTROLLER, controller],
    [method.id, method],
  ]);
  const offline = createDocumentLoader();
  return async (url) => {
    const document = documents.get(url);
    return document === undefined ? offline(url) : { contextUrl: null, documentUrl: url, document };
  };
}

const edLoader = controllerLoader(eddsa.keyPair.publicKeyMultibase);
const edSigner = createRawKeySigner({
  id: `${CONTROLLER}#${eddsa.keyPair.publicKeyMultibase}`,
  algorithm: 'Ed25519',
  secretKey: decodeSecretKeyMultibase(eddsa.keyPair.privateKeyMultibase, 'Ed25519').secretKey,
});
// The validity period of the vectors is judged at the time they were made.
const now = new Date('2024-01-01T00:00:00Z');

describe.each(['eddsa-rdfc-2022', 'eddsa-jcs-2022'] as const)('vc-di-eddsa %s test vector', (suite) => {
  it('is reproduced byte for byte (Ed25519 is deterministic)', async () => {
    const issued = await issueCredential({
      credential: eddsa.unsigned,
      suite,
      signer: edSigner,
      documentLoader: edLoader,
      options: { created: CREATED },
    });
    expect((issued.proof as Record<string, unknown>).proofValue).toBe(eddsa[suite].proof.proofValue);
    expect(issued).toEqual(eddsa[suite]);
  });

  it('verifies, and fails once a claim changes', async () => {
    expect(await verifyCredential({ credential: eddsa[suite], documentLoader: edLoader, now })).toMatchObject(
      {
        verified: true,
        errors: [],
      },
    );
    const tampered = structuredClone(eddsa[suite]);
    tampered.credentialSubject.alumniOf = 'The School of Counterexamples';
    const result = await verifyCredential({ credential: tampered, documentLoader: edLoader, now });
    expect(result.errors.map((e) => e.code)).toEqual(['invalid-signature']);
  });
});

describe.each(['P-256', 'P-384'] as const)('vc-di-ecdsa ecdsa-rdfc-2019 %s test vector', (curve) => {
  const vector = ecdsa[curve];
  const verificationMethod = vector.signed.proof.verificationMethod as string;

  it('hashes proof options and document to the published combined hash (SHA-256 for P-256, SHA-384 for P-384)', async () => {
    const { proof, ...document } = vector.signed;
    const { proofValue: _, ...proofOptions } = proof;
    const { document: method } = await documentLoader(verificationMethod);
    const verifyData: Uint8Array = await (ecdsaRdfc2019 as any).createVerifyData({
      cryptosuite: ecdsaRdfc2019,
      document,
      proof: proofOptions,
      documentLoader,
      dataIntegrityProof: new DataIntegrityProof({ cryptosuite: ecdsaRdfc2019 }),
      verificationMethod: method,
    });
    expect(Buffer.from(verifyData).toString('hex')).toBe(vector.combinedHash);
  });

  it('verifies its signature; its issuer does not control the did:key, which is reported', async () => {
    const result = await verifyCredential({ credential: vector.signed, documentLoader, now });
    expect(result.errors.map((e) => e.code)).toEqual(['issuer-mismatch']);
    const tampered = structuredClone(vector.signed);
    tampered.name = 'Tampered Credential';
    const tamperedResult = await verifyCredential({ credential: tampered, documentLoader, now });
    expect(tamperedResult.errors.map((e) => e.code)).toEqual(['invalid-signature']);
  });

  it('issues with the vector key, matching the vector proof options, and verifies', async () => {
    const signer = createRawKeySigner({
      id: verificationMethod,
      algorithm: curve,
      secretKey: decodeSecretKeyMultibase(vector.keyPair.secretKeyMultibase, curve).secretKey,
    });
    const issuer = verificationMethod.split('#')[0];
    const issued = await issueCredential({
      credential: { ...ecdsa.unsigned, issuer },
      suite: 'ecdsa-rdfc-2019',
      signer,
      documentLoader,
      options: { created: CREATED },
    });
    const { proofValue, ...proofOptions } = issued.proof as Record<string, unknown>;
    const { proofValue: _, ...expectedOptions } = vector.signed.proof;
    expect(proofOptions).toEqual(expectedOptions);
    expect(proofValue).not.toBe(vector.signed.proof.proofValue);
    expect(await verifyCredential({ credential: issued, documentLoader, now })).toMatchObject({
      verified: true,
    });
  });
});
