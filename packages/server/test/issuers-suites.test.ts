import { randomUUID } from 'node:crypto';
import { createDocumentLoader, deriveCredential } from '@personachain/credentials';
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

function credential(): Record<string, unknown> {
  return {
    '@context': [V2, EXAMPLES],
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', 'ExampleDegreeCredential'],
    credentialSubject: {
      id: 'did:example:alice',
      name: 'Alice Example',
      degree: { type: 'BachelorDegree', name: 'Bachelor of Science' },
    },
  };
}

/** The holder derives with the library; base proofs carry what it needs, contexts are bundled. */
const documentLoader = createDocumentLoader();

function tamper(vc: any): any {
  const copy = structuredClone(vc);
  copy.credentialSubject.name = 'Mallory Example';
  return copy;
}

describe.each(engines)('issuers of every suite, and did:persona issuers, on %s', (engine) => {
  let server: TestServer;
  let tenant: Tenant;
  const issuers: Record<string, any> = {};
  const dids = new IssuerDids();

  const createIssuer = async (body: unknown, key = tenant.keys.developer) =>
    dids.remember(await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, { key, body }));
  const issue = (issuerId: string, body: unknown) =>
    server.json('POST', `/v1/issuers/${issuerId}/credentials/issue`, {
      key: tenant.keys.developer,
      body: dids.naming(issuerId, body),
    });
  const verify = (verifiableCredential: unknown) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/verifier/credentials/verify`, {
      key: tenant.keys.viewer,
      body: { verifiableCredential },
    });
  const resolve = (did: string, query = '') =>
    server.json('GET', `/1.0/identifiers/${encodeURIComponent(did)}${query}`, { key: null });

  beforeAll(async () => {
    server = await startTestServer({ PERSONA_PUBLIC_URL: PUBLIC_URL }, engine);
    tenant = await createTenant(server, 'Suites');
    const made = {
      sd: { name: 'SD', didMethod: 'did:key', suites: ['ecdsa-sd-2023'] },
      bbs: { name: 'BBS', didMethod: 'did:key', suites: ['bbs-2023'] },
      p384: { name: 'P-384', didMethod: 'did:key', suites: ['ecdsa-rdfc-2019'], keyTypes: ['P-384'] },
      web: { name: 'Web', didMethod: 'did:web', suites: ['ecdsa-sd-2023', 'bbs-2023', 'vc+jwt'] },
      persona: {
        name: 'Persona',
        didMethod: 'did:persona',
        suites: ['eddsa-rdfc-2022', 'bbs-2023'],
        statusPurposes: ['revocation'],
      },
    };
    for (const [label, body] of Object.entries(made)) {
      const created = await createIssuer(body);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      issuers[label] = created.body;
    }
  });
  afterAll(() => server.close());

  describe('creation', () => {
    it('gives each suite its key type by default: P-256 for ecdsa-sd-2023, BLS12-381 G2 (zUC6/zUC7) for bbs-2023', () => {
      expect(issuers.sd.did).toMatch(/^did:key:zDn/);
      expect(issuers.sd.verificationMethods).toEqual([
        { id: `${issuers.sd.did}#${issuers.sd.did.slice(8)}`, keyType: 'P-256' },
      ]);
      // A G2 key whose first byte is 0x80 encodes as zUC6, every other as zUC7.
      expect(issuers.bbs.did).toMatch(/^did:key:zUC[67]/);
      expect(issuers.bbs.verificationMethods[0].keyType).toBe('BLS12-381-G2');
      expect(issuers.p384.did).toMatch(/^did:key:z82L/);
      // vc+jwt signs with the P-256 key ecdsa-sd-2023 already needs.
      expect(issuers.web.verificationMethods.map((m: any) => m.keyType)).toEqual(['P-256', 'BLS12-381-G2']);
    });

    it('hosts the BLS12-381 G2 Multikey in a did:web document, and did:key resolves it', async () => {
      const web = issuers.web;
      const document = await server.json('GET', `/issuers/${web.id}/did.json`, { key: null });
      expect(document.status).toBe(200);
      const bls = document.body.verificationMethod.find((m: any) => /^zUC[67]/.test(m.publicKeyMultibase));
      expect(bls).toMatchObject({ type: 'Multikey', controller: web.did });
      expect(document.body.assertionMethod).toContain(bls.id);
      const resolved = await resolve(issuers.bbs.did);
      expect(resolved.status).toBe(200);
      expect(resolved.body.didDocument.verificationMethod[0].publicKeyMultibase).toBe(
        issuers.bbs.did.slice(8),
      );
    });

    it('refuses key types a suite cannot sign with, and two keys for one did:key', async () => {
      for (const [body, pointer] of [
        [{ suites: ['ecdsa-sd-2023'], keyTypes: ['P-384'] }, '#/suites/0'],
        [{ suites: ['bbs-2023'], keyTypes: ['Ed25519'] }, '#/suites/0'],
        [{ suites: ['bbs-2023', 'vc+jwt'] }, '#/keyTypes'],
      ] as const) {
        const refused = await createIssuer({ name: 'No', didMethod: 'did:key', ...body });
        expect(refused.status, JSON.stringify(refused.body)).toBe(400);
        expect(refused.body.errors[0].pointer).toBe(pointer);
      }
    });

    it('refuses status lists an issuer would sign with a selective-disclosure base proof', async () => {
      for (const suites of [['bbs-2023'], ['ecdsa-sd-2023', 'ecdsa-rdfc-2019']]) {
        const refused = await createIssuer({
          name: 'No',
          didMethod: 'did:web',
          suites,
          statusPurposes: ['revocation'],
        });
        expect(refused.status, JSON.stringify(refused.body)).toBe(400);
        expect(refused.body.errors[0].pointer).toBe('#/statusPurposes');
        expect(refused.body.detail).toMatch(/without selective disclosure/);
      }
      const perRequest = await issue(issuers.bbs.id, {
        credential: credential(),
        options: { credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' } },
      });
      expect(perRequest.status).toBe(400);
      expect(perRequest.body.errors[0].pointer).toBe('#/options/credentialStatus');
    });
  });

  describe('selective disclosure: issue, derive with the library, verify', () => {
    const cases: Array<[string, string]> = [
      ['sd', 'ecdsa-sd-2023'],
      ['bbs', 'bbs-2023'],
      ['web', 'ecdsa-sd-2023'],
      ['web', 'bbs-2023'],
      ['persona', 'bbs-2023'],
    ];
    it.each(cases)('%s: %s', async (label, cryptosuite) => {
      const issuer = issuers[label];
      const issued = await issue(issuer.id, {
        credential: credential(),
        options: { cryptosuite, mandatoryPointers: ['/issuer'] },
      });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      const base = issued.body.verifiableCredential;
      expect(base.proof).toMatchObject({ cryptosuite, proofPurpose: 'assertionMethod' });
      expect(issuer.verificationMethods.map((m: any) => m.id)).toContain(base.proof.verificationMethod);

      // A base proof is for the holder: verifiers check derived ones.
      const asIssued = await verify(base);
      expect(asIssued.status).toBe(400);
      expect(asIssued.body.errors.map((e: any) => e.code)).toContain('derived-proof-required');

      const derived = await deriveCredential({
        credential: base,
        selectivePointers: ['/credentialSubject/name'],
        documentLoader,
      });
      expect(derived.issuer).toBe(issuer.did);
      expect((derived.credentialSubject as any).degree).toBeUndefined();
      const verified = await verify(derived);
      expect(verified.status, JSON.stringify(verified.body)).toBe(200);
      expect(verified.body.verified).toBe(true);

      const tampered = await verify(tamper(derived));
      expect(tampered.status).toBe(400);
      expect(tampered.body.verified).toBe(false);
    });

    it('checks mandatory pointers: malformed ones and ones that select nothing are 400s', async () => {
      const malformed = await issue(issuers.bbs.id, {
        credential: credential(),
        options: { mandatoryPointers: ['issuer'] },
      });
      expect(malformed.status).toBe(400);
      const nothing = await issue(issuers.sd.id, {
        credential: credential(),
        options: { mandatoryPointers: ['/credentialSubject/nickname'] },
      });
      expect(nothing.status, JSON.stringify(nothing.body)).toBe(400);
      expect(nothing.body.code).toBe('invalid-pointer');
    });

    it('keeps what the mandatory pointers select in every derived credential', async () => {
      const issued = await issue(issuers.bbs.id, {
        credential: credential(),
        options: { mandatoryPointers: ['/issuer', '/credentialSubject/degree/type'] },
      });
      expect(issued.status).toBe(201);
      const derived = await deriveCredential({
        credential: issued.body.verifiableCredential,
        selectivePointers: ['/credentialSubject/id'],
        documentLoader,
      });
      expect(derived.credentialSubject).toEqual({
        id: 'did:example:alice',
        degree: { type: 'BachelorDegree' },
      });
      expect((await verify(derived)).status).toBe(200);
    });
  });

  it('P-384 ecdsa-rdfc-2019: issues, verifies, and a tampered credential fails', async () => {
    const issued = await issue(issuers.p384.id, { credential: credential() });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const vc = issued.body.verifiableCredential;
    expect(vc.proof.cryptosuite).toBe('ecdsa-rdfc-2019');
    expect(vc.proof.verificationMethod).toBe(`${issuers.p384.did}#${issuers.p384.did.slice(8)}`);
    expect((await verify(vc)).status).toBe(200);
    const tampered = await verify(tamper(vc));
    expect(tampered.status).toBe(400);
  });

  describe('did:persona issuers', () => {
    it('are created on the ledger with their suite keys under authentication and assertionMethod', async () => {
      const persona = issuers.persona;
      expect(persona.did).toMatch(/^did:persona:[a-z2-7]{32}$/);
      expect(persona.didMethod).toBe('did:persona');
      expect(persona.verificationMethods).toEqual([
        { id: `${persona.did}#ed25519`, keyType: 'Ed25519' },
        { id: `${persona.did}#bls12381g2`, keyType: 'BLS12-381-G2' },
      ]);
      const resolved = await resolve(persona.did, '?history=true');
      expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
      const { didDocument, didDocumentMetadata } = resolved.body;
      const ids = persona.verificationMethods.map((m: any) => m.id);
      expect(didDocument.verificationMethod.map((m: any) => m.id)).toEqual(ids);
      expect(didDocument.assertionMethod).toEqual(ids);
      expect(didDocument.authentication).toEqual(ids);
      expect(didDocumentMetadata.deactivated).toBe(false);
      const history = didDocumentMetadata.operationHistory;
      expect(history).toHaveLength(1);
      expect(history[0].operation.type).toBe('create');
      // Platform custody: a hybrid rotation key, kept in the KeyStore, signed the genesis.
      expect(Object.keys(history[0].operation.rotationKeys[0]).sort()).toEqual(['ed25519', 'mlDsa65']);
      expect(history[0].inclusionProof).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);

      const listed = await server.json('GET', `/v1/projects/${tenant.projectId}/dids`, {
        key: tenant.keys.viewer,
      });
      expect(listed.body.data.map((d: any) => d.did)).toContain(persona.did);
    });

    it('issue credentials that verify through did:persona resolution, with their status list', async () => {
      const issued = await issue(issuers.persona.id, { credential: credential() });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      const vc = issued.body.verifiableCredential;
      expect(vc.proof).toMatchObject({
        cryptosuite: 'eddsa-rdfc-2022',
        verificationMethod: `${issuers.persona.did}#ed25519`,
      });
      expect(vc.credentialStatus).toMatchObject({ statusPurpose: 'revocation' });
      const verified = await verify(vc);
      expect(verified.status, JSON.stringify(verified.body)).toBe(200);
      expect(verified.body.checks).toContain('status');
      expect((await verify(tamper(vc))).status).toBe(400);
    });

    it('need the dids:write permission as well', async () => {
      const scoped = await server.json('POST', `/v1/projects/${tenant.projectId}/api-keys`, {
        body: { name: 'issuers only', role: 'developer', scopes: ['issuers:write', 'issuers:read'] },
      });
      expect(scoped.status, JSON.stringify(scoped.body)).toBe(201);
      const refused = await createIssuer(
        { name: 'No', didMethod: 'did:persona', suites: ['eddsa-rdfc-2022'] },
        scoped.body.secret,
      );
      expect(refused.status).toBe(403);
      const allowed = await createIssuer(
        { name: 'Yes', didMethod: 'did:key', suites: ['eddsa-rdfc-2022'] },
        scoped.body.secret,
      );
      expect(allowed.status).toBe(201);
    });
  });
});
