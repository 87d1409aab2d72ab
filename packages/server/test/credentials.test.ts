import { createHash, randomUUID } from 'node:crypto';
import {
  createDidKey,
  createDidResolver,
  createDocumentLoader,
  createJwsSigner,
  createPresentation,
  createRawKeySigner,
  issueCredential,
  issueVcJwt,
  signPresentation,
} from '@personachain/credentials';
import { signatureScheme } from '@personachain/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  IssuerDids,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

const PUBLIC_URL = 'https://persona.test:8443';
const V2 = 'https://www.w3.org/ns/credentials/v2';
const EXAMPLES = 'https://www.w3.org/ns/credentials/examples/v2';
const SUBJECT_NAME = 'Alice Example';

/** A VC 2.0 credential with subject data that must never reach the audit trail. */
function credential(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@context': [V2, EXAMPLES],
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', 'ExampleDegreeCredential'],
    credentialSubject: { id: 'did:example:alice', name: SUBJECT_NAME },
    ...extra,
  };
}

/** A holder's did:key, signing on the client as a wallet would (eddsa-rdfc-2022). */
async function holder() {
  const { publicKey, secretKey } = await signatureScheme('Ed25519').generateKeyPair();
  const did = createDidKey('Ed25519', publicKey);
  const signer = createRawKeySigner({ id: `${did}#${did.slice(8)}`, algorithm: 'Ed25519', secretKey });
  const resolver = createDidResolver();
  const documentLoader = createDocumentLoader({
    resolveDidUrl: async (url) => (await resolver.dereference(url)).contentStream,
  });
  return { did, signer, secretKey, documentLoader };
}

describe.each(engines)('issuers and the VC-API on %s', (engine) => {
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;
  const issuers: Record<string, any> = {};
  const dids = new IssuerDids();

  const createIssuer = async (tenant: Tenant, body: unknown, role: keyof Tenant['keys'] = 'developer') =>
    dids.remember(
      await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, { key: tenant.keys[role], body }),
    );
  const issue = (issuerId: string, body: unknown, key = a.keys.developer, headers = {}) =>
    server.json('POST', `/v1/issuers/${issuerId}/credentials/issue`, {
      key,
      body: dids.naming(issuerId, body),
      headers,
    });
  const verify = (body: unknown, tenant = a, key = tenant.keys.viewer) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/verifier/credentials/verify`, { key, body });
  const verifyVp = (body: unknown, tenant = a) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/verifier/presentations/verify`, {
      key: tenant.keys.viewer,
      body,
    });

  beforeAll(async () => {
    server = await startTestServer({ PERSONA_PUBLIC_URL: PUBLIC_URL }, engine);
    a = await createTenant(server, 'Issuer A');
    b = await createTenant(server, 'Issuer B');
    const made = {
      ed25519: { name: 'Ed', didMethod: 'did:key', suites: ['eddsa-rdfc-2022', 'eddsa-jcs-2022', 'vc+jwt'] },
      p256: { name: 'P-256', didMethod: 'did:key', suites: ['ecdsa-rdfc-2019', 'vc+jwt'] },
      p384: {
        name: 'P-384',
        didMethod: 'did:key',
        suites: ['ecdsa-rdfc-2019', 'vc+jwt'],
        keyTypes: ['P-384'],
      },
      jwt: { name: 'JOSE', didMethod: 'did:key', suites: ['vc+jwt'] },
      web: {
        name: 'Web',
        didMethod: 'did:web',
        suites: ['eddsa-rdfc-2022', 'ecdsa-rdfc-2019', 'vc+jwt'],
        keyTypes: ['Ed25519', 'P-384'],
      },
    };
    for (const [label, body] of Object.entries(made)) {
      const created = await createIssuer(a, body);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      issuers[label] = created.body;
    }
    const other = await createIssuer(b, { name: 'B', didMethod: 'did:key', suites: ['eddsa-rdfc-2022'] });
    expect(other.status).toBe(201);
    issuers.otherProject = other.body;
  });
  afterAll(() => server.close());

  describe('issuers', () => {
    it('creates did:key issuers with one KeyStore key and the suites it may use', () => {
      const ed = issuers.ed25519;
      expect(ed.id).toMatch(/^iss_[0-9a-f]{32}$/);
      expect(ed.did).toMatch(/^did:key:z6Mk/);
      expect(ed.verificationMethods).toEqual([{ id: `${ed.did}#${ed.did.slice(8)}`, keyType: 'Ed25519' }]);
      expect(ed.issueUrl).toBe(`${PUBLIC_URL}/v1/issuers/${ed.id}/credentials/issue`);
      expect(issuers.p256.did).toMatch(/^did:key:zDn/);
      expect(issuers.p384.did).toMatch(/^did:key:z82/);
      expect(issuers.jwt.verificationMethods[0].keyType).toBe('Ed25519');
    });

    it('gives did:web issuers a DID under the public URL, one method per key', () => {
      const web = issuers.web;
      expect(web.did).toBe(`did:web:persona.test%3A8443:issuers:${web.id}`);
      expect(web.verificationMethods.map((m: any) => m.keyType)).toEqual(['Ed25519', 'P-384']);
    });

    it('refuses suites without their key type, unused keys, and two keys for did:key', async () => {
      const cases: Array<[unknown, string]> = [
        [{ name: 'x', didMethod: 'did:key', suites: ['eddsa-rdfc-2022', 'ecdsa-rdfc-2019'] }, '#/keyTypes'],
        [
          { name: 'x', didMethod: 'did:key', suites: ['ecdsa-rdfc-2019'], keyTypes: ['Ed25519'] },
          '#/suites/0',
        ],
        [
          { name: 'x', didMethod: 'did:web', suites: ['eddsa-jcs-2022'], keyTypes: ['Ed25519', 'P-256'] },
          '#/keyTypes/1',
        ],
        [{ name: 'x', didMethod: 'did:plc', suites: ['eddsa-jcs-2022'] }, '#/didMethod'],
        [{ name: 'x', didMethod: 'did:key', suites: ['ecdsa-jcs-2019'] }, '#/suites/0'],
      ];
      for (const [body, pointer] of cases) {
        const response = await createIssuer(a, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(response.body.type).toBe('urn:personachain:problem:validation-error');
        expect(response.body.errors.map((e: any) => e.pointer)).toContain(pointer);
      }
    });

    it('lists with cursor pagination and gets one; another project answers 404', async () => {
      const first = await server.json('GET', `/v1/projects/${a.projectId}/issuers?limit=2`, {
        key: a.keys.viewer,
      });
      expect(first.status).toBe(200);
      expect(first.body.data.map((i: any) => i.id)).toEqual([issuers.ed25519.id, issuers.p256.id]);
      const rest = await server.json(
        'GET',
        `/v1/projects/${a.projectId}/issuers?limit=100&cursor=${first.body.nextCursor}`,
        { key: a.keys.viewer },
      );
      expect(rest.body.data.map((i: any) => i.id)).toEqual([issuers.p384.id, issuers.jwt.id, issuers.web.id]);
      expect(rest.body.nextCursor).toBeNull();
      const one = await server.json('GET', `/v1/projects/${a.projectId}/issuers/${issuers.web.id}`, {
        key: a.keys.viewer,
      });
      expect(one.body).toEqual(issuers.web);
      const elsewhere = await server.json(
        'GET',
        `/v1/projects/${a.projectId}/issuers/${issuers.otherProject.id}`,
        {
          key: a.keys.owner,
        },
      );
      expect(elsewhere.status).toBe(404);
      const otherTenant = await server.json('GET', `/v1/projects/${a.projectId}/issuers`, {
        key: b.keys.owner,
      });
      expect(otherTenant.status).toBe(404);
    });

    it('lets developers create issuers, not viewers (403)', async () => {
      const response = await createIssuer(
        a,
        { name: 'v', didMethod: 'did:key', suites: ['vc+jwt'] },
        'viewer',
      );
      expect(response.status).toBe(403);
    });

    it('serves did:web documents publicly and resolves them locally through /1.0/identifiers', async () => {
      const web = issuers.web;
      const response = await server.call('GET', `/issuers/${web.id}/did.json`, { key: null });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/did\+ld\+json/);
      const document = await response.json();
      expect(document.id).toBe(web.did);
      expect(document.verificationMethod.map((m: any) => m.id)).toEqual(
        web.verificationMethods.map((m: any) => m.id),
      );
      expect(document.verificationMethod.every((m: any) => m.type === 'Multikey')).toBe(true);
      expect(document.assertionMethod).toEqual(web.verificationMethods.map((m: any) => m.id));

      const resolved = await server.json('GET', `/1.0/identifiers/${encodeURIComponent(web.did)}`, {
        key: null,
      });
      expect(resolved.status).toBe(200);
      expect(resolved.body.didDocument).toEqual(document);
      const unknown = `did:web:persona.test%3A8443:issuers:iss_${'0'.repeat(32)}`;
      const missing = await server.json('GET', `/1.0/identifiers/${encodeURIComponent(unknown)}`, {
        key: null,
      });
      expect(missing.status).toBe(404);
      expect(missing.body.didResolutionMetadata.error).toBe('notFound');
      expect(
        (await server.call('GET', `/issuers/${issuers.ed25519.id}/did.json`, { key: null })).status,
      ).toBe(404);
    });
  });

  it("stops serving and resolving a deleted project's did:web issuers", async () => {
    const doomed = await createTenant(server, 'Doomed');
    const created = await createIssuer(doomed, {
      name: 'W',
      didMethod: 'did:web',
      suites: ['eddsa-rdfc-2022'],
    });
    expect(created.status).toBe(201);
    const documentPath = `/issuers/${created.body.id}/did.json`;
    expect((await server.call('GET', documentPath, { key: null })).status).toBe(200);
    const deleted = await server.call('DELETE', `/v1/projects/${doomed.projectId}`, {
      key: doomed.keys.owner,
    });
    expect(deleted.status).toBe(204);
    expect((await server.call('GET', documentPath, { key: null })).status).toBe(404);
    const resolved = await server.json('GET', `/1.0/identifiers/${encodeURIComponent(created.body.did)}`, {
      key: null,
    });
    expect(resolved.status).toBe(404);
  });

  describe('issue and verify', () => {
    const roundTrips: Array<[string, string, string]> = [
      ['ed25519', 'eddsa-rdfc-2022', 'Ed25519'],
      ['ed25519', 'eddsa-jcs-2022', 'Ed25519'],
      ['p256', 'ecdsa-rdfc-2019', 'P-256'],
      ['p384', 'ecdsa-rdfc-2019', 'P-384'],
      ['web', 'eddsa-rdfc-2022', 'Ed25519 (did:web)'],
      ['web', 'ecdsa-rdfc-2019', 'P-384 (did:web)'],
    ];
    it.each(roundTrips)('%s: %s with %s issues (201) and verifies (200)', async (label, cryptosuite) => {
      const issuer = issuers[label];
      const issued = await issue(issuer.id, { credential: credential(), options: { cryptosuite } });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      const vc = issued.body.verifiableCredential;
      expect(vc.issuer).toBe(issuer.did);
      expect(vc.proof).toMatchObject({
        type: 'DataIntegrityProof',
        cryptosuite,
        proofPurpose: 'assertionMethod',
      });
      expect(issuer.verificationMethods.map((m: any) => m.id)).toContain(vc.proof.verificationMethod);
      const verified = await verify({ verifiableCredential: vc, options: { checks: ['proof'] } });
      expect(verified.status, JSON.stringify(verified.body)).toBe(200);
      expect(verified.body).toEqual({
        verified: true,
        checks: ['data-model', 'json-ld', 'proof', 'validity-period'],
      });
    });

    it.each(['ed25519', 'p256', 'p384', 'web'])(
      '%s: vc+jwt as an EnvelopedVerifiableCredential',
      async (label) => {
        const issuer = issuers[label];
        const issued = await issue(issuer.id, {
          credential: credential(),
          options: { format: 'application/vc+jwt' },
        });
        expect(issued.status, JSON.stringify(issued.body)).toBe(201);
        const vc = issued.body.verifiableCredential;
        expect(vc).toMatchObject({ '@context': V2, type: 'EnvelopedVerifiableCredential' });
        expect(vc.id).toMatch(/^data:application\/vc\+jwt,ey[\w-]+\.ey[\w-]+\.[\w-]+$/);
        const [header, payload] = vc.id
          .slice('data:application/vc+jwt,'.length)
          .split('.')
          .slice(0, 2)
          .map((part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
        expect(header).toMatchObject({ typ: 'vc+jwt', cty: 'vc' });
        expect(issuer.verificationMethods.map((m: any) => m.id)).toContain(header.kid);
        expect(payload.issuer).toBe(issuer.did);
        const verified = await verify({ verifiableCredential: vc });
        expect(verified.status, JSON.stringify(verified.body)).toBe(200);
        expect(verified.body.verified).toBe(true);
      },
    );

    it('P-521 did:key issuer (ES512): a vc+jwt verifies, a tampered one does not; no Data Integrity suite takes P-521', async () => {
      const created = await createIssuer(a, {
        name: 'P-521',
        didMethod: 'did:key',
        suites: ['vc+jwt'],
        keyTypes: ['P-521'],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const issuer = created.body;
      expect(issuer.did).toMatch(/^did:key:z2J9/);
      expect(issuer.verificationMethods).toEqual([
        { id: `${issuer.did}#${issuer.did.slice(8)}`, keyType: 'P-521' },
      ]);
      const issued = await issue(issuer.id, { credential: credential() });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      const envelope = issued.body.verifiableCredential;
      const [h, p, s] = envelope.id.slice('data:application/vc+jwt,'.length).split('.');
      expect(JSON.parse(Buffer.from(h, 'base64url').toString('utf8'))).toMatchObject({
        alg: 'ES512',
        typ: 'vc+jwt',
        kid: issuer.verificationMethods[0].id,
      });
      expect(Buffer.from(s, 'base64url')).toHaveLength(132);
      const verified = await verify({ verifiableCredential: envelope });
      expect(verified.status, JSON.stringify(verified.body)).toBe(200);
      expect(verified.body.verified).toBe(true);

      const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
      payload.credentialSubject.name = 'Mallory';
      const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
      const tampered = await verify({
        verifiableCredential: { ...envelope, id: `data:application/vc+jwt,${forged}` },
      });
      expect(tampered.status).toBe(400);
      expect(tampered.body.errors.map((e: any) => e.code)).toContain('invalid-signature');

      const refused = await createIssuer(a, {
        name: 'x',
        didMethod: 'did:key',
        suites: ['ecdsa-rdfc-2019'],
        keyTypes: ['P-521'],
      });
      expect(refused.status).toBe(400);
      expect(refused.body.errors.map((e: any) => e.pointer)).toContain('#/suites/0');
    });

    it("uses the issuer's first suite by default", async () => {
      const jwt = await issue(issuers.jwt.id, { credential: credential() });
      expect(jwt.body.verifiableCredential.type).toBe('EnvelopedVerifiableCredential');
      const di = await issue(issuers.p256.id, { credential: credential() });
      expect(di.body.verifiableCredential.proof.cryptosuite).toBe('ecdsa-rdfc-2019');
    });

    it('accepts VC 1.1 input, adding the data-integrity context', async () => {
      const v1 = {
        '@context': ['https://www.w3.org/2018/credentials/v1'],
        id: `urn:uuid:${randomUUID()}`,
        type: ['VerifiableCredential'],
        issuer: issuers.ed25519.did,
        issuanceDate: '2020-03-16T22:37:26.544Z',
        credentialSubject: { id: 'did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b' },
      };
      const issued = await issue(issuers.ed25519.id, {
        credential: v1,
        options: { mandatoryPointers: ['/issuer'] },
      });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      expect(issued.body.verifiableCredential['@context']).toEqual([
        'https://www.w3.org/2018/credentials/v1',
        'https://w3id.org/security/data-integrity/v2',
      ]);
      expect((await verify({ verifiableCredential: issued.body.verifiableCredential })).status).toBe(200);
    });

    it('verifies a credential a client signed with its own did:key', async () => {
      const { did, signer, documentLoader } = await holder();
      const vc = await issueCredential({
        credential: credential({ issuer: did }),
        suite: 'eddsa-rdfc-2022',
        signer,
        documentLoader,
      });
      expect((await verify({ verifiableCredential: vc })).status).toBe(200);
    });
  });

  describe('what does not verify: 400 with verified: false and the reason', () => {
    const expectNotVerified = (response: { status: number; body: any }, code: string) => {
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      expect(response.body.type).toBe('urn:personachain:problem:not-verified');
      expect(response.body.verified).toBe(false);
      expect(response.body.errors.map((e: any) => e.code)).toContain(code);
      expect(response.body.detail).toContain(code);
    };

    it('a tampered credential: invalid-signature (Data Integrity and vc+jwt)', async () => {
      const issued = await issue(issuers.ed25519.id, { credential: credential() });
      const vc = issued.body.verifiableCredential;
      expectNotVerified(
        await verify({
          verifiableCredential: { ...vc, credentialSubject: { ...vc.credentialSubject, name: 'Mallory' } },
        }),
        'invalid-signature',
      );
      const jwt = (await issue(issuers.jwt.id, { credential: credential() })).body.verifiableCredential;
      const [h, p, s] = jwt.id.slice('data:application/vc+jwt,'.length).split('.');
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
      payload.credentialSubject.name = 'Mallory';
      const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
      expectNotVerified(
        await verify({ verifiableCredential: { ...jwt, id: `data:application/vc+jwt,${forged}` } }),
        'invalid-signature',
      );
    });

    it("another issuer's key: invalid-signature, or issuer-mismatch for a JWS signed by an outsider", async () => {
      const vc = (await issue(issuers.ed25519.id, { credential: credential() })).body.verifiableCredential;
      const otherKey = issuers.web.verificationMethods[0].id;
      expectNotVerified(
        await verify({
          verifiableCredential: { ...vc, proof: { ...vc.proof, verificationMethod: otherKey } },
        }),
        'invalid-signature',
      );
      const outsider = await holder();
      const jws = await issueVcJwt({
        credential: credential({ issuer: issuers.jwt.did }),
        signer: createJwsSigner({
          kid: outsider.signer.id,
          algorithm: 'Ed25519',
          sign: (message) => signatureScheme('Ed25519').sign(outsider.secretKey, message),
        }),
      });
      expectNotVerified(
        await verify({
          verifiableCredential: {
            '@context': V2,
            type: 'EnvelopedVerifiableCredential',
            id: `data:application/vc+jwt,${jws}`,
          },
        }),
        'issuer-mismatch',
      );
    });

    it('expired (validUntil) and not yet valid (validFrom), in both securing mechanisms', async () => {
      for (const format of [{ cryptosuite: 'eddsa-rdfc-2022' }, { format: 'application/vc+jwt' }]) {
        const expired = await issue(issuers.ed25519.id, {
          credential: credential({ validFrom: '2020-01-01T00:00:00Z', validUntil: '2021-01-01T00:00:00Z' }),
          options: format,
        });
        expect(expired.status).toBe(201);
        expectNotVerified(
          await verify({ verifiableCredential: expired.body.verifiableCredential }),
          'expired',
        );
        const future = await issue(issuers.ed25519.id, {
          credential: credential({ validFrom: '2999-01-01T00:00:00Z' }),
          options: format,
        });
        expect(future.status).toBe(201);
        expectNotVerified(
          await verify({ verifiableCredential: future.body.verifiableCredential }),
          'not-yet-valid',
        );
      }
    });

    it('a credential sent as a string, without a proof, or naming an invalid DID key', async () => {
      expectNotVerified(await verify({ verifiableCredential: 'eyJhbGciOi' }), 'invalid-credential');
      const vc = (await issue(issuers.ed25519.id, { credential: credential() })).body.verifiableCredential;
      const { proof, ...unsigned } = vc;
      expectNotVerified(await verify({ verifiableCredential: unsigned }), 'missing-proof');
      const badDid = await verify({
        verifiableCredential: { ...vc, proof: { ...proof, verificationMethod: 'did:key:zNotAKey#zNotAKey' } },
      });
      expectNotVerified(badDid, 'verification-method-not-found');
      expect(badDid.body.errors[0].message).toMatch(/invalidDid/);
    });

    it('a presentation: verifies with its challenge and domain, 400 challenge-mismatch otherwise', async () => {
      const vc = (await issue(issuers.p256.id, { credential: credential() })).body.verifiableCredential;
      const wallet = await holder();
      const vp = await signPresentation({
        presentation: createPresentation({ verifiableCredential: [vc], holder: wallet.did }),
        suite: 'eddsa-rdfc-2022',
        signer: wallet.signer,
        challenge: 'challenge-1',
        domain: 'verifier.example',
        documentLoader: wallet.documentLoader,
      });
      const ok = await verifyVp({
        verifiablePresentation: vp,
        options: { challenge: 'challenge-1', domain: 'verifier.example' },
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toMatchObject({ verified: true, credentialResults: [{ verified: true }] });
      expectNotVerified(
        await verifyVp({
          verifiablePresentation: vp,
          options: { challenge: 'other', domain: 'verifier.example' },
        }),
        'challenge-mismatch',
      );
      expectNotVerified(
        await verifyVp({
          verifiablePresentation: vp,
          options: { challenge: 'challenge-1', domain: 'elsewhere.example' },
        }),
        'domain-mismatch',
      );
      const missing = await verifyVp({ verifiablePresentation: vp });
      expect(missing.status).toBe(400);
      expect(missing.body.errors.map((e: any) => e.pointer)).toContain('#/options');
    });
  });

  describe('what cannot be issued: 400 naming the field or the library code', () => {
    const expectRejected = (response: { status: number; body: any }, code: string) => {
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      expect(response.body.type).toBe('urn:personachain:problem:credential-rejected');
      expect(response.body.code).toBe(code);
    };

    it('an unknown context, undefined terms, a bad data model', async () => {
      const unknown = await issue(issuers.ed25519.id, {
        credential: credential({ '@context': [V2, 'https://example.com/unknown/v1'] }),
      });
      expectRejected(unknown, 'unknown-context');
      expect(unknown.body.detail).toContain('https://example.com/unknown/v1');
      expectRejected(
        await issue(issuers.jwt.id, {
          credential: credential({ '@context': [V2, 'https://example.com/unknown/v1'] }),
        }),
        'unknown-context',
      );
      const undefinedTerm = await issue(issuers.ed25519.id, {
        credential: {
          ...credential(),
          '@context': [V2],
          credentialSubject: { id: 'did:example:a', undefinedTerm: 1 },
        },
      });
      expectRejected(undefinedTerm, 'malformed-jsonld');
      const badModel = await issue(issuers.ed25519.id, {
        credential: credential({
          validFrom: '2030-01-01T00:00:00Z',
          validUntil: '2029-01-01T00:00:00Z',
          type: 'X',
        }),
      });
      expectRejected(badModel, 'invalid-credential');
      expect(badModel.body.errors.map((e: any) => e.pointer)).toContain('#/credential/type');
    });

    it('no issuer: refused, naming the DID to set (the VC-API issuer suite requires it)', async () => {
      const response = await server.json('POST', `/v1/issuers/${issuers.ed25519.id}/credentials/issue`, {
        key: a.keys.developer,
        body: { credential: credential() },
      });
      expectRejected(response, 'invalid-credential');
      expect(response.body.errors).toEqual([
        { in: 'body', pointer: '#/credential/issuer', detail: `is required: ${issuers.ed25519.did}` },
      ]);
    });

    it("another issuer's DID (issuer mismatch)", async () => {
      const response = await issue(issuers.ed25519.id, {
        credential: credential({ issuer: issuers.p256.did }),
      });
      expectRejected(response, 'issuer-mismatch');
      expect(response.body.errors).toEqual([
        { in: 'body', pointer: '#/credential/issuer', detail: `must be ${issuers.ed25519.did}` },
      ]);
    });

    it('no credential, a suite the issuer lacks, unknown options (validation errors)', async () => {
      const cases: Array<[string, unknown, string]> = [
        [issuers.ed25519.id, { options: {} }, '#/credential'],
        [
          issuers.ed25519.id,
          { credential: credential(), options: { cryptosuite: 'ecdsa-rdfc-2019' } },
          '#/options/cryptosuite',
        ],
        [
          issuers.p256.id,
          { credential: credential(), options: { cryptosuite: 'bbs-2023' } },
          '#/options/cryptosuite',
        ],
        [
          issuers.ed25519.id,
          { credential: credential(), options: { statusList: {} } },
          '#/options/statusList',
        ],
        [
          issuers.ed25519.id,
          { credential: credential(), options: { credentialStatus: { type: 'StatusList2021Entry' } } },
          '#/options/credentialStatus/type',
        ],
      ];
      for (const [issuerId, body, pointer] of cases) {
        const response = await issue(issuerId, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(response.body.type).toBe('urn:personachain:problem:validation-error');
        expect(response.body.errors.map((e: any) => e.pointer)).toContain(pointer);
      }
    });
  });

  describe('tenancy, audit, idempotency', () => {
    it("another project's issuer and verifier answer 404; a viewer may verify but not issue (403)", async () => {
      const foreign = await issue(issuers.otherProject.id, { credential: credential() });
      expect(foreign.status).toBe(404);
      expect(foreign.body.detail).toBe(`No issuer ${issuers.otherProject.id}.`);
      const vc = (await issue(issuers.ed25519.id, { credential: credential() })).body.verifiableCredential;
      expect((await verify({ verifiableCredential: vc }, a, b.keys.owner)).status).toBe(404);
      const viewer = await issue(issuers.ed25519.id, { credential: credential() }, a.keys.viewer);
      expect(viewer.status).toBe(403);
      expect((await issue(`iss_${'0'.repeat(32)}`, { credential: credential() })).status).toBe(404);
    });

    it('records issuer.created and credential.issued without subject data', async () => {
      const sent = credential();
      const issued = await issue(issuers.p384.id, { credential: sent });
      expect(issued.status).toBe(201);
      const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`, {
        key: a.keys.auditor,
      });
      expect(audit.status).toBe(200);
      const created = audit.body.data.find(
        (e: any) => e.type === 'issuer.created' && e.subject === issuers.p384.id,
      );
      expect(created.details).toMatchObject({ didMethod: 'did:key', keyTypes: ['P-384'] });
      const idHash = createHash('sha256')
        .update(sent.id as string)
        .digest('hex');
      const entry = audit.body.data.find(
        (e: any) => e.type === 'credential.issued' && e.details.credentialHash === idHash,
      );
      expect(entry).toMatchObject({
        subject: issuers.p384.id,
        actor: a.keyIds.developer,
        details: {
          hashOf: 'id',
          types: ['VerifiableCredential', 'ExampleDegreeCredential'],
          suite: 'ecdsa-rdfc-2019',
        },
      });
      const everything = JSON.stringify(audit.body.data);
      expect(everything).not.toContain(SUBJECT_NAME);
      expect(everything).not.toContain('did:example:alice');
    });

    it('replays an issuance for the same Idempotency-Key without issuing or auditing again', async () => {
      const sent = credential({ issuer: issuers.ed25519.did });
      const headers = { 'idempotency-key': `issue-${randomUUID()}` };
      const first = await server.call('POST', `/v1/issuers/${issuers.ed25519.id}/credentials/issue`, {
        key: a.keys.developer,
        body: { credential: sent },
        headers,
      });
      const second = await server.call('POST', `/v1/issuers/${issuers.ed25519.id}/credentials/issue`, {
        key: a.keys.developer,
        body: { credential: sent },
        headers,
      });
      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(await second.json()).toEqual(await first.json());
      const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`, {
        key: a.keys.auditor,
      });
      const idHash = createHash('sha256')
        .update(sent.id as string)
        .digest('hex');
      expect(audit.body.data.filter((e: any) => e.details.credentialHash === idHash)).toHaveLength(1);
    });
  });
});

describe('did:web issuers need a public https URL with a domain name', () => {
  it('refuses them on a server whose public URL is an IP address', async () => {
    const server = await startTestServer();
    try {
      const tenant = await createTenant(server, 'No web');
      const response = await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, {
        key: tenant.keys.developer,
        body: { name: 'w', didMethod: 'did:web', suites: ['eddsa-rdfc-2022'] },
      });
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([
        { in: 'body', pointer: '#/didMethod', detail: 'did:web is unavailable on this server' },
      ]);
      expect(response.body.detail).toContain('PERSONA_PUBLIC_URL');
    } finally {
      await server.close();
    }
  });
});
