/**
 * The VC-API endpoints against the assertions of the W3C and W3C-CCG conformance clients:
 * w3c-ccg/vc-api-issuer-test-suite (tests/10-issuer.js, assertions.js), w3c-ccg/vc-api-verifier-test-suite
 * (tests/10-vc-di.js), w3c/vc-data-model-2.0-test-suite (issuer inputs, verifier 200/400), the Data Integrity
 * suites' request shapes, w3c/vc-bitstring-status-list-test-suite (entry and list credential over HTTP) and
 * w3c-ccg/did-key-test-suite (resolver error bodies). See /work/shared/reference/vc-api-contract.md.
 */
import { randomUUID } from 'node:crypto';
import {
  createDidKey,
  createDidResolver,
  createDocumentLoader,
  createPresentation,
  createRawKeySigner,
  deriveCredential,
  signPresentation,
} from '@personachain/credentials';
import { signatureScheme } from '@personachain/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptedInputs,
  rejectedInputs,
  V2_CONTEXT_DIGEST_SRI,
} from '../../credentials/test/fixtures/conformance/vcdm-2.0-inputs.js';
import { ed25519Vector, invalidItems, invalidValues } from './fixtures/conformance/vc-api-verifier-vector.js';
import { createTenant, startTestServer, type Tenant, type TestServer } from './helpers.js';

type Json = Record<string, any>;
const PUBLIC_URL = 'https://persona.test:8443';
const V1 = 'https://www.w3.org/2018/credentials/v1';
const EXAMPLES_V1 = 'https://www.w3.org/2018/credentials/examples/v1';
const V2 = 'https://www.w3.org/ns/credentials/v2';
const DI_CONTEXT = 'https://w3id.org/security/data-integrity/v2';

let server: TestServer;
let tenant: Tenant;
let edIssuer: Json;
let p256Issuer: Json;
let statusIssuer: Json;

/** Issues with the issuer whose DID the credential names (the eddsa issuer when it names none). */
const issue = (body: Json) => {
  const named = body.credential?.issuer;
  const did = typeof named === 'object' && named !== null ? named.id : named;
  const issuer = [p256Issuer, statusIssuer].find((candidate) => candidate.did === did) ?? edIssuer;
  return server.json('POST', `/v1/issuers/${issuer.id}/credentials/issue`, {
    key: tenant.keys.developer,
    body,
  });
};
const verify = (body: unknown) =>
  server.json('POST', `/v1/projects/${tenant.projectId}/verifier/credentials/verify`, {
    key: tenant.keys.viewer,
    body,
  });
const verifyVp = (body: unknown) =>
  server.json('POST', `/v1/projects/${tenant.projectId}/verifier/presentations/verify`, {
    key: tenant.keys.viewer,
    body,
  });

/**
 * The vc-api issuer suite's request credential (tests/validVC.json with tests/mock.data.js createRequestBody:
 * a VC 1.1 credential with the examples/v1 context and degree claims, a fresh urn:uuid id, issuanceDate and
 * the issuer's id).
 */
const validVc = (issuer: string): Json => ({
  '@context': [V1, EXAMPLES_V1],
  id: `urn:uuid:${randomUUID()}`,
  type: ['VerifiableCredential', 'UniversityDegreeCredential'],
  issuer,
  issuanceDate: '2020-03-16T22:37:26.544Z',
  credentialSubject: {
    id: 'did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b',
    degree: { degreeType: 'BachelorDegree', name: 'Bachelor of Science and Arts' },
  },
});

/** VCDM suite inputs get the issuer instance's id, as its TestEndpoints does. */
const withIssuer = (input: Json, did: string): Json => {
  const copy = structuredClone(input);
  if (typeof copy.issuer === 'object' && copy.issuer !== null) copy.issuer.id ??= did;
  else copy.issuer ??= did;
  return copy;
};

/** Conformance clients accept 400 or 422 for bad input, never 401 or 5xx. */
const expectInvalidInput = (status: number, body: unknown) =>
  expect([400, 422], JSON.stringify(body)).toContain(status);

beforeAll(async () => {
  server = await startTestServer({ PERSONA_PUBLIC_URL: PUBLIC_URL });
  tenant = await createTenant(server, 'Conformance');
  const create = async (body: unknown) => {
    const created = await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, {
      key: tenant.keys.developer,
      body,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  };
  edIssuer = await create({
    name: 'eddsa',
    didMethod: 'did:key',
    suites: ['eddsa-rdfc-2022', 'eddsa-jcs-2022'],
  });
  p256Issuer = await create({ name: 'ecdsa', didMethod: 'did:key', suites: ['ecdsa-rdfc-2019'] });
  statusIssuer = await create({
    name: 'status',
    didMethod: 'did:key',
    suites: ['eddsa-rdfc-2022'],
    statusPurposes: ['revocation'],
  });
});
afterAll(() => server.close());

describe('VC-API issuer suite (w3c-ccg/vc-api-issuer-test-suite tests/10-issuer.js)', () => {
  it('MUST successfully issue a credential: 201 and the issued-VC shape (assertions.js shouldBeIssuedVc)', async () => {
    const { status, body } = await issue({ credential: validVc(edIssuer.did) });
    expect(status).toBe(201);
    const vc = body.verifiableCredential;
    expect(vc['@context']).toEqual([V1, EXAMPLES_V1, DI_CONTEXT]);
    expect(vc.type).toContain('VerifiableCredential');
    expect(vc.id).toMatch(/^urn:uuid:/);
    expect(vc.credentialSubject).toBeTypeOf('object');
    expect(vc.issuer).toBe(edIssuer.did);
    expect(vc.proof).toMatchObject({ type: 'DataIntegrityProof', cryptosuite: 'eddsa-rdfc-2022' });
  });

  it('"credential.issuer" MAY be an object with property id, or a string', async () => {
    const asObject = await issue({ credential: { ...validVc(edIssuer.did), issuer: { id: edIssuer.did } } });
    expect(asObject.status).toBe(201);
    expect(asObject.body.verifiableCredential.issuer).toEqual({ id: edIssuer.did });
  });

  it('credential MAY have property "issuanceDate" and "expirationDate"', async () => {
    const credential = {
      ...validVc(edIssuer.did),
      issuanceDate: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      expirationDate: new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString(),
    };
    const { status } = await issue({ credential });
    expect(status).toBe(201);
  });

  it('Request body MUST have property "credential"', async () => {
    const { status, body } = await issue({ verifiableCredential: validVc(edIssuer.did) });
    expect(status).toBe(400);
    expect(body.verifiableCredential).toBeUndefined();
  });

  it.each([
    ['credential MUST have property "@context"', { '@context': undefined }],
    ['credential "@context" MUST be an array', { '@context': 4 }],
    ['credential "@context" items MUST be strings', { '@context': [{ foo: true }, 4, false, null] }],
    ['"credential.type" MUST be an array', { type: 4 }],
    ['credential MUST have property "type"', { type: undefined }],
    ['"credential.type" items MUST be strings', { type: [2, null, { foo: true }, false] }],
    ['credential MUST have property "issuer"', { issuer: undefined }],
    ['"credential.issuer" MUST be either an object or a string', { issuer: 4 }],
    ['credential MUST have property "credentialSubject"', { credentialSubject: undefined }],
    ['"credential.credentialSubject" MUST be an object', { credentialSubject: [null, true, 4] }],
    ['credential "@context" items MUST be strings or objects (value false)', { '@context': false }],
    ['credential "@context" items MUST be strings or objects (value null)', { '@context': null }],
    ['credential "@context" items MUST be strings or objects (value [])', { '@context': [] }],
    ['"credential.type" items MUST be strings (value [])', { type: [] }],
    ['"credential.type" items MUST be strings (value null)', { type: null }],
    ['"credential.issuer" MUST be a string or an object (null)', { issuer: null }],
    ['"credential.issuer" MUST be a string or an object (true)', { issuer: true }],
    ['"credential.issuer" MUST be a string or an object ([])', { issuer: [] }],
    [
      '"credential.credentialSubject" MUST be an object (a DID string)',
      { credentialSubject: 'did:example:1234' },
    ],
  ])('%s: 400 (not 401)', async (_name, change) => {
    const credential = { ...validVc(edIssuer.did), ...change };
    const { status } = await issue({ credential: JSON.parse(JSON.stringify(credential)) });
    expect(status).toBe(400);
  });
});

describe('VCDM 2.0 suite over HTTP (w3c/vc-data-model-2.0-test-suite)', () => {
  it.each(Object.entries(acceptedInputs))('issues %s', async (_name, input) => {
    const { status, body } = await issue({ credential: withIssuer(input, edIssuer.did) });
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body.verifiableCredential['@context'][0]).toBe(V2);
    expect(body.verifiableCredential.proof).toBeTypeOf('object');
  });

  it.each(Object.entries(rejectedInputs))('rejects %s with 400/422', async (_name, input) => {
    const { status, body } = await issue({ credential: withIssuer(input, edIssuer.did) });
    expectInvalidInput(status, body);
  });

  it('VCDM 2.0 §5.3: relatedResource digests are checked on issue', async () => {
    const related = (digestSRI: string) => ({
      credential: withIssuer(
        {
          '@context': [V2],
          type: ['VerifiableCredential'],
          credentialSubject: { id: 'did:example:subject' },
          relatedResource: [{ id: V2, digestSRI }],
        },
        edIssuer.did,
      ),
    });
    expect((await issue(related(V2_CONTEXT_DIGEST_SRI))).status).toBe(201);
    const wrong = await issue(related(`${V2_CONTEXT_DIGEST_SRI.slice(0, -4)}AAAA`));
    expectInvalidInput(wrong.status, wrong.body);
  });

  it('VCDM 2.0 §4.12: a verifier answers 200 verified:true for an issued VC, 400 verified:false for one without a proof', async () => {
    const input = withIssuer(acceptedInputs['credential-context-combo1-ok.json'] as Json, p256Issuer.did);
    const issued = (await issue({ credential: input })).body.verifiableCredential;
    const ok = await verify({ verifiableCredential: issued, options: { checks: ['proof'] } });
    expect(ok.status).toBe(200);
    expect(ok.body.verified).toBe(true);
    const { proof: _, ...unsigned } = issued;
    const failed = await verify({ verifiableCredential: unsigned, options: { checks: ['proof'] } });
    expect(failed.status).toBe(400);
    expect(failed.body).toMatchObject({
      verified: false,
      errors: [expect.objectContaining({ code: 'missing-proof' })],
    });
  });

  it('VCDM 2.0 §1.3: verifiers MUST produce errors for non-conforming documents (credential and presentation)', async () => {
    const document = { type: ['NonconformingDocument'] };
    const vc = await verify({ verifiableCredential: document, options: { checks: ['proof'] } });
    expect(vc.status).toBe(400);
    expect(vc.body.verified).toBe(false);
    const vp = await verifyVp({ verifiablePresentation: document, options: { challenge: 'c' } });
    expect(vp.status).toBe(400);
  });

  it('VCDM 2.0 §4.9: validFrom after validUntil is refused on issue', async () => {
    const credential = withIssuer(
      {
        '@context': [V2],
        type: ['VerifiableCredential'],
        credentialSubject: { id: 'did:example:subject' },
        validFrom: new Date(Date.now() + 2 * 86_400_000).toISOString(),
        validUntil: new Date(Date.now() - 2 * 86_400_000).toISOString(),
      },
      edIssuer.did,
    );
    const { status, body } = await issue({ credential });
    expectInvalidInput(status, body);
  });
});

describe('Data Integrity suites over HTTP (vc-di-eddsa, vc-di-ecdsa)', () => {
  it('a VC 1.1 request gets https://w3id.org/security/data-integrity/v2 injected, and verifies', async () => {
    for (const issuer of [edIssuer, p256Issuer]) {
      const { status, body } = await issue({ credential: validVc(issuer.did) });
      expect(status).toBe(201);
      expect(body.verifiableCredential['@context']).toEqual([V1, EXAMPLES_V1, DI_CONTEXT]);
      const verified = await verify({
        verifiableCredential: body.verifiableCredential,
        options: { checks: ['proof'] },
      });
      expect(verified.status).toBe(200);
    }
  });

  it('undefined terms added to a VC 1.1 credential are refused on issue (JSON-LD safe mode)', async () => {
    const credential = { ...validVc(edIssuer.did), type: ['VerifiableCredential', 'InvalidType'] };
    const typed = await issue({ credential });
    expectInvalidInput(typed.status, typed.body);
    const term = await issue({
      credential: { ...validVc(edIssuer.did), credentialSubject: { id: 'did:example:s', invalidTerm: 'x' } },
    });
    expectInvalidInput(term.status, term.body);
  });

  it('negative verify vectors answer 400 with verified:false (never 200)', async () => {
    const issued = (await issue({ credential: validVc(edIssuer.did) })).body.verifiableCredential;
    const broken: Json[] = [
      { ...issued, proof: { ...issued.proof, cryptosuite: 'UnknownCryptosuite' } },
      { ...issued, proof: { ...issued.proof, proofValue: issued.proof.proofValue.slice(1) } },
      { ...issued, proof: { ...issued.proof, created: 'invalidDate' } },
      { ...issued, proof: null },
      { ...issued, credentialSubject: { ...issued.credentialSubject, invalidTerm: 'x' } },
    ];
    for (const verifiableCredential of broken) {
      const { status, body } = await verify({ verifiableCredential, options: { checks: ['proof'] } });
      expect(status, JSON.stringify(verifiableCredential.proof)).toBe(400);
      expect(body.verified).toBe(false);
      expect(body.errors.length).toBeGreaterThan(0);
    }
    const asString = await verify({ verifiableCredential: JSON.stringify(issued) });
    expect(asString.status).toBe(400);
  });

  it('verify options: a challenge, domain or proof purpose the proof does not carry is 400 (vc-di-bbs authentication)', async () => {
    const issued = (await issue({ credential: validVc(edIssuer.did) })).body.verifiableCredential;
    const codes = async (options: Json) => {
      const { status, body } = await verify({ verifiableCredential: issued, options });
      return status === 200 ? 'verified' : body.errors.map((e: Json) => e.code);
    };
    expect(await codes({ expectedProofPurpose: 'assertionMethod' })).toBe('verified');
    expect(await codes({ challenge: '1235abcd6789' })).toContain('challenge-mismatch');
    expect(await codes({ domain: 'domain.example' })).toContain('domain-mismatch');
    expect(await codes({ expectedProofPurpose: 'authentication' })).not.toBe('verified');
  });

  it('VCDM 2.0 §4.13.1: an EnvelopedVerifiableCredential needs the v2 context and its type (400 otherwise)', async () => {
    const jwtIssuer = await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, {
      key: tenant.keys.developer,
      body: { name: 'jose', didMethod: 'did:key', suites: ['vc+jwt'] },
    });
    const envelope = (
      await server.json('POST', `/v1/issuers/${jwtIssuer.body.id}/credentials/issue`, {
        key: tenant.keys.developer,
        body: { credential: { ...validVc(jwtIssuer.body.did), '@context': [V2], issuanceDate: undefined } },
      })
    ).body.verifiableCredential;
    expect((await verify({ verifiableCredential: envelope })).status).toBe(200);
    for (const context of [[], ['https://www.w3.org/ns/credentials/examples/v2']]) {
      const { status, body } = await verify({ verifiableCredential: { ...envelope, '@context': context } });
      expect(status).toBe(400);
      expect(body.errors).toContainEqual(
        expect.objectContaining({ code: 'invalid-credential', path: '/@context' }),
      );
    }
  });
});

describe('selective-disclosure suites over HTTP (vc-di-ecdsa ecdsa-sd-2023, vc-di-bbs bbs-2023)', () => {
  const resolver = createDidResolver();
  const documentLoader = createDocumentLoader({
    resolveDidUrl: async (url) => (await resolver.dereference(url)).contentStream,
  });

  it.each(['ecdsa-sd-2023', 'bbs-2023'])(
    '%s: issues a base proof with the client’s mandatoryPointers; the holder’s derived VC verifies, the base VC does not',
    async (suite) => {
      const created = await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, {
        key: tenant.keys.developer,
        body: { name: suite, didMethod: 'did:key', suites: [suite] },
      });
      expect(created.status).toBe(201);
      const sdIssuer = created.body;
      const request = {
        credential: {
          '@context': [V2],
          id: `urn:uuid:${randomUUID()}`,
          type: ['VerifiableCredential'],
          issuer: sdIssuer.did,
          credentialSubject: { id: 'did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b', name: 'Jane' },
        },
        options: { mandatoryPointers: ['/issuer'] },
      };
      const issued = await server.json('POST', `/v1/issuers/${sdIssuer.id}/credentials/issue`, {
        key: tenant.keys.developer,
        body: request,
      });
      expect(issued.status).toBe(201);
      const base = issued.body.verifiableCredential;
      expect(base.proof).toMatchObject({ type: 'DataIntegrityProof', cryptosuite: suite });
      expect(base.proof.proofValue).toMatch(/^u[A-Za-z0-9_-]+$/);

      const refused = await verify({ verifiableCredential: base, options: { checks: ['proof'] } });
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([expect.objectContaining({ code: 'derived-proof-required' })]);

      const derived = await deriveCredential({
        credential: base,
        documentLoader,
        selectivePointers: ['/credentialSubject/id'],
      });
      expect(derived.issuer).toBe(sdIssuer.did);
      expect((derived.credentialSubject as Json).name).toBeUndefined();
      const ok = await verify({ verifiableCredential: derived, options: { checks: ['proof'] } });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    },
  );
});

describe('VC-API verifier suite (w3c-ccg/vc-api-verifier-test-suite tests/10-vc-di.js), negative tests', () => {
  const expectRefused = async (verifiableCredential: unknown) => {
    const { status } = await verify({ verifiableCredential, options: { checks: ['proof'] } });
    expectInvalidInput(status, verifiableCredential);
  };

  it.each(['@context', 'type', 'issuer', 'credentialSubject', 'proof'])(
    'MUST not verify if "%s" property is missing',
    async (property) => {
      const vc: Json = structuredClone(ed25519Vector);
      delete vc[property];
      await expectRefused(vc);
    },
  );

  it.each(['type', 'created', 'verificationMethod', 'proofValue', 'proofPurpose'])(
    'MUST not verify if "proof.%s" property is missing',
    async (property) => {
      const vc: Json = structuredClone(ed25519Vector);
      delete vc.proof[property];
      await expectRefused(vc);
    },
  );

  it.each(Object.entries(invalidValues))(
    'MUST not verify if "%s" has the wrong JSON type',
    async (property, values) => {
      for (const value of values)
        await expectRefused({ ...structuredClone(ed25519Vector), [property]: value });
    },
  );

  it.each(Object.entries(invalidItems))(
    'MUST not verify if "%s" items are not strings',
    async (property, values) => {
      for (const value of values)
        await expectRefused({ ...structuredClone(ed25519Vector), [property]: [value] });
    },
  );
});

describe('verify presentation (VCDM 2.0 suite createVp/verifyVp, contract §3.2)', () => {
  async function holderPresentation(challenge: string, domain: string) {
    const { publicKey, secretKey } = await signatureScheme('Ed25519').generateKeyPair();
    const did = createDidKey('Ed25519', publicKey);
    const signer = createRawKeySigner({ id: `${did}#${did.slice(8)}`, algorithm: 'Ed25519', secretKey });
    const resolver = createDidResolver();
    const documentLoader = createDocumentLoader({
      resolveDidUrl: async (url) => (await resolver.dereference(url)).contentStream,
    });
    const credential = (await issue({ credential: validVc(edIssuer.did) })).body.verifiableCredential;
    return signPresentation({
      presentation: createPresentation({ verifiableCredential: [credential], holder: did }),
      suite: 'eddsa-rdfc-2022',
      signer,
      documentLoader,
      challenge,
      domain,
    });
  }

  it('a VP signed with eddsa-rdfc-2022 by a did:key holder verifies with its challenge and domain; another challenge is 400', async () => {
    const challenge = `u${randomUUID()}`;
    const domain = 'github.com/w3c/vc-data-model-2.0-test-suite';
    const verifiablePresentation = await holderPresentation(challenge, domain);
    const ok = await verifyVp({ verifiablePresentation, options: { challenge, domain } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.verified).toBe(true);
    const wrong = await verifyVp({ verifiablePresentation, options: { challenge: 'other', domain } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.verified).toBe(false);
  });

  it('VCDM 2.0 §4.13: presentations without @context, the v2 context first, or VerifiablePresentation are 400', async () => {
    for (const verifiablePresentation of [
      { type: ['VerifiablePresentation'] },
      { '@context': ['https://www.w3.org/ns/credentials/examples/v2'], type: ['VerifiablePresentation'] },
      { '@context': [V2], type: ['ExamplePresentation'] },
    ]) {
      const { status } = await verifyVp({ verifiablePresentation, options: { challenge: 'c' } });
      expect(status).toBe(400);
    }
  });
});

describe('Bitstring Status List over HTTP (w3c/vc-bitstring-status-list-test-suite)', () => {
  let issued: Json;
  let entry: Json;
  beforeAll(async () => {
    const { body } = await issue({
      credential: {
        '@context': [V2],
        type: ['VerifiableCredential'],
        id: `urn:uuid:${randomUUID()}`,
        issuer: statusIssuer.did,
        credentialSubject: { id: 'did:example:holder' },
      },
    });
    issued = body.verifiableCredential;
    entry = issued.credentialStatus;
  });

  it('adds a BitstringStatusListEntry with a string purpose, a base-10 string index and an https list URL', async () => {
    expect(entry).toMatchObject({
      type: 'BitstringStatusListEntry',
      statusPurpose: 'revocation',
      statusListIndex: expect.stringMatching(/^(0|[1-9][0-9]*)$/),
      statusListCredential: expect.stringMatching(/^https:\/\//),
    });
    expect(entry.id).not.toBe(entry.statusListCredential);
  });

  it('serves the status list credential: VC 2.0, BitstringStatusListCredential, string issuer, ≥16 KB list', async () => {
    const path = new URL(entry.statusListCredential).pathname;
    const response = await server.json('GET', path, { key: null });
    expect(response.status).toBe(200);
    const list = response.body;
    expect(list['@context']).toContain(V2);
    expect(list.type).toContain('BitstringStatusListCredential');
    expect(list.issuer).toBeTypeOf('string');
    expect(list.credentialSubject).toMatchObject({
      type: 'BitstringStatusList',
      statusPurpose: 'revocation',
    });
    const { gunzipSync } = await import('node:zlib');
    const bits = gunzipSync(Buffer.from(list.credentialSubject.encodedList.slice(1), 'base64url'));
    expect(bits.length * 8).toBeGreaterThanOrEqual(131_072);
  });

  it('verifies the issued credential with checks [proof, credentialStatus]: 200 and verified', async () => {
    const { status, body } = await verify({
      verifiableCredential: issued,
      options: { checks: ['proof', 'credentialStatus'] },
    });
    expect(status).toBe(200);
    expect(body.verified).toBe(true);
    expect(body.credentialStatus).toEqual([
      expect.objectContaining({ statusPurpose: 'revocation', status: false }),
    ]);
  });

  it('keeps an unknown credentialStatus type as given, without adding its own entry', async () => {
    const input = withIssuer(acceptedInputs['credential-status-ok.json'] as Json, statusIssuer.did);
    const { status, body } = await issue({ credential: input });
    expect(status).toBe(201);
    expect(body.verifiableCredential.credentialStatus).toEqual({
      id: 'did:example:status',
      type: 'CredentialStatusList2017',
    });
  });
});

describe('DID resolver error bodies (w3c-ccg/did-key-test-suite, contract §3.5)', () => {
  const resolve = (did: string) =>
    server.json('GET', `/1.0/identifiers/${encodeURIComponent(did)}`, {
      key: null,
      headers: { accept: 'application/ld+json;profile="https://w3id.org/did-resolution"' },
    });

  it('resolves a did:key with the DID resolution result shape', async () => {
    const { status, body } = await resolve(edIssuer.did);
    expect(status).toBe(200);
    expect(body.didDocument.id).toBe(edIssuer.did);
    expect(body).toHaveProperty('didResolutionMetadata');
    expect(body).toHaveProperty('didDocumentMetadata');
  });

  it('did:key:@ is invalidDid, with a 4xx and a didDocument property in the body', async () => {
    const { status, body } = await resolve('did:key:@');
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect(body.didResolutionMetadata.error).toBe('invalidDid');
    expect(body).toHaveProperty('didDocument');
  });

  /** The suite's did and its malformed variants (tests/10-create.js). */
  const SUITE_DID = 'did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b';
  const expectResolutionError = async (did: string, code: string) => {
    const { status, body } = await resolve(did);
    expect(status, did).toBeGreaterThanOrEqual(400);
    expect(status, did).toBeLessThan(500);
    // shouldBeDidResolverResponse: the error body has the resolution result's shape.
    for (const property of ['@context', 'didDocument', 'didDocumentMetadata', 'didResolutionMetadata']) {
      expect(body, `${did}: ${property}`).toHaveProperty(property);
    }
    expect(body.didResolutionMetadata.error, did).toBe(code);
  };

  it('MUST raise invalidDid if the scheme is not `did` or the method is missing', async () => {
    await expectResolutionError(SUITE_DID.replace(/^did:/, ''), 'invalidDid');
    await expectResolutionError(SUITE_DID.replace(/^did:key:/, 'did:'), 'invalidDid');
  });

  it('MUST raise an error if the version is not a positive integer or the multibase value does not start with z', async () => {
    await expectResolutionError(SUITE_DID.replace('did:key:', 'did:key:-v4:'), 'invalidDid');
    await expectResolutionError(SUITE_DID.replace('did:key:z', 'did:key:'), 'invalidDid');
  });

  it('If the byte length of the raw public key does not match its multicodec, invalidPublicKeyLength MUST be raised', async () => {
    // The Ed25519 multicodec header (0xed 0x01) with a 31-byte key.
    await expectResolutionError(
      'did:key:z2DQV3gmUatYLGQFEMdz4e4iyyWQoJX6qkt5eAoGSBvFCJY',
      'invalidPublicKeyLength',
    );
  });
});
