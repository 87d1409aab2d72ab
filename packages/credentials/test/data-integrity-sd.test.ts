import {
  deriveKeyEncryptionKey,
  encodePublicKeyMultibase,
  LocalKeyStore,
  MemoryKeyRepository,
  signatureScheme,
} from '@personachain/crypto';
import { base64urlnopad } from '@scure/base';
import * as cborg from 'cborg';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createBbsSigner,
  createKeyStoreSigner,
  createPresentation,
  createRawKeySigner,
  createSigner,
  deriveCredential,
  issueCredential,
  signPresentation,
  verifyCredential,
  verifyPresentation,
} from '../src/index.js';
import {
  documentLoader,
  expectCredentialError,
  MANDATORY,
  newSdIssuer,
  SD_SUITES,
  type SdIssuer,
  sdCredential,
} from './data-integrity-sd-helpers.js';

type Json = Record<string, unknown>;
const subjectOf = (credential: Json) => credential.credentialSubject as Json;
const proofOf = (credential: Json) => credential.proof as Json;

/** Decodes a proof value (multibase base64url, 3-byte header, CBOR array), lets `change` edit it, re-encodes. */
function rewriteProofValue(credential: Json, change: (fields: unknown[]) => void): Json {
  const copy = structuredClone(credential);
  const proof = proofOf(copy);
  const bytes = base64urlnopad.decode((proof.proofValue as string).slice(1));
  const fields = cborg.decode(bytes.subarray(3), { useMaps: true }) as unknown[];
  change(fields);
  const body = cborg.encode(fields, { useMaps: true } as cborg.EncodeOptions);
  const out = new Uint8Array(3 + body.length);
  out.set(bytes.subarray(0, 3));
  out.set(body, 3);
  proof.proofValue = `u${base64urlnopad.encode(out)}`;
  return copy;
}

function swap(list: unknown[], i: number, j: number): void {
  [list[i], list[j]] = [list[j], list[i]];
}

describe.each(SD_SUITES)('%s with %s keys', (suite, algorithm) => {
  let issuer: SdIssuer;
  let other: SdIssuer;
  let base: Json;
  beforeAll(async () => {
    issuer = await newSdIssuer(algorithm);
    other = await newSdIssuer(algorithm);
    base = await issueCredential({
      credential: sdCredential(issuer.did),
      suite,
      signer: issuer.signer,
      documentLoader,
      options: { mandatoryPointers: MANDATORY },
    });
  });

  it('issues a base proof (multibase base64url CBOR) that verifiers refuse with a clear reason', async () => {
    const proof = proofOf(base);
    expect(proof).toMatchObject({
      type: 'DataIntegrityProof',
      cryptosuite: suite,
      proofPurpose: 'assertionMethod',
      verificationMethod: issuer.signer.id,
    });
    const bytes = base64urlnopad.decode((proof.proofValue as string).slice(1));
    expect([...bytes.subarray(0, 3)]).toEqual([0xd9, 0x5d, suite === 'ecdsa-sd-2023' ? 0x00 : 0x02]);
    // The mandatory pointers travel in the base proof for the holder.
    expect((cborg.decode(bytes.subarray(3), { useMaps: true }) as unknown[]).at(-1)).toEqual(MANDATORY);
    const result = await verifyCredential({ credential: base, documentLoader });
    expect(result.verified).toBe(false);
    expect(result.errors.map((e) => e.code)).toEqual(['derived-proof-required']);
  });

  it.each([
    ['nothing beyond the mandatory pointers', [], []],
    ['one claim', ['/credentialSubject/name'], ['name']],
    [
      'a nested claim and one array element',
      ['/credentialSubject/address/locality', '/credentialSubject/licenceClasses/1'],
      ['address', 'licenceClasses'],
    ],
    ['the whole subject', ['/credentialSubject'], ['name', 'birthDate', 'address', 'licenceClasses']],
  ])('derives and verifies a credential disclosing %s', async (_, selectivePointers, disclosed) => {
    const derived = await deriveCredential({ credential: base, selectivePointers, documentLoader });
    const result = await verifyCredential({ credential: derived, documentLoader });
    expect(result).toMatchObject({ verified: true, errors: [] });
    expect([...bytesOfProof(derived).subarray(0, 3)]).toEqual([
      0xd9,
      0x5d,
      suite === 'ecdsa-sd-2023' ? 0x01 : 0x03,
    ]);
    // Mandatory statements are always there; of the subject, only its id (a non-blank node) and what was selected.
    expect(derived).toMatchObject({
      issuer: issuer.did,
      validFrom: '2024-01-01T00:00:00Z',
      validUntil: '2034-01-01T00:00:00Z',
    });
    expect(Object.keys(subjectOf(derived)).sort()).toEqual(['id', ...disclosed].sort());
    if (selectivePointers.includes('/credentialSubject/address/locality')) {
      expect(subjectOf(derived).address).toEqual({ locality: 'Köln' });
      expect(subjectOf(derived).licenceClasses).toEqual([{ code: 'A', issued: '2010-07-14' }]);
    }
    if (selectivePointers.includes('/credentialSubject')) {
      expect(subjectOf(derived)).toEqual(subjectOf(base));
    }
  });

  describe('a derived credential', () => {
    let derived: Json;
    beforeAll(async () => {
      derived = await deriveCredential({
        credential: base,
        selectivePointers: ['/credentialSubject/name', '/credentialSubject/licenceClasses'],
        documentLoader,
      });
    });

    const expectFailure = async (credential: Json, code: string) => {
      const result = await verifyCredential({ credential, documentLoader });
      expect(result.verified).toBe(false);
      expect(result.errors.map((e) => e.code)).toEqual([code]);
      return result;
    };

    it('fails once a disclosed claim changes', async () => {
      const tampered = structuredClone(derived);
      subjectOf(tampered).name = 'Max Mustermann';
      await expectFailure(tampered, 'invalid-signature');
    });

    it('fails once a mandatory claim changes', async () => {
      await expectFailure({ ...derived, validUntil: '2099-01-01T00:00:00Z' }, 'invalid-signature');
    });

    it('fails once a disclosed claim is removed or an undisclosed one added', async () => {
      const removed = structuredClone(derived);
      delete subjectOf(removed).name;
      const result = await expectFailure(removed, 'invalid-signature');
      expect(result.errors[0]?.message).toMatch(/disclosed statements do not match the proof/);
      const added = structuredClone(derived);
      subjectOf(added).birthDate = '1984-01-26';
      await expectFailure(added, 'invalid-signature');
    });

    it('fails once values move between disclosed objects', async () => {
      const moved = structuredClone(derived);
      const [first, second] = subjectOf(moved).licenceClasses as Json[];
      if (first === undefined || second === undefined) throw new Error('two licence classes expected');
      [first.code, second.code] = [second.code, first.code];
      await expectFailure(moved, 'invalid-signature');
    });

    it('still verifies when a JSON array is reordered (an RDF set: the same statements)', async () => {
      const reordered = structuredClone(derived);
      (subjectOf(reordered).licenceClasses as Json[]).reverse();
      expect(await verifyCredential({ credential: reordered, documentLoader })).toMatchObject({
        verified: true,
      });
    });

    it('fails when the statements are matched to the proof in another order', async () => {
      // ecdsa-sd-2023: swap two per-statement signatures; bbs-2023: swap two disclosed message indexes.
      const reordered = rewriteProofValue(derived, (fields) =>
        swap(fields[suite === 'ecdsa-sd-2023' ? 2 : 3] as unknown[], 0, 1),
      );
      await expectFailure(reordered, 'invalid-signature');
    });

    it('fails under another issuer key (proof moved to it, or the signature replaced)', async () => {
      const moved = structuredClone(derived);
      moved.issuer = other.did;
      proofOf(moved).verificationMethod = other.signer.id;
      await expectFailure(moved, 'invalid-signature');
    });

    it('reports an issuer that does not control the key', async () => {
      // Signed over another issuer: the signature holds, the binding to the issuer does not.
      const foreign = await issueCredential({
        credential: sdCredential(other.did),
        suite,
        signer: other.signer,
        documentLoader,
        options: { mandatoryPointers: MANDATORY },
      });
      const disclosed = await deriveCredential({ credential: foreign, documentLoader });
      expect(await verifyCredential({ credential: disclosed, documentLoader })).toMatchObject({
        verified: true,
      });
      await expectCredentialError(
        issueCredential({
          credential: sdCredential(issuer.did),
          suite,
          signer: other.signer,
          documentLoader,
        }),
        'issuer-mismatch',
      );
    });

    it('rejects a broken proof value, another encoding and another cryptosuite', async () => {
      const broken = structuredClone(derived);
      proofOf(broken).proofValue =
        `u${base64urlnopad.encode(Uint8Array.from([0xd9, 0x5d, suite === 'ecdsa-sd-2023' ? 1 : 3, 0xff, 0x00]))}`;
      await expectFailure(broken, 'invalid-proof');
      await expectFailure(
        {
          ...derived,
          proof: { ...proofOf(derived), proofValue: 'z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk' },
        },
        'invalid-proof',
      );
      await expectFailure(
        { ...derived, proof: { ...proofOf(derived), cryptosuite: 'ecdsa-sd-2024' } },
        'unsupported-cryptosuite',
      );
    });

    it('fails when the verifier asks for a challenge or domain the proof does not carry', async () => {
      const withDomain = await verifyCredential({
        credential: derived,
        documentLoader,
        domain: 'domain.example',
      });
      expect(withDomain.errors.map((e) => e.code)).toEqual(['domain-mismatch']);
      const withChallenge = await verifyCredential({
        credential: derived,
        documentLoader,
        domain: 'domain.example',
        challenge: '1235abcd6789',
      });
      expect(withChallenge.errors.map((e) => e.code)).toEqual(['challenge-mismatch', 'domain-mismatch']);
    });

    it('is refused as input to another derivation', async () => {
      await expectCredentialError(deriveCredential({ credential: derived, documentLoader }), 'invalid-proof');
    });

    it('verifies inside a presentation signed by the holder', async () => {
      const { publicKey, secretKey } = await signatureScheme('Ed25519').generateKeyPair();
      const multibase = encodePublicKeyMultibase('Ed25519', publicKey);
      const holder = `did:key:${multibase}`;
      const presentation = await signPresentation({
        presentation: createPresentation({ verifiableCredential: [derived], holder }),
        suite: 'eddsa-rdfc-2022',
        signer: createRawKeySigner({ id: `${holder}#${multibase}`, algorithm: 'Ed25519', secretKey }),
        challenge: 'c-1',
        documentLoader,
      });
      const result = await verifyPresentation({ presentation, challenge: 'c-1', documentLoader });
      expect(result).toMatchObject({ verified: true, errors: [] });
      await expectCredentialError(
        signPresentation({
          presentation: createPresentation({ holder }),
          suite,
          signer: issuer.signer,
          challenge: 'c-1',
          documentLoader,
        }),
        'unsupported-cryptosuite',
      );
    });
  });

  describe('deriving refuses', () => {
    it('a pointer that selects nothing, or is not a JSON pointer', async () => {
      for (const pointer of [
        '/credentialSubject/nickname',
        '/credentialSubject/licenceClasses/2',
        'credentialSubject/name',
        '/a~2b',
      ]) {
        const error = await expectCredentialError(
          deriveCredential({ credential: base, selectivePointers: [pointer], documentLoader }),
          'invalid-pointer',
        );
        expect(error.details).toEqual({ pointer });
      }
    });

    it('a selection that leaves out what a credential needs', async () => {
      const bare = await issueCredential({
        credential: sdCredential(issuer.did),
        suite,
        signer: issuer.signer,
        documentLoader,
        options: { mandatoryPointers: ['/credentialSubject/name'] },
      });
      const error = await expectCredentialError(
        deriveCredential({ credential: bare, documentLoader }),
        'invalid-argument',
      );
      expect(error.message).toMatch(/issuer/);
      const nothing = await issueCredential({
        credential: sdCredential(issuer.did),
        suite,
        signer: issuer.signer,
        documentLoader,
      });
      await expectCredentialError(
        deriveCredential({ credential: nothing, documentLoader }),
        'invalid-argument',
      );
    });

    it('a credential without a selective-disclosure base proof', async () => {
      const { proof: _, ...unsecured } = base;
      await expectCredentialError(
        deriveCredential({ credential: unsecured, documentLoader }),
        'invalid-proof',
      );
      await expectCredentialError(
        deriveCredential({ credential: { ...base, type: 'x' }, documentLoader }),
        'invalid-credential',
      );
    });
  });

  it('refuses mandatory pointers that select nothing', async () => {
    await expectCredentialError(
      issueCredential({
        credential: sdCredential(issuer.did),
        suite,
        signer: issuer.signer,
        documentLoader,
        options: { mandatoryPointers: ['/issuer', '/credentialSubject/nickname'] },
      }),
      'invalid-pointer',
    );
  });
});

describe('ecdsa-sd-2023 specifics', () => {
  it('signs through a KeyStore-held P-256 key (one signature; the per-statement key is ephemeral)', async () => {
    const keyStore = new LocalKeyStore({
      kek: deriveKeyEncryptionKey(new Uint8Array(32).fill(5)),
      repository: new MemoryKeyRepository(),
    });
    const key = await keyStore.createKey({ algorithm: 'P-256', purpose: 'credential-issuer' });
    const multibase = encodePublicKeyMultibase('P-256', key.publicKey);
    const did = `did:key:${multibase}`;
    let calls = 0;
    const signer = await createKeyStoreSigner({
      keyStore: {
        getKey: (id) => keyStore.getKey(id),
        sign: (id, message) => {
          calls++;
          return keyStore.sign(id, message);
        },
      },
      keyId: key.id,
      verificationMethod: `${did}#${multibase}`,
    });
    const vc = await issueCredential({
      credential: sdCredential(did),
      suite: 'ecdsa-sd-2023',
      signer,
      documentLoader,
      options: { mandatoryPointers: MANDATORY },
    });
    expect(calls).toBe(1);
    const derived = await deriveCredential({
      credential: vc,
      selectivePointers: ['/credentialSubject/birthDate'],
      documentLoader,
    });
    expect(await verifyCredential({ credential: derived, documentLoader })).toMatchObject({ verified: true });
  });

  it('refuses P-384 and BLS keys, a presentation header, and pointers for other suites', async () => {
    const p384 = await signatureScheme('P-384').generateKeyPair();
    const mb = encodePublicKeyMultibase('P-384', p384.publicKey);
    await expectCredentialError(
      issueCredential({
        credential: sdCredential(`did:key:${mb}`),
        suite: 'ecdsa-sd-2023',
        signer: createRawKeySigner({
          id: `did:key:${mb}#${mb}`,
          algorithm: 'P-384',
          secretKey: p384.secretKey,
        }),
        documentLoader,
      }),
      'invalid-signer',
    );
    const bls = await newSdIssuer('BLS12-381-G2');
    await expectCredentialError(
      issueCredential({
        credential: sdCredential(bls.did),
        suite: 'ecdsa-sd-2023',
        signer: bls.signer,
        documentLoader,
      }),
      'invalid-signer',
    );
    const p256 = await newSdIssuer('P-256');
    const vc = await issueCredential({
      credential: sdCredential(p256.did),
      suite: 'ecdsa-sd-2023',
      signer: p256.signer,
      documentLoader,
      options: { mandatoryPointers: MANDATORY },
    });
    await expectCredentialError(
      deriveCredential({ credential: vc, documentLoader, presentationHeader: new Uint8Array([1]) }),
      'invalid-argument',
    );
    // A verifier that asks for a presentation header cannot get one from an ecdsa-sd-2023 proof.
    const derived = await deriveCredential({ credential: vc, documentLoader });
    const bound = await verifyCredential({
      credential: derived,
      documentLoader,
      presentationHeader: new Uint8Array([1]),
    });
    expect(bound.errors.map((e) => e.code)).toEqual(['presentation-header-mismatch']);
    await expectCredentialError(
      issueCredential({
        credential: sdCredential(p256.did),
        suite: 'ecdsa-rdfc-2019',
        signer: p256.signer,
        documentLoader,
        options: { mandatoryPointers: MANDATORY },
      }),
      'invalid-argument',
    );
  });

  it('issues from VC 1.1 input (the data-integrity context is added) and derives with the issuance date', async () => {
    const p256 = await newSdIssuer('P-256');
    const v1 = {
      '@context': ['https://www.w3.org/2018/credentials/v1'],
      id: 'urn:uuid:7d0c3c1e-9a57-4e0e-8d8e-2b0b7f9f1a11',
      type: ['VerifiableCredential'],
      issuer: p256.did,
      issuanceDate: '2020-03-16T22:37:26.544Z',
      credentialSubject: { id: 'did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b' },
    };
    const vc = await issueCredential({
      credential: v1,
      suite: 'ecdsa-sd-2023',
      signer: p256.signer,
      documentLoader,
      options: { mandatoryPointers: ['/issuer', '/issuanceDate'] },
    });
    expect(vc['@context']).toEqual([
      'https://www.w3.org/2018/credentials/v1',
      'https://w3id.org/security/data-integrity/v2',
    ]);
    // A subject with only an id compacts to a bare IRI in the library's skolemized copy (the v1 context types
    // credentialSubject as @id), so "/credentialSubject/id" selects nothing there; the whole subject does.
    await expectCredentialError(
      deriveCredential({ credential: vc, selectivePointers: ['/credentialSubject/id'], documentLoader }),
      'invalid-pointer',
    );
    const derived = await deriveCredential({
      credential: vc,
      selectivePointers: ['/credentialSubject'],
      documentLoader,
    });
    expect(derived.credentialSubject).toEqual(v1.credentialSubject);
    expect(await verifyCredential({ credential: derived, documentLoader })).toMatchObject({ verified: true });
  });
});

describe('bbs-2023 specifics', () => {
  let issuer: SdIssuer;
  let base: Json;
  beforeAll(async () => {
    issuer = await newSdIssuer('BLS12-381-G2');
    base = await issueCredential({
      credential: sdCredential(issuer.did),
      suite: 'bbs-2023',
      signer: issuer.signer,
      documentLoader,
      options: { mandatoryPointers: MANDATORY },
    });
  });

  it('binds a presentation header into the derived proof', async () => {
    const presentationHeader = new TextEncoder().encode('verifier-nonce-1');
    const derived = await deriveCredential({ credential: base, documentLoader, presentationHeader });
    expect(await verifyCredential({ credential: derived, documentLoader, presentationHeader })).toMatchObject(
      {
        verified: true,
      },
    );
    const other = await verifyCredential({
      credential: derived,
      documentLoader,
      presentationHeader: new TextEncoder().encode('verifier-nonce-2'),
    });
    expect(other.errors.map((e) => e.code)).toEqual(['presentation-header-mismatch']);
  });

  it('needs a multi-message BBS signer whose key is its verification method key', async () => {
    const { publicKey, secretKey } = await signatureScheme('BLS12-381-G2').generateKeyPair();
    expect(() =>
      createSigner({ id: issuer.signer.id, algorithm: 'BLS12-381-G2', sign: async () => new Uint8Array(48) }),
    ).toThrow(/createBbsSigner/);
    await expectCredentialError(
      createBbsSigner({ id: issuer.signer.id, secretKey, publicKey: issuer.signer.publicKey as Uint8Array }),
      'invalid-signer',
    );
    // A valid signer for another key, claiming the issuer's verification method.
    const impostor = await createBbsSigner({ id: issuer.signer.id, secretKey, publicKey });
    await expectCredentialError(
      issueCredential({
        credential: sdCredential(issuer.did),
        suite: 'bbs-2023',
        signer: impostor,
        documentLoader,
      }),
      'invalid-signer',
    );
    const p256 = await newSdIssuer('P-256');
    await expectCredentialError(
      issueCredential({
        credential: sdCredential(p256.did),
        suite: 'bbs-2023',
        signer: p256.signer,
        documentLoader,
      }),
      'invalid-signer',
    );
  });

  it('signs deterministically (BBS signatures depend only on key, header and messages)', async () => {
    const { secretKey } = await signatureScheme('BLS12-381-G2').generateKeyPair();
    const signer = await createBbsSigner({ id: 'did:example:issuer#key-1', secretKey });
    const input = {
      header: new Uint8Array(64).fill(1),
      messages: [new TextEncoder().encode('a'), new TextEncoder().encode('b')],
    };
    const first = await signer.multisign(input);
    expect(first).toHaveLength(80);
    expect(await signer.multisign(input)).toEqual(first);
  });
});

function bytesOfProof(credential: Json): Uint8Array {
  return base64urlnopad.decode((proofOf(credential).proofValue as string).slice(1));
}
