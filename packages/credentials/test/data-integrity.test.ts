import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import {
  deriveKeyEncryptionKey,
  encodePublicKeyMultibase,
  LocalKeyStore,
  MemoryKeyRepository,
} from '@personachain/crypto';
import { base58 } from '@scure/base';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CredentialError,
  createKeyStoreSigner,
  createSigner,
  issueCredential,
  verifyCredential,
} from '../src/index.js';
import {
  documentLoader,
  newIssuer,
  SUITE_KEYS,
  type TestIssuer,
  v1Credential,
  v2Credential,
} from './data-integrity-helpers.js';

const DI_CONTEXT = 'https://w3id.org/security/data-integrity/v2';

async function expectCredentialError(promise: Promise<unknown>, code: string): Promise<CredentialError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CredentialError);
  expect((error as CredentialError).code).toBe(code);
  return error as CredentialError;
}

const issuers = new Map<string, TestIssuer>();
beforeAll(async () => {
  for (const algorithm of ['Ed25519', 'P-256', 'P-384'] as const)
    issuers.set(algorithm, await newIssuer(algorithm));
});
const issuerFor = (algorithm: string) => issuers.get(algorithm) as TestIssuer;

describe.each(SUITE_KEYS)('%s with %s keys', (suite, algorithm) => {
  it('issues and verifies a VC 2.0 credential', async () => {
    const { did, signer } = issuerFor(algorithm);
    const input = v2Credential(did);
    const before = structuredClone(input);
    const issued = await issueCredential({ credential: input, suite, signer, documentLoader });
    expect(input).toEqual(before);
    const proof = issued.proof as Record<string, unknown>;
    expect(proof).toMatchObject({
      type: 'DataIntegrityProof',
      cryptosuite: suite,
      proofPurpose: 'assertionMethod',
      verificationMethod: signer.id,
    });
    // ECDSA signatures are r‖s: 64 bytes for P-256 (SHA-256), 96 for P-384 (SHA-384).
    const signature = base58.decode((proof.proofValue as string).slice(1));
    expect(signature.length).toBe(algorithm === 'P-384' ? 96 : 64);
    const snapshot = structuredClone(issued);
    const result = await verifyCredential({ credential: issued, documentLoader });
    expect(result).toEqual({
      verified: true,
      errors: [],
      checks: ['data-model', 'json-ld', 'proof', 'validity-period'],
    });
    expect(issued).toEqual(snapshot);
  });

  it('issues VC 1.1 input with the data-integrity context injected, and verifies it', async () => {
    const { did, signer } = issuerFor(algorithm);
    const issued = await issueCredential({ credential: v1Credential(did), suite, signer, documentLoader });
    expect(issued['@context']).toEqual(['https://www.w3.org/2018/credentials/v1', DI_CONTEXT]);
    expect((await verifyCredential({ credential: issued, documentLoader })).verified).toBe(true);
  });

  it('rejects a tampered claim', async () => {
    const { did, signer } = issuerFor(algorithm);
    const issued = await issueCredential({ credential: v2Credential(did), suite, signer, documentLoader });
    const tampered = structuredClone(issued);
    (tampered.credentialSubject as Record<string, unknown>).alumniOf = 'Another School';
    const result = await verifyCredential({ credential: tampered, documentLoader });
    expect(result.verified).toBe(false);
    expect(result.errors.map((e) => e.code)).toEqual(['invalid-signature']);
  });

  it('rejects a proof that names another key of the same type', async () => {
    const { did, signer } = issuerFor(algorithm);
    const issued = await issueCredential({ credential: v2Credential(did), suite, signer, documentLoader });
    const other = await newIssuer(algorithm);
    const swapped = structuredClone(issued);
    swapped.issuer = other.did;
    (swapped.proof as Record<string, unknown>).verificationMethod = other.signer.id;
    const result = await verifyCredential({ credential: swapped, documentLoader });
    expect(result.errors.map((e) => e.code)).toEqual(['invalid-signature']);
  });
});

describe('issuing', () => {
  it('refuses a signer whose key the issuer does not control', async () => {
    const error = await expectCredentialError(
      issueCredential({
        credential: v2Credential('did:example:someone-else'),
        suite: 'eddsa-rdfc-2022',
        signer: issuerFor('Ed25519').signer,
        documentLoader,
      }),
      'issuer-mismatch',
    );
    expect(error.message).toContain('did:example:someone-else');
  });

  it('refuses a signer of the wrong algorithm for the suite', async () => {
    const { did, signer } = issuerFor('Ed25519');
    await expectCredentialError(
      issueCredential({ credential: v2Credential(did), suite: 'ecdsa-rdfc-2019', signer, documentLoader }),
      'invalid-signer',
    );
  });

  it('refuses a signer whose verification method holds another key type', async () => {
    const ed = issuerFor('Ed25519');
    const p256 = issuerFor('P-256');
    const signer = createSigner({
      id: ed.signer.id,
      algorithm: 'P-256',
      sign: (data) => p256.signer.sign({ data }),
    });
    await expectCredentialError(
      issueCredential({ credential: v2Credential(ed.did), suite: 'ecdsa-rdfc-2019', signer, documentLoader }),
      'invalid-signer',
    );
  });

  it('refuses an unknown cryptosuite', async () => {
    const { did, signer } = issuerFor('Ed25519');
    await expectCredentialError(
      issueCredential({
        credential: v2Credential(did),
        suite: 'ecdsa-jcs-2019' as never,
        signer,
        documentLoader,
      }),
      'unsupported-cryptosuite',
    );
  });

  it.each([
    ['no credentialSubject', { credentialSubject: undefined }, '/credentialSubject'],
    ['an empty credentialSubject', { credentialSubject: {} }, '/credentialSubject'],
    ['a string type', { type: 'VerifiableCredential' }, '/type'],
    ['a type without VerifiableCredential', { type: ['AlumniCredential'] }, '/type'],
    ['an issuer that is not a URL', { issuer: 'not a url' }, '/issuer'],
    ['a null issuer', { issuer: null }, '/issuer'],
    ['an id that is not a URL', { id: 'credential-1' }, '/id'],
    ['a validFrom without time zone', { validFrom: '2024-01-01T00:00:00' }, '/validFrom'],
    ['a validUntil that is not a date', { validUntil: 'tomorrow' }, '/validUntil'],
    [
      'validFrom after validUntil',
      { validFrom: '2025-01-01T00:00:00Z', validUntil: '2024-01-01T00:00:00Z' },
      '/validUntil',
    ],
    [
      'a credentialStatus without type',
      { credentialStatus: { id: 'https://example.com/status/1#3' } },
      '/credentialStatus/type',
    ],
    ['evidence without type', { evidence: [{ id: 'https://example.com/evidence/1' }] }, '/evidence/0/type'],
    ['a credentialSchema without id', { credentialSchema: { type: 'JsonSchema' } }, '/credentialSchema/id'],
    [
      'a relatedResource without digest',
      { relatedResource: [{ id: 'https://example.com/a' }] },
      '/relatedResource/0',
    ],
    ['a non-array @context', { '@context': 'https://www.w3.org/ns/credentials/v2' }, '/@context'],
    [
      'a wrong first context',
      { '@context': ['https://www.w3.org/ns/credentials/examples/v2'] },
      '/@context/0',
    ],
  ])('rejects %s with invalid-credential', async (_name, change, path) => {
    const { did, signer } = issuerFor('Ed25519');
    const credential = { ...v2Credential(did), ...change };
    const error = await expectCredentialError(
      issueCredential({ credential, suite: 'eddsa-rdfc-2022', signer, documentLoader }),
      'invalid-credential',
    );
    expect((error.details?.violations as { path: string }[] | undefined)?.map((v) => v.path)).toContain(path);
  });

  it('rejects VC 1.1 input without issuanceDate', async () => {
    const { did, signer } = issuerFor('Ed25519');
    const credential = v1Credential(did);
    delete credential.issuanceDate;
    await expectCredentialError(
      issueCredential({ credential, suite: 'eddsa-rdfc-2022', signer, documentLoader }),
      'invalid-credential',
    );
  });

  it.each([
    ['an undefined type in VC 1.1', v1Credential, { type: ['VerifiableCredential', 'InvalidType'] }],
    [
      'an undefined term in VC 1.1',
      v1Credential,
      { credentialSubject: { id: 'did:example:1', invalidTerm: 'x' } },
    ],
    // The VC 2.0 context has no @vocab (it moved to .../undefined-terms/v2), so safe mode rejects these too.
    [
      'an undefined term in VC 2.0',
      (issuer: string) => ({ ...v2Credential(issuer), '@context': ['https://www.w3.org/ns/credentials/v2'] }),
      { credentialSubject: { id: 'did:example:1', undefinedTerm: 'x' } },
    ],
  ])('rejects %s with malformed-jsonld (safe mode)', async (_name, build, change) => {
    const { did, signer } = issuerFor('Ed25519');
    const error = await expectCredentialError(
      issueCredential({
        credential: { ...build(did), ...change },
        suite: 'eddsa-rdfc-2022',
        signer,
        documentLoader,
      }),
      'malformed-jsonld',
    );
    expect(error.message).toMatch(/safe mode/i);
  });

  it('accepts undefined terms when the undefined-terms context supplies a @vocab', async () => {
    const { did, signer } = issuerFor('Ed25519');
    const credential = {
      ...v2Credential(did),
      '@context': [
        'https://www.w3.org/ns/credentials/v2',
        'https://www.w3.org/ns/credentials/undefined-terms/v2',
      ],
      credentialSubject: { id: 'did:example:1', undefinedTerm: 'x' },
    };
    const issued = await issueCredential({ credential, suite: 'eddsa-rdfc-2022', signer, documentLoader });
    expect((await verifyCredential({ credential: issued, documentLoader })).verified).toBe(true);
  });

  it('rejects an unknown context URL with unknown-context naming it', async () => {
    const { did, signer } = issuerFor('Ed25519');
    const credential = {
      ...v2Credential(did),
      '@context': ['https://www.w3.org/ns/credentials/v2', 'https://example.com/ctx/v1'],
    };
    const error = await expectCredentialError(
      issueCredential({ credential, suite: 'eddsa-rdfc-2022', signer, documentLoader }),
      'unknown-context',
    );
    expect(error.message).toContain('https://example.com/ctx/v1');
  });

  it('signs with a KeyStore key that never leaves the store', async () => {
    const keyStore = new LocalKeyStore({
      kek: deriveKeyEncryptionKey(new Uint8Array(32).fill(7)),
      repository: new MemoryKeyRepository(),
    });
    const key = await keyStore.createKey({ algorithm: 'P-384', purpose: 'credential-issuer' });
    const multibase = encodePublicKeyMultibase('P-384', key.publicKey);
    const did = `did:key:${multibase}`;
    const signer = await createKeyStoreSigner({
      keyStore,
      keyId: key.id,
      verificationMethod: `${did}#${multibase}`,
    });
    expect(signer.algorithm).toBe('P-384');
    const issued = await issueCredential({
      credential: v2Credential(did),
      suite: 'ecdsa-rdfc-2019',
      signer,
      documentLoader,
    });
    expect((await verifyCredential({ credential: issued, documentLoader })).verified).toBe(true);
  });

  it('refuses a KeyStore key of an algorithm these suites do not sign with', async () => {
    const keyStore = new LocalKeyStore({
      kek: deriveKeyEncryptionKey(new Uint8Array(32).fill(9)),
      repository: new MemoryKeyRepository(),
    });
    const key = await keyStore.createKey({ algorithm: 'secp256k1', purpose: 'credential-issuer' });
    await expectCredentialError(
      createKeyStoreSigner({ keyStore, keyId: key.id, verificationMethod: 'did:example:1#key-1' }),
      'invalid-signer',
    );
  });

  it('reports a failing signing function as signing-failed', async () => {
    const { did, signer } = issuerFor('Ed25519');
    const failing = createSigner({
      id: signer.id,
      algorithm: 'Ed25519',
      sign: async () => {
        throw new Error('HSM offline');
      },
    });
    await expectCredentialError(
      issueCredential({
        credential: v2Credential(did),
        suite: 'eddsa-rdfc-2022',
        signer: failing,
        documentLoader,
      }),
      'signing-failed',
    );
  });
});

describe('verifying', () => {
  let issued: Record<string, unknown>;
  beforeAll(async () => {
    const { did, signer } = issuerFor('Ed25519');
    issued = await issueCredential({
      credential: v2Credential(did, {
        validFrom: '2030-01-01T00:00:00Z',
        validUntil: '2031-01-01T00:00:00Z',
      }),
      suite: 'eddsa-rdfc-2022',
      signer,
      documentLoader,
    });
  });
  const codes = async (credential: unknown, now?: Date) =>
    (await verifyCredential({ credential, documentLoader, ...(now ? { now } : {}) })).errors.map(
      (e) => e.code,
    );

  it('judges the validity period at `now`', async () => {
    expect(await codes(issued, new Date('2030-06-01T00:00:00Z'))).toEqual([]);
    expect(await codes(issued, new Date('2029-12-31T23:59:59Z'))).toEqual(['not-yet-valid']);
    expect(await codes(issued, new Date('2031-01-01T00:00:01Z'))).toEqual(['expired']);
  });

  it('reports an expired VC 1.1 credential (expirationDate)', async () => {
    const { did, signer } = issuerFor('P-256');
    const credential = await issueCredential({
      credential: v1Credential(did, { expirationDate: '2021-01-01T00:00:00Z' }),
      suite: 'ecdsa-rdfc-2019',
      signer,
      documentLoader,
    });
    expect(await codes(credential)).toEqual(['expired']);
    expect(await codes(credential, new Date('2020-06-01T00:00:00Z'))).toEqual([]);
  });

  it('reports a missing or null proof', async () => {
    const { proof: _, ...unsigned } = issued;
    const at = new Date('2030-06-01T00:00:00Z');
    expect(await codes(unsigned, at)).toEqual(['missing-proof']);
    expect(await codes({ ...issued, proof: null }, at)).toEqual(['missing-proof']);
  });

  it('reports an unknown cryptosuite and other proof types', async () => {
    const proof = issued.proof as Record<string, unknown>;
    const at = new Date('2030-06-01T00:00:00Z');
    expect(await codes({ ...issued, proof: { ...proof, cryptosuite: 'eddsa-2019' } }, at)).toEqual([
      'unsupported-cryptosuite',
    ]);
    expect(await codes({ ...issued, proof: { ...proof, type: 'Ed25519Signature2020' } }, at)).toEqual([
      'invalid-proof',
    ]);
  });

  it.each([
    ['proofValue', 'invalid-proof'],
    ['verificationMethod', 'invalid-proof'],
    ['proofPurpose', 'invalid-proof'],
  ])('reports a proof without %s', async (property, code) => {
    const proof = { ...(issued.proof as Record<string, unknown>) };
    delete proof[property];
    expect(await codes({ ...issued, proof }, new Date('2030-06-01T00:00:00Z'))).toEqual([code]);
  });

  it('reports malformed created/expires and an expired proof', async () => {
    const proof = issued.proof as Record<string, unknown>;
    const at = new Date('2030-06-01T00:00:00Z');
    expect(await codes({ ...issued, proof: { ...proof, created: 'yesterday' } }, at)).toEqual([
      'invalid-proof',
    ]);
    expect(await codes({ ...issued, proof: { ...proof, expires: '2030-01-01' } }, at)).toEqual([
      'invalid-proof',
    ]);
    expect(await codes({ ...issued, proof: { ...proof, expires: '2030-01-01T00:00:00Z' } }, at)).toEqual([
      'proof-expired',
    ]);
  });

  it('reports a proof whose key type does not fit the cryptosuite', async () => {
    const proof = issued.proof as Record<string, unknown>;
    const at = new Date('2030-06-01T00:00:00Z');
    expect(await codes({ ...issued, proof: { ...proof, cryptosuite: 'ecdsa-rdfc-2019' } }, at)).toEqual([
      'wrong-key-type',
    ]);
  });

  it('reports a valid signature by a key the issuer does not control', async () => {
    const signerIssuer = issuerFor('Ed25519');
    const claimed = issuerFor('P-256');
    // Bypass issueCredential's own check to forge such a credential.
    const forged = await vc.issue({
      credential: v2Credential(claimed.did),
      suite: new DataIntegrityProof({ signer: signerIssuer.signer, cryptosuite: eddsaRdfc2022 }),
      documentLoader,
    });
    expect(await codes(forged)).toEqual(['issuer-mismatch']);
  });

  it('reports a key its controller does not list under assertionMethod', async () => {
    const { did } = issuerFor('Ed25519');
    const withoutAssertion: typeof documentLoader = async (url) => {
      const loaded = await documentLoader(url);
      if (url !== did) return loaded;
      const { assertionMethod: _, ...document } = loaded.document as Record<string, unknown>;
      return { ...loaded, document };
    };
    const result = await verifyCredential({
      credential: issued,
      documentLoader: withoutAssertion,
      now: new Date('2030-06-01T00:00:00Z'),
    });
    expect(result.errors.map((e) => e.code)).toEqual(['unauthorized-verification-method']);
  });

  it('reports a verification method that does not resolve', async () => {
    const proof = issued.proof as Record<string, unknown>;
    const credential = { ...issued, proof: { ...proof, verificationMethod: 'https://example.com/keys/1' } };
    expect(await codes(credential, new Date('2030-06-01T00:00:00Z'))).toEqual([
      'verification-method-not-found',
    ]);
  });

  it('reports an undefined term added after signing as malformed-jsonld', async () => {
    const { did, signer } = issuerFor('Ed25519');
    const v1 = await issueCredential({
      credential: v1Credential(did),
      suite: 'eddsa-rdfc-2022',
      signer,
      documentLoader,
    });
    const changed = structuredClone(v1);
    (changed.credentialSubject as Record<string, unknown>).invalidTerm = 'x';
    expect(await codes(changed)).toEqual(['malformed-jsonld']);
    expect(await codes({ ...v1, type: ['VerifiableCredential', 'InvalidType'] })).toEqual([
      'malformed-jsonld',
    ]);
  });

  it('reports an unknown context', async () => {
    const credential = {
      ...issued,
      '@context': [...(issued['@context'] as string[]), 'https://example.com/unknown'],
    };
    const result = await verifyCredential({ credential, documentLoader });
    expect(result.errors).toEqual([expect.objectContaining({ code: 'unknown-context' })]);
    expect(result.errors[0]?.message).toContain('https://example.com/unknown');
  });

  it('reports data-model violations with their paths, and a credential sent as a string', async () => {
    const result = await verifyCredential({ credential: { ...issued, issuer: 'nope' }, documentLoader });
    expect(result.errors).toEqual([expect.objectContaining({ code: 'invalid-credential', path: '/issuer' })]);
    expect(await codes(JSON.stringify(issued))).toEqual(['invalid-credential']);
  });
});
