/**
 * Ported from the W3C VC Data Model 2.0 test suite (w3c/vc-data-model-2.0-test-suite @6e07524, tests/4.*,
 * 5-advanced-concepts): every input its issuer tests send, issued here through `issueCredential` (data model
 * and JSON-LD safe mode, as the issue endpoint does), and the verifier/presentation negatives through
 * `verifyCredential`/`verifyPresentation`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { validateEnvelope } from '../src/data-integrity/validation.js';
import {
  CredentialError,
  issueCredential,
  signPresentation,
  validateCredential,
  verifyCredential,
  verifyPresentation,
} from '../src/index.js';
import { documentLoader, newIssuer, type TestIssuer } from './data-integrity-helpers.js';
import {
  acceptedInputs,
  rejectedInputs,
  V2_CONTEXT_DIGEST_MULTIBASE,
  V2_CONTEXT_DIGEST_SRI,
} from './fixtures/conformance/vcdm-2.0-inputs.js';

const V2 = 'https://www.w3.org/ns/credentials/v2';
const EXAMPLES = 'https://www.w3.org/ns/credentials/examples/v2';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await newIssuer('Ed25519');
});

/** What the suite's TestEndpoints does before issuing: the issuer instance's id as `issuer` (or `issuer.id`). */
function withIssuer(input: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(input);
  if (typeof copy.issuer === 'object' && copy.issuer !== null) {
    (copy.issuer as Record<string, unknown>).id ??= issuer.did;
  } else copy.issuer ??= issuer.did;
  return copy;
}

const issue = (credential: Record<string, unknown>) =>
  issueCredential({
    credential: withIssuer(credential),
    suite: 'eddsa-rdfc-2022',
    signer: issuer.signer,
    documentLoader,
  });

async function expectRejected(credential: Record<string, unknown>): Promise<CredentialError> {
  const error = await issue(credential).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, JSON.stringify(credential)).toBeInstanceOf(CredentialError);
  expect(['invalid-credential', 'malformed-jsonld', 'unknown-context']).toContain(
    (error as CredentialError).code,
  );
  return error as CredentialError;
}

/** tests/input/credential-ok.json */
const ok = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  '@context': [V2],
  type: ['VerifiableCredential'],
  credentialSubject: { id: 'did:example:subject' },
  ...extra,
});

describe('VCDM 2.0 suite inputs (tests/input, issue)', () => {
  it.each(Object.entries(acceptedInputs))('issues %s', async (_name, input) => {
    const issued = await issue(input);
    expect(issued.proof).toBeTypeOf('object');
  });

  it.each(Object.entries(rejectedInputs))('rejects %s', async (_name, input) => {
    await expectRejected(input);
  });
});

describe('VCDM 2.0 §4.3 Contexts', () => {
  it('VCDM 2.0 §4.3: Verifiable credentials MUST include a @context property', async () => {
    const issued = await issue(ok());
    expect(issued['@context']).toEqual([V2]);
    const { '@context': _, ...noContext } = ok();
    await expectRejected(noContext);
  });

  it('VCDM 2.0 §4.3: the first @context item MUST be https://www.w3.org/ns/credentials/v2', async () => {
    await expectRejected(ok({ '@context': [EXAMPLES] }));
    await expectRejected(ok({ '@context': [EXAMPLES, V2] }));
    await expectRejected(ok({ '@context': V2 }));
  });

  it('VCDM 2.0 §4.3: subsequent items MUST be URLs or objects processable as JSON-LD contexts', async () => {
    await issue(ok({ '@context': [V2, { ex: 'https://example.org/#' }] }));
    await expectRejected(ok({ '@context': [V2, 123192875] }));
    await expectRejected(ok({ '@context': [V2, 'https ://not-a-url/contexts/example/v1'] }));
  });
});

describe('VCDM 2.0 §4.4 Identifiers', () => {
  it('VCDM 2.0 §4.4: if present, id MUST be a single URL', async () => {
    await issue(ok({ id: 'urn:uuid:8f3c1c63-a2a2-4e7f-8e54-5e0b2a4b8a3c' }));
    await issue(ok({ id: 'https://example.org/credentials/1' }));
    await expectRejected(ok({ id: 'not a url' }));
    await expectRejected(ok({ id: ['urn:uuid:1', 'urn:uuid:2'] }));
    await expectRejected(ok({ id: 12 }));
  });
});

describe('VCDM 2.0 §4.5 Types', () => {
  it('VCDM 2.0 §4.5: credentials MUST have a type including VerifiableCredential', async () => {
    const { type: _, ...noType } = ok();
    await expectRejected(noType);
    await expectRejected(ok({ type: ['ExampleCredential'] }));
    await expectRejected(ok({ type: 'VerifiableCredential' }));
  });

  it('VCDM 2.0 §4.5: type values MUST be terms or absolute URLs (mapped by a context)', async () => {
    await issue(ok({ type: ['VerifiableCredential', 'https://example.org/#ExampleTestCredential'] }));
    await issue(ok({ '@context': [V2, EXAMPLES], type: ['VerifiableCredential', 'ExampleDegree'] }));
    await issue(ok({ type: ['https://example.org/#A', 'VerifiableCredential', 'https://example.org/#B'] }));
  });

  it('VCDM 2.0 §4.5: credentialStatus, termsOfUse, refreshService, credentialSchema and evidence MUST have a type', async () => {
    const untyped = { id: 'https://example.org/1' };
    for (const property of ['credentialStatus', 'termsOfUse', 'refreshService', 'evidence']) {
      await expectRejected(ok({ [property]: untyped }));
      await expectRejected(ok({ [property]: [untyped] }));
    }
    await expectRejected(ok({ credentialSchema: { id: 'https://example.org/schema.json' } }));
    await issue(
      ok({
        '@context': [V2, EXAMPLES],
        termsOfUse: { type: 'ExampleTermsPolicy', id: 'https://example.org/policies/1' },
        evidence: [{ type: ['Evidence'], id: 'https://example.org/evidence/1' }],
      }),
    );
  });
});

describe('VCDM 2.0 §4.6 Names and Descriptions', () => {
  it('VCDM 2.0 §4.6: name and description MUST be strings or language value objects (credential and issuer)', async () => {
    const names = {
      name: [
        { '@value': 'Example', '@language': 'en' },
        { '@value': 'Exemple', '@language': 'fr' },
      ],
      description: { '@value': 'مثال', '@language': 'ar', '@direction': 'rtl' },
    };
    await issue(ok(names));
    await issue(ok({ issuer: { id: issuer.did, ...names } }));
    await expectRejected(ok({ name: 42 }));
    await expectRejected(ok({ description: { '@value': 'x', '@direction': 'up' } }));
    await expectRejected(ok({ issuer: { id: issuer.did, description: { '@value': 'x', extra: 1 } } }));
  });
});

describe('VCDM 2.0 §4.7 Issuer', () => {
  it('VCDM 2.0 §4.7: a credential MUST have an issuer, a URL or an object with an id URL', () => {
    const violations = (credential: unknown) => validateCredential(credential).map((v) => v.path);
    expect(violations(ok())).toContain('/issuer');
    expect(violations(ok({ issuer: 42 }))).toContain('/issuer');
    expect(violations(ok({ issuer: {} }))).toContain('/issuer/id');
    expect(violations(ok({ issuer: { id: 42 } }))).toContain('/issuer/id');
    expect(violations(ok({ issuer: 'did:example:issuer' }))).toEqual([]);
    expect(violations(ok({ issuer: { id: 'https://example.org/issuer' } }))).toEqual([]);
  });
});

describe('VCDM 2.0 §4.8 Credential Subject', () => {
  it('VCDM 2.0 §4.8: a credential MUST have a credentialSubject whose objects make claims', async () => {
    const { credentialSubject: _, ...noSubject } = ok();
    await expectRejected(noSubject);
    await expectRejected(ok({ credentialSubject: {} }));
    await expectRejected(ok({ credentialSubject: [] }));
    await expectRejected(ok({ credentialSubject: 'did:example:subject' }));
    await issue(ok({ credentialSubject: [{ id: 'did:example:subject' }, { id: 'did:example:subject2' }] }));
  });
});

describe('VCDM 2.0 §4.9 Validity Period', () => {
  it('VCDM 2.0 §4.9: validFrom and validUntil MUST be dateTimeStamps', async () => {
    await issue(ok({ validFrom: '2024-01-01T00:00:00.123Z', validUntil: '2034-01-01T00:00:00+05:00' }));
    await expectRejected(ok({ validFrom: '2024-01-01T00:00:00' }));
    await expectRejected(ok({ validUntil: '2024-01-01' }));
    await expectRejected(ok({ validUntil: 'Sat 25 Feb 2023 07:16:31 PM CST' }));
  });

  it('VCDM 2.0 §4.9: validFrom MUST NOT be later than validUntil', async () => {
    await expectRejected(ok({ validFrom: '2030-01-01T00:00:00Z', validUntil: '2029-01-01T00:00:00Z' }));
    await issue(ok({ validFrom: '2029-01-01T00:00:00Z', validUntil: '2029-01-01T00:00:00Z' }));
  });
});

describe('VCDM 2.0 §4.10 Status and §4.11 Data Schemas', () => {
  it('VCDM 2.0 §4.10: credentialStatus id, if present, MUST be a single URL; an unknown type is kept as given', async () => {
    const issued = await issue(acceptedInputs['credential-status-ok.json'] as Record<string, unknown>);
    expect(issued.credentialStatus).toEqual({ id: 'did:example:status', type: 'CredentialStatusList2017' });
    await expectRejected(
      ok({
        '@context': [V2, EXAMPLES],
        credentialStatus: { id: 'not a url', type: 'ExampleStatus' },
      }),
    );
  });

  it('VCDM 2.0 §4.11: each credentialSchema MUST have a type and an id URL', async () => {
    const schema = { id: 'https://example.org/schema.json', type: 'JsonSchema' };
    await issue(ok({ credentialSchema: schema }));
    await issue(ok({ credentialSchema: [schema, { ...schema, id: 'https://example.org/2.json' }] }));
    await expectRejected(ok({ credentialSchema: { ...schema, id: 42 } }));
  });
});

describe('VCDM 2.0 §4.12/§4.13 Securing mechanisms and verifiers', () => {
  it('VCDM 2.0 §4.12: an issued credential carries at least one proof object', async () => {
    const issued = await issue(ok());
    expect(issued.proof).toMatchObject({ type: 'DataIntegrityProof', cryptosuite: 'eddsa-rdfc-2022' });
    const verified = await verifyCredential({ credential: issued, documentLoader });
    expect(verified).toMatchObject({ verified: true, errors: [] });
  });

  it('VCDM 2.0 §1.3: verifiers MUST produce errors for non-conforming documents', async () => {
    const nonconforming = { type: ['NonconformingDocument'] };
    expect((await verifyCredential({ credential: nonconforming, documentLoader })).verified).toBe(false);
    const vp = await verifyPresentation({ presentation: nonconforming, challenge: 'c', documentLoader });
    expect(vp.verified).toBe(false);
  });

  it('VCDM 2.0 §4.12: a verifier rejects a credential without a proof', async () => {
    const result = await verifyCredential({ credential: withIssuer(ok()), documentLoader });
    expect(result.errors.map((e) => e.code)).toEqual(['missing-proof']);
  });

  it('VCDM 2.0 §4.9: a credential whose validUntil has passed does not verify', async () => {
    const issued = await issue(ok({ validUntil: '2025-01-01T00:00:00Z' }));
    const result = await verifyCredential({
      credential: issued,
      documentLoader,
      now: new Date('2026-01-01'),
    });
    expect(result.errors.map((e) => e.code)).toEqual(['expired']);
  });
});

describe('VCDM 2.0 §4.13 Verifiable Presentations', () => {
  const vp = (extra: Record<string, unknown> = {}) => ({
    '@context': [V2],
    type: ['VerifiablePresentation'],
    ...extra,
  });
  const rejectsVp = async (presentation: Record<string, unknown>) => {
    const result = await verifyPresentation({
      presentation,
      challenge: 'c',
      documentLoader,
      allowUnsigned: true,
    });
    expect(result.verified, JSON.stringify(presentation)).toBe(false);
    expect(result.errors[0]?.code).toBe('invalid-presentation');
  };

  it('VCDM 2.0 §4.13: presentations MUST include @context with the v2 context first', async () => {
    const { '@context': _, ...noContext } = vp();
    await rejectsVp(noContext);
    await rejectsVp(vp({ '@context': [EXAMPLES] }));
  });

  it('VCDM 2.0 §4.13: presentations MUST have a type including VerifiablePresentation', async () => {
    const { type: _, ...noType } = vp();
    await rejectsVp(noType);
    await rejectsVp(vp({ type: ['ExamplePresentation'] }));
  });

  it('VCDM 2.0 §4.13: verifiableCredential values MUST be objects, never strings or URLs', async () => {
    await rejectsVp(vp({ verifiableCredential: ['https://example.org/credentials/1'] }));
    await rejectsVp(vp({ verifiableCredential: 42 }));
  });

  it('VCDM 2.0 §4.13: an unsigned presentation with a valid credential verifies when unsigned ones are allowed', async () => {
    const credential = await issue(ok());
    const result = await verifyPresentation({
      presentation: vp({ verifiableCredential: [credential] }),
      challenge: 'c',
      documentLoader,
      allowUnsigned: true,
    });
    expect(result).toMatchObject({ verified: true, errors: [] });
  });

  it('VCDM 2.0 §4.13: a presentation whose credential lacks VerifiableCredential fails', async () => {
    const credential = await issue(ok());
    const broken = { ...credential, type: ['https://example.org/#ExampleCredential'] };
    const result = await verifyPresentation({
      presentation: vp({ verifiableCredential: [broken] }),
      challenge: 'c',
      documentLoader,
      allowUnsigned: true,
    });
    // Without the VerifiableCredential type the v2 context's type-scoped terms (issuer, credentialSubject, …)
    // are undefined, so the presentation already fails JSON-LD safe mode.
    expect(result.verified).toBe(false);
    expect(result.errors.map((e) => e.code)).toEqual(['malformed-jsonld']);
  });
});

describe('VCDM 2.0 §4.13 presentations signed by the suite’s local holder (tests/4.13-verifiable-presentations.js)', () => {
  const ACME = 'did:example:acme';
  /** createLocalVp: the holder (the suite's localIssuer) signs with eddsa-rdfc-2022. */
  const signedVp = (presentation: Record<string, unknown>) =>
    signPresentation({
      presentation: { '@context': [V2], type: ['VerifiablePresentation'], ...presentation },
      suite: 'eddsa-rdfc-2022',
      signer: issuer.signer,
      documentLoader,
      challenge: 'c',
    });
  /** tests/input/presentation-vc-ok.json's credential, without a proof of its own. */
  const unsecured = (credentialIssuer: string) => withIssuer(ok({ issuer: credentialIssuer }));
  const verifyVp = async (presentation: Record<string, unknown>) =>
    verifyPresentation({ presentation: await signedVp(presentation), challenge: 'c', documentLoader });

  it('VCDM 2.0 §4.13: holder, if present, MUST be a URL or an object with an id', async () => {
    expect((await verifyVp({ holder: issuer.did })).verified).toBe(true);
    expect((await verifyVp({ holder: { id: issuer.did } })).verified).toBe(true);
    const result = await verifyPresentation({
      presentation: { '@context': [V2], type: ['VerifiablePresentation'], holder: { name: 'no id' } },
      challenge: 'c',
      documentLoader,
      allowUnsigned: true,
    });
    expect(result.errors.map((e) => e.code)).toEqual(['invalid-presentation']);
  });

  it('VCDM 2.0 §4.13.4: a VP with a self-asserted credential (secured only by the VP) MUST include a holder', async () => {
    const result = await verifyVp({ verifiableCredential: [unsecured(issuer.did)] });
    expect(result.verified).toBe(false);
    expect(result.credentialResults[0]?.errors.map((e) => e.code)).toEqual(['holder-required']);
  });

  it('VCDM 2.0 §4.13.4: the self-asserted credential’s issuer MUST be identical to the VP’s holder', async () => {
    const match = await verifyVp({ holder: issuer.did, verifiableCredential: [unsecured(issuer.did)] });
    expect(match).toMatchObject({ verified: true, errors: [] });

    const holderMismatch = await verifyVp({ holder: ACME, verifiableCredential: [unsecured(issuer.did)] });
    expect(holderMismatch.verified).toBe(false);
    expect(holderMismatch.errors.map((e) => e.code)).toContain('holder-mismatch');

    const issuerMismatch = await verifyVp({ holder: issuer.did, verifiableCredential: [unsecured(ACME)] });
    expect(issuerMismatch.verified).toBe(false);
    expect(issuerMismatch.credentialResults[0]?.errors.map((e) => e.code)).toEqual(['holder-mismatch']);
  });

  it('a credential without a proof in an unsigned presentation is not secured at all', async () => {
    const result = await verifyPresentation({
      presentation: {
        '@context': [V2],
        type: ['VerifiablePresentation'],
        holder: issuer.did,
        verifiableCredential: [unsecured(issuer.did)],
      },
      challenge: 'c',
      documentLoader,
      allowUnsigned: true,
    });
    expect(result.credentialResults[0]?.errors.map((e) => e.code)).toEqual(['missing-proof']);
  });
});

describe('VCDM 2.0 §4.13.1/§4.13.2 Enveloped credentials and presentations (tests/4.13.2-envelopes.js)', () => {
  const envelope = {
    '@context': V2,
    type: 'EnvelopedVerifiableCredential',
    id: 'data:application/vc+jwt,eyJhbGciOiJFUzI1NiJ9.e30.AA',
  };
  const paths = (value: unknown, kind: 'credential' | 'presentation' = 'credential') =>
    validateEnvelope(value, kind).map((v) => v.path);

  it('VCDM 2.0 §4.13.1: the @context MUST include the base context', () => {
    expect(paths(envelope)).toEqual([]);
    expect(paths({ ...envelope, '@context': [V2] })).toEqual([]);
    expect(paths({ ...envelope, '@context': [] })).toEqual(['/@context']);
    expect(paths({ ...envelope, '@context': EXAMPLES })).toEqual(['/@context']);
  });

  it('VCDM 2.0 §4.13.1: the id MUST be a data: URL', () => {
    expect(paths({ ...envelope, id: envelope.id.split(',').pop() })).toEqual(['/id']);
  });

  it('VCDM 2.0 §4.13.1: the type MUST be EnvelopedVerifiableCredential', () => {
    const { type: _, ...untyped } = envelope;
    expect(paths(untyped)).toEqual(['/type']);
    expect(paths({ ...envelope, type: 'VerifiableCredential' })).toEqual(['/type']);
  });

  it('VCDM 2.0 §4.13.2: an enveloped presentation needs the base context, a data: URL id and its own type', () => {
    const vp = {
      '@context': [V2],
      type: 'EnvelopedVerifiablePresentation',
      id: 'data:application/vp+jwt,e30',
    };
    expect(paths(vp, 'presentation')).toEqual([]);
    expect(paths({ ...vp, '@context': [EXAMPLES] }, 'presentation')).toEqual(['/@context']);
    expect(paths({ ...vp, type: ['VerifiablePresentation'] }, 'presentation')).toEqual(['/type']);
    expect(paths({ ...vp, id: 'e30' }, 'presentation')).toEqual(['/id']);
  });

  it('VCDM 2.0 §4.13: a presentation may hold enveloped credentials, verified by their securing mechanism', async () => {
    const presentation = {
      '@context': [V2],
      type: ['VerifiablePresentation'],
      verifiableCredential: [envelope],
    };
    const unverified = await verifyPresentation({
      presentation,
      challenge: 'c',
      documentLoader,
      allowUnsigned: true,
    });
    expect(unverified.credentialResults[0]?.errors.map((e) => e.code)).toEqual(['unverifiable-envelope']);
    const seen: unknown[] = [];
    const verified = await verifyPresentation({
      presentation,
      challenge: 'c',
      documentLoader,
      allowUnsigned: true,
      verifyEnvelopedCredential: async (value) => {
        seen.push(value);
        return { verified: true, errors: [], checks: ['proof'] };
      },
    });
    expect(verified.verified).toBe(true);
    expect(seen).toEqual([envelope]);
    const broken = { ...presentation, verifiableCredential: [{ ...envelope, id: 'not-data' }] };
    const refused = await verifyPresentation({
      presentation: broken,
      challenge: 'c',
      documentLoader,
      allowUnsigned: true,
    });
    expect(refused.errors).toEqual([
      expect.objectContaining({ code: 'invalid-presentation', path: '/verifiableCredential/0/id' }),
    ]);
  });
});

describe('VCDM 2.0 §5.2 Extensibility: protected terms', () => {
  it('VCDM 2.0 §5.2: a context redefining a protected term is an error', async () => {
    await expectRejected(rejectedInputs['credential-redef-type-fail.json'] as Record<string, unknown>);
    await expectRejected(rejectedInputs['credential-redef-type2-fail.json'] as Record<string, unknown>);
  });
});

describe('VCDM 2.0 §5.3 Integrity of Related Resources', () => {
  const related = (entries: unknown) => ok({ relatedResource: entries });

  it('VCDM 2.0 §5.3: relatedResource MUST be objects with a unique id and a digestSRI or digestMultibase', async () => {
    await expectRejected(related([{ digestSRI: V2_CONTEXT_DIGEST_SRI }]));
    await expectRejected(
      related([
        { id: V2, digestSRI: V2_CONTEXT_DIGEST_SRI },
        { id: V2, digestMultibase: V2_CONTEXT_DIGEST_MULTIBASE },
      ]),
    );
    await expectRejected(related([{ id: V2 }]));
    await expectRejected(related([V2]));
  });

  it('VCDM 2.0 §5.3: the digests of the retrieved resource are accepted', async () => {
    await issue(related([{ id: V2, digestSRI: V2_CONTEXT_DIGEST_SRI }]));
    await issue(related([{ id: V2, digestMultibase: V2_CONTEXT_DIGEST_MULTIBASE }]));
    await issue(
      related({ id: V2, digestSRI: V2_CONTEXT_DIGEST_SRI, digestMultibase: V2_CONTEXT_DIGEST_MULTIBASE }),
    );
  });

  it('VCDM 2.0 §5.3: a digest that does not match the resource MUST produce an error', async () => {
    const wrongSri = `${V2_CONTEXT_DIGEST_SRI.slice(0, -4)}AAAA`;
    const wrongMultibase = `${V2_CONTEXT_DIGEST_MULTIBASE.slice(0, -4)}AAAA`;
    const sri = await expectRejected(related([{ id: V2, digestSRI: wrongSri }]));
    expect(sri.message).toContain('does not match');
    const multibase = await expectRejected(related([{ id: V2, digestMultibase: wrongMultibase }]));
    expect(multibase.message).toContain('does not match');
  });

  it('VCDM 2.0 §5.3: digests that are not SRI or multibase SHA-2 digests are errors', async () => {
    await expectRejected(related([{ id: V2, digestSRI: 'md5-AAAA' }]));
    await expectRejected(related([{ id: 'https://example.org/r', digestSRI: 'sha256 AAAA' }]));
    await expectRejected(related([{ id: 'https://example.org/r', digestMultibase: 'zNotSupported' }]));
    await expectRejected(related([{ id: 'https://example.org/r', digestMultibase: 'uAAAA' }]));
    // A hex SHA-384 follows the SRI grammar but is not the base64 digest of the known resource.
    const hexDigest = `sha384-${'ab'.repeat(48)}`;
    const error = await expectRejected(related([{ id: V2, digestSRI: hexDigest }]));
    expect(error.message).toContain('does not match');
  });
});
