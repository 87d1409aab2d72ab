/**
 * Ported from w3c/vc-di-ecdsa-test-suite (@070efa3, tests/*-sd-*.js: ecdsa-sd-2023 create/verify) and
 * w3c/vc-di-bbs-test-suite (@75546c2, tests/10-create.js, 20-verify.js), with the shared Data Integrity
 * verifier assertions (w3c-ccg/data-integrity-test-suite-assertion suites/verify.js): issuers make base proofs
 * with the client's mandatory pointers; verifiers accept only derived proofs and refuse every broken one.
 */
import { base64urlnopad } from '@scure/base';
import * as cborg from 'cborg';
import { beforeAll, describe, expect, it } from 'vitest';
import { deriveCredential, issueCredential, verifyCredential } from '../src/index.js';
import { documentLoader, newSdIssuer, SD_SUITES, type SdIssuer } from './data-integrity-sd-helpers.js';

type Json = Record<string, unknown>;
const V2 = 'https://www.w3.org/ns/credentials/v2';
const HEADER_BYTES = {
  'ecdsa-sd-2023': { base: 0x00, derived: 0x01 },
  'bbs-2023': { base: 0x02, derived: 0x03 },
};

/** The credential the suites issue: the VC 2.0 variant of their default input. */
function suiteCredential(issuer: string): Json {
  return {
    '@context': [V2],
    id: 'urn:uuid:2f9c3a1e-0d55-4c0b-9a41-2b3c4d5e6f70',
    type: ['VerifiableCredential'],
    issuer,
    credentialSubject: { id: 'did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b', name: 'Jane' },
  };
}

const proofValueBytes = (credential: Json) =>
  base64urlnopad.decode(((credential.proof as Json).proofValue as string).slice(1));
const withProofValue = (credential: Json, bytes: Uint8Array): Json => ({
  ...credential,
  proof: { ...(credential.proof as Json), proofValue: `u${base64urlnopad.encode(bytes)}` },
});

describe.each(SD_SUITES)('%s with %s keys', (suite, algorithm) => {
  let issuer: SdIssuer;
  let base: Json;
  let derived: Json;
  const codes = async (credential: unknown, options: Json = {}) =>
    (await verifyCredential({ credential, documentLoader, ...options })).errors.map((e) => e.code);
  const withProof = (proof: unknown): Json => ({ ...derived, proof });
  const proof = () => structuredClone(derived.proof) as Json;

  beforeAll(async () => {
    issuer = await newSdIssuer(algorithm);
    base = await issueCredential({
      credential: suiteCredential(issuer.did),
      suite,
      signer: issuer.signer,
      documentLoader,
      options: { mandatoryPointers: ['/issuer'] },
    });
    derived = await deriveCredential({
      credential: base,
      documentLoader,
      selectivePointers: ['/credentialSubject/id'],
    });
  });

  describe('create: the base proof', () => {
    it(`${suite}: the proof is a DataIntegrityProof with cryptosuite "${suite}" and proofPurpose assertionMethod`, () => {
      expect(base.proof).toMatchObject({
        type: 'DataIntegrityProof',
        cryptosuite: suite,
        proofPurpose: 'assertionMethod',
        verificationMethod: expect.stringMatching(new RegExp(`^${issuer.did}#`)),
      });
    });

    it(`${suite}: proofValue is multibase base64url-no-pad ("u") starting with the base proof header 0xd9 0x5d 0x${HEADER_BYTES[suite].base.toString(16).padStart(2, '0')}`, () => {
      expect((base.proof as Json).proofValue).toMatch(/^u[A-Za-z0-9_-]+$/);
      expect([...proofValueBytes(base).subarray(0, 3)]).toEqual([0xd9, 0x5d, HEADER_BYTES[suite].base]);
    });

    it(`${suite}: the base proof value is a CBOR array of the suite's components`, () => {
      const components = cborg.decode(proofValueBytes(base).subarray(3), { useMaps: true }) as unknown[];
      expect(Array.isArray(components)).toBe(true);
      expect(components.length).toBe(5);
    });
  });

  describe('verify: derived proofs', () => {
    it('MUST verify a valid derived credential', async () => {
      expect(await codes(derived)).toEqual([]);
      expect([...proofValueBytes(derived).subarray(0, 3)]).toEqual([0xd9, 0x5d, HEADER_BYTES[suite].derived]);
    });

    it('a base proof sent to a verifier is refused (only derived proofs verify)', async () => {
      expect(await codes(base)).toEqual(['derived-proof-required']);
    });

    it('If the proofValue string does not start with "u", an error MUST be raised', async () => {
      const value = proof().proofValue as string;
      expect(await codes(withProof({ ...proof(), proofValue: value.slice(1) }))).toEqual(['invalid-proof']);
      expect(await codes(withProof({ ...proof(), proofValue: `z${value.slice(1)}` }))).toEqual([
        'invalid-proof',
      ]);
    });

    it('If the decoded proofValue does not start with the derived proof header bytes, an error MUST be raised', async () => {
      const bytes = proofValueBytes(derived);
      const otherHeader = Uint8Array.from(bytes);
      otherHeader[2] = 0x7f;
      expect(await codes(withProofValue(derived, otherHeader))).toEqual(['invalid-proof']);
      const noTag = Uint8Array.from(bytes);
      noTag[0] = 0x00;
      expect(await codes(withProofValue(derived, noTag))).toEqual(['invalid-proof']);
    });

    it('broken CBOR after the header is an error, never an exception', async () => {
      const header = proofValueBytes(derived).subarray(0, 3);
      const truncated = proofValueBytes(derived).subarray(0, 20);
      const garbage = new Uint8Array([...header, 0xff, 0xfe, 0xfd, 0x00]);
      expect(
        (await verifyCredential({ credential: withProofValue(derived, truncated), documentLoader })).verified,
      ).toBe(false);
      expect(await codes(withProofValue(derived, garbage))).toEqual(['invalid-proof']);
    });

    it('a derived proof value with the wrong number of CBOR components is an error', async () => {
      const bytes = proofValueBytes(derived);
      const components = cborg.decode(bytes.subarray(3), { useMaps: true }) as unknown[];
      const body = cborg.encode(components.slice(0, 2), { useMaps: true } as cborg.EncodeOptions);
      expect(
        await codes(withProofValue(derived, new Uint8Array([...bytes.subarray(0, 3), ...body]))),
      ).toEqual(['invalid-proof']);
    });

    it('If the "proof" field is missing or null, an error MUST be raised', async () => {
      const { proof: _, ...unsigned } = derived;
      expect(await codes(unsigned)).toEqual(['missing-proof']);
      expect(await codes(withProof(null))).toEqual(['missing-proof']);
    });

    it('If proof.type, verificationMethod, proofPurpose or proofValue is missing, an error MUST be raised', async () => {
      for (const property of ['verificationMethod', 'proofPurpose', 'proofValue']) {
        const changed = proof();
        delete changed[property];
        expect(await codes(withProof(changed)), property).toEqual(['invalid-proof']);
      }
      // Without its type the proof's terms (scoped to DataIntegrityProof) are undefined: JSON-LD refuses it.
      const { type: _, ...untyped } = proof();
      expect(await codes(withProof(untyped))).toEqual(['malformed-jsonld']);
    });

    it('If proof.type is not DataIntegrityProof or the cryptosuite is another string, an error MUST be raised', async () => {
      expect(await codes(withProof({ ...proof(), type: 'UnknownProofType' }))).toEqual(['malformed-jsonld']);
      expect(await codes(withProof({ ...proof(), cryptosuite: 'UnknownCryptosuite' }))).toEqual([
        'unsupported-cryptosuite',
      ]);
      const other = suite === 'bbs-2023' ? 'ecdsa-sd-2023' : 'bbs-2023';
      expect(
        (
          await verifyCredential({
            credential: withProof({ ...proof(), cryptosuite: other }),
            documentLoader,
          })
        ).verified,
      ).toBe(false);
    });

    it('If proof.proofPurpose does not match the expected purpose, an error MUST be raised', async () => {
      expect(await codes(derived, { expectedProofPurpose: 'authentication' })).toEqual(['invalid-proof']);
    });

    it('If options.domain / options.challenge do not match the proof, an error MUST be raised', async () => {
      expect(await codes(derived, { domain: 'domain.example' })).toEqual(['domain-mismatch']);
      expect(await codes(derived, { domain: 'domain.example', challenge: '1235abcd6789' })).toEqual([
        'challenge-mismatch',
        'domain-mismatch',
      ]);
    });

    it('a disclosed value changed after derivation does not verify', async () => {
      const changed = structuredClone(derived);
      (changed.credentialSubject as Json).id = 'did:example:someone-else';
      expect(await codes(changed)).toEqual(['invalid-signature']);
    });
  });
});
