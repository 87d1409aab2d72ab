/**
 * Ported from the W3C Data Integrity suites: w3c-ccg/data-integrity-test-suite-assertion (suites/verify.js,
 * suites/create.js @001e58a4), w3c/vc-di-eddsa-test-suite (tests/20-rdfc-verify.js, tests/50-jcs-verify.js,
 * tests/70-data-model.js @a62061b) and w3c/vc-di-ecdsa-test-suite (@070efa3) for eddsa-rdfc-2022,
 * eddsa-jcs-2022 and ecdsa-rdfc-2019 (P-256, P-384), each with VC 1.1 and VC 2.0 credentials. The negative
 * vectors are signed over their invalid values, as the suites' generators make them (fixtures/conformance/di-vectors.ts).
 */
import { base58 } from '@scure/base';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueCredential, verifyCredential } from '../src/index.js';
import {
  documentLoader,
  newIssuer,
  SUITE_KEYS,
  type TestIssuer,
  v1Credential,
  v2Credential,
} from './data-integrity-helpers.js';
import {
  addChainedProof,
  type ProofMutation,
  type SignedSuite,
  signVector,
} from './fixtures/conformance/di-vectors.js';

type Json = Record<string, unknown>;
const DI_CONTEXT = 'https://w3id.org/security/data-integrity/v2';
const V2 = 'https://www.w3.org/ns/credentials/v2';

/** Signature lengths the suites check (Ed25519 64 bytes; ECDSA P-256 64, P-384 96). */
const SIGNATURE_BYTES = { Ed25519: 64, 'P-256': 64, 'P-384': 96 } as const;

const cases = SUITE_KEYS.flatMap(([suite, algorithm]) =>
  (['1.1', '2.0'] as const).map((version) => [suite, algorithm, version] as const),
);

describe.each(cases)('%s with %s keys, VC %s', (suite, algorithm, version) => {
  let issuer: TestIssuer;
  let credential: Json;
  let issued: Json;
  const sign = (mutate?: ProofMutation, extra: Partial<Parameters<typeof signVector>[0]> = {}) =>
    signVector({
      credential,
      suite: suite as SignedSuite,
      signer: issuer.signer,
      documentLoader,
      mutate,
      ...extra,
    });
  const verify = (vc: unknown, options: Json = {}) =>
    verifyCredential({ credential: vc, documentLoader, ...options });
  const codes = async (vc: unknown, options: Json = {}) =>
    (await verify(vc, options)).errors.map((e) => e.code);
  const withProof = (proof: unknown): Json => ({ ...issued, proof });
  const proof = () => structuredClone(issued.proof) as Json;

  beforeAll(async () => {
    issuer = await newIssuer(algorithm);
    credential = version === '1.1' ? v1Credential(issuer.did) : v2Credential(issuer.did);
    issued = await issueCredential({ credential, suite, signer: issuer.signer, documentLoader });
  });

  describe('data model of the issued proof (create.js, 70-data-model.js)', () => {
    it('DI §2.1: the proof is a single object of type DataIntegrityProof naming the cryptosuite as a string', () => {
      const p = proof();
      expect(p.type).toBe('DataIntegrityProof');
      expect(p.cryptosuite).toBe(suite);
    });

    it('DI §2.1: proofValue is a base58-btc multibase string of the signature length', () => {
      const value = proof().proofValue as string;
      expect(value).toMatch(/^z[1-9A-HJ-NP-Za-km-z]+$/);
      expect(base58.decode(value.slice(1))).toHaveLength(
        SIGNATURE_BYTES[algorithm as keyof typeof SIGNATURE_BYTES],
      );
    });

    it('DI §2.1: verificationMethod is a did:key URL of the issuer; proofPurpose is assertionMethod', () => {
      const p = proof();
      expect(p.verificationMethod).toBe(`${issuer.did}#${issuer.publicKeyMultibase}`);
      expect(p.proofPurpose).toBe('assertionMethod');
    });

    it('DI §2.1: created, if present, is an XML Schema dateTimeStamp', () => {
      expect(proof().created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    });

    it('DI §2.1: the document context defines DataIntegrityProof (v2 context, or data-integrity/v2 added to v1)', () => {
      const context = issued['@context'] as string[];
      expect(context.includes(V2) || context.includes(DI_CONTEXT)).toBe(true);
      if (version === '1.1') expect(context).toContain(DI_CONTEXT);
    });
  });

  describe('verify (suites/verify.js)', () => {
    it('MUST verify a valid VC (ours and one signed by the suites’ generator)', async () => {
      expect(await codes(issued)).toEqual([]);
      expect(await codes(await sign())).toEqual([]);
    });

    it('If the "proof" field is missing or invalid (null), an error MUST be raised', async () => {
      const { proof: _, ...unsigned } = issued;
      expect(await codes(unsigned)).toEqual(['missing-proof']);
      expect(await codes(withProof(null))).toEqual(['missing-proof']);
      expect((await verify(withProof('proof'))).verified).toBe(false);
    });

    it('If the "proof.type" field is missing or not "DataIntegrityProof", an error MUST be raised', async () => {
      const { type: _, ...noType } = proof();
      // VC 1.1: without its type the proof's terms are undefined, so JSON-LD safe mode refuses it first.
      expect(await codes(withProof(noType))).toEqual([
        version === '1.1' ? 'malformed-jsonld' : 'invalid-proof',
      ]);
      // VC 1.1 has no @vocab: an undefined proof type cannot be signed in safe mode, so it is put in after signing.
      const unknownType =
        version === '1.1'
          ? withProof({ ...proof(), type: 'UnknownProofType' })
          : await sign((p) => Object.assign(p, { type: 'UnknownProofType' }));
      expect((await verify(unknownType)).verified).toBe(false);
    });

    it('If the "proof.verificationMethod" field is missing or invalid, an error MUST be raised', async () => {
      const noVm = await sign((p) => delete p.verificationMethod);
      expect(await codes(noVm)).toEqual(['invalid-proof']);
      const invalidVm = await sign((p) => Object.assign(p, { verificationMethod: 'did:key:invalidVm' }));
      expect((await verify(invalidVm)).verified).toBe(false);
    });

    it('If the "proof.proofPurpose" field is missing or invalid, an error MUST be raised', async () => {
      expect(await codes(await sign((p) => delete p.proofPurpose))).toEqual(['invalid-proof']);
      const other = await sign((p) => Object.assign(p, { proofPurpose: 'authentication' }));
      expect(await codes(other)).toEqual(['invalid-proof']);
      // An undefined purpose cannot be signed in JSON-LD safe mode: it is put in after signing.
      expect((await verify(withProof({ ...proof(), proofPurpose: 'invalidPurpose' }))).verified).toBe(false);
    });

    it('If the "proof.proofPurpose" value does not match "options.expectedProofPurpose", an error MUST be raised', async () => {
      expect(await codes(issued, { expectedProofPurpose: 'authentication' })).toEqual(['invalid-proof']);
      expect(await codes(issued, { expectedProofPurpose: 'assertionMethod' })).toEqual([]);
    });

    it('If the "proof.proofValue" field is missing, invalid or not multibase-encoded, an error MUST be raised', async () => {
      const { proofValue, ...noValue } = proof();
      expect(await codes(withProof(noValue))).toEqual(['invalid-proof']);
      expect(await codes(withProof({ ...noValue, proofValue: null }))).toEqual(['invalid-proof']);
      // Without its header the value is no base58-btc multibase string, unless its next character happens to
      // be "z" (about 1 in 58): then it is a multibase string of another value, whose signature fails.
      const headless = (proofValue as string).slice(1);
      expect(await codes(withProof({ ...noValue, proofValue: headless }))).toEqual([
        headless.startsWith('z') ? expect.stringMatching(/^invalid-(proof|signature)$/) : 'invalid-proof',
      ]);
    });

    it('The cryptosuite MUST be a string identifying the suite: an unknown one is an error', async () => {
      const unknown = await sign((p) => Object.assign(p, { cryptosuite: 'UnknownCryptosuite' }));
      expect(await codes(unknown)).toEqual(['unsupported-cryptosuite']);
      expect(await codes(withProof({ ...proof(), cryptosuite: 42 }))).toEqual(['unsupported-cryptosuite']);
    });

    it('created, if included, MUST be a dateTimeStamp; values without an offset are refused', async () => {
      expect(await codes(await sign((p) => Object.assign(p, { created: 'invalidDate' })))).toEqual([
        'invalid-proof',
      ]);
      const noOffset = new Date().toISOString().replace(/\.\d+Z$/, '');
      expect(await codes(await sign((p) => Object.assign(p, { created: noOffset })))).toEqual([
        'invalid-proof',
      ]);
      expect(await codes(await sign((p) => Object.assign(p, { expires: noOffset })))).toEqual([
        'invalid-proof',
      ]);
    });

    it('an expired proof (expires in the past) is an error; a future one verifies', async () => {
      expect(await codes(await sign((p) => Object.assign(p, { expires: '2020-01-01T00:00:00Z' })))).toEqual([
        'proof-expired',
      ]);
      expect(await codes(await sign((p) => Object.assign(p, { expires: '2999-01-01T00:00:00Z' })))).toEqual(
        [],
      );
    });

    it('A proof "id", if present, MUST be a URL', async () => {
      expect(
        await codes(
          await sign((p) => Object.assign(p, { id: 'urn:uuid:6a1676b8-b51f-11ed-937b-d76685a20ff5' })),
        ),
      ).toEqual([]);
      expect((await verify(withProof({ ...proof(), id: 'not a url' }))).verified).toBe(false);
    });

    it('If "options.domain" is set and does not match "proof.domain", an error MUST be raised', async () => {
      const invalidDomain = await sign((p) =>
        Object.assign(p, { domain: 'invalid-vc-domain.example.com', challenge: '1235abcd6789' }),
      );
      expect(await codes(invalidDomain, { domain: 'domain.example' })).toEqual(['domain-mismatch']);
    });

    it('If "options.challenge" is set and does not match "proof.challenge", an error MUST be raised', async () => {
      const invalidChallenge = await sign((p) =>
        Object.assign(p, { domain: 'domain.example', challenge: 'invalid-challenge' }),
      );
      expect(await codes(invalidChallenge, { domain: 'domain.example', challenge: '1235abcd6789' })).toEqual([
        'challenge-mismatch',
      ]);
      expect(
        await codes(invalidChallenge, { domain: 'domain.example', challenge: 'invalid-challenge' }),
      ).toEqual([]);
    });

    it('undefined terms and types added after signing are JSON-LD errors', async () => {
      const withTerm = structuredClone(issued);
      (withTerm.credentialSubject as Json).invalidTerm = 'x';
      const withType = { ...issued, type: ['VerifiableCredential', 'InvalidType'] };
      const expected = version === '1.1' ? ['malformed-jsonld'] : ['invalid-signature'];
      // VC 2.0 credentials here use the examples context, whose @vocab defines every term: the change is
      // then caught by the signature instead.
      expect(await codes(withTerm)).toEqual(expected);
      expect(await codes(withType)).toEqual(expected);
    });

    it('a credential sent as a string is refused', async () => {
      expect(await codes(JSON.stringify(issued))).toEqual(['invalid-credential']);
    });
  });

  describe('proof chains (inputs/eddsa-rdfc-2022/*-previousProof*.json, optional feature)', () => {
    const FIRST = 'urn:uuid:26329423-bec9-4b2e-88cb-a7c7d9dc4544';
    const SECOND = 'urn:uuid:7e4a7b1c-2f4e-4a51-9d1e-0f1e2d3c4b5a';
    const chain = (secured: Json, previousProof: string | string[], id?: string) =>
      addChainedProof({
        secured,
        suite: suite as SignedSuite,
        signer: issuer.signer,
        documentLoader,
        previousProof,
        ...(id === undefined ? {} : { id }),
      });
    const first = (date?: string) => sign((p) => Object.assign(p, { id: FIRST }), date ? { date } : {});

    it('previousProofStringOk / previousProofArrayOk: a chained proof verifies with the proofs it names', async () => {
      const two = await chain(await first(), FIRST, SECOND);
      expect(await codes(two)).toEqual([]);
      const three = await chain(two, [FIRST, SECOND]);
      expect(three.proof).toHaveLength(3);
      expect(await codes(three)).toEqual([]);
    });

    it('previousProofMissingFail: a chained proof whose previous proof is not in the set MUST fail', async () => {
      const chained = await chain(await first(), FIRST);
      const [, second] = chained.proof as Json[];
      expect(await codes({ ...chained, proof: [second] })).toEqual(['invalid-proof']);
    });

    it('previousProofStringMissingFail / ArrayMissingFail: an id that names no proof of the set MUST fail', async () => {
      const chained = await chain(await first(), FIRST);
      const [one, second] = chained.proof as Json[];
      expect(
        await codes({ ...chained, proof: [one, { ...second, previousProof: 'urn:uuid:missing' }] }),
      ).toContain('invalid-proof');
      expect(
        await codes({ ...chained, proof: [one, { ...second, previousProof: [FIRST, 'urn:uuid:missing'] }] }),
      ).toContain('invalid-proof');
    });

    it('previousProofNotStringFail: a previousProof that is not a string or list of strings MUST fail', async () => {
      const chained = await chain(await first(), FIRST);
      const [one, second] = chained.proof as Json[];
      expect((await verify({ ...chained, proof: [one, { ...second, previousProof: 42 }] })).verified).toBe(
        false,
      );
    });

    it('the chained proof signs its previous proof: replacing that proof breaks it', async () => {
      const chained = await chain(await first(), FIRST);
      const [, second] = chained.proof as Json[];
      const other = await first('2024-01-01T00:00:00Z');
      expect(await codes({ ...chained, proof: [other.proof, second] })).toEqual(['invalid-signature']);
    });
  });

  describe('suite-specific verify tests (20-rdfc-verify.js, 50-jcs-verify.js, ecdsa 20-verify.js)', () => {
    it('If the decoded proofValue is not the signature length, an error MUST be raised', async () => {
      const value = proof().proofValue as string;
      const bytes = base58.decode(value.slice(1));
      const longer = `z${base58.encode(new Uint8Array([...bytes, ...new Uint8Array(32).fill(7)]))}`;
      const shorter = `z${base58.encode(bytes.slice(0, bytes.length - 1))}`;
      expect(await codes(withProof({ ...proof(), proofValue: longer }))).toEqual(['invalid-proof']);
      expect(await codes(withProof({ ...proof(), proofValue: shorter }))).toEqual(['invalid-proof']);
    });

    // The ecdsa suites' JCS variant (ecdsa-jcs-2019) is not installed, so this vector exists for eddsa only.
    if (suite === 'eddsa-rdfc-2022') {
      it('If a canonicalization algorithm other than RDFC-1.0 is used, an error MUST be raised', async () => {
        expect(await codes(await sign(undefined, { jcsCanonicalization: true }))).toEqual([
          'invalid-signature',
        ]);
      });
    }

    if (suite !== 'eddsa-jcs-2022') {
      it('If a hashing algorithm other than the suite’s SHA-2 is used, an error MUST be raised', async () => {
        expect(await codes(await sign(undefined, { sha512: true }))).toEqual(['invalid-signature']);
      });
    }

    it('If the "cryptosuite" field is not the suite’s string (signed as another suite), an error MUST be raised', async () => {
      const other =
        suite === 'ecdsa-rdfc-2019'
          ? 'ecdsa-sd-2023'
          : suite === 'eddsa-rdfc-2022'
            ? 'eddsa-jcs-2022'
            : 'eddsa-rdfc-2022';
      expect((await verify(withProof({ ...proof(), cryptosuite: other }))).verified).toBe(false);
    });
  });
});
