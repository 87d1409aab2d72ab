import { createHash, randomUUID } from 'node:crypto';
import {
  createDidKey,
  createDidResolver,
  createDocumentLoader,
  createPresentation,
  createRawKeySigner,
  issueCredential,
  StatusList,
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
const SUBJECT_NAME = 'Bob Statusholder';

function credential(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@context': [V2, EXAMPLES],
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', 'ExampleMembershipCredential'],
    credentialSubject: { id: 'did:example:bob', name: SUBJECT_NAME },
    ...extra,
  };
}

describe.each(engines)('Bitstring Status List on %s', (engine) => {
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;
  let statusIssuer: any;
  let plainIssuer: any;
  let otherIssuer: any;

  const dids = new IssuerDids();
  const issue = (issuerId: string, body: unknown, key = a.keys.developer) =>
    server.json('POST', `/v1/issuers/${issuerId}/credentials/issue`, {
      key,
      body: dids.naming(issuerId, body),
    });
  const verify = (verifiableCredential: unknown, tenant = a) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/verifier/credentials/verify`, {
      key: tenant.keys.viewer,
      body: { verifiableCredential, options: { checks: ['proof', 'credentialStatus'] } },
    });
  const setStatus = (issuerId: string, body: unknown, key = a.keys.developer) =>
    server.json('POST', `/v1/issuers/${issuerId}/credentials/status`, { key, body });
  const entriesOf = (vc: any): any[] => [vc.credentialStatus].flat();

  beforeAll(async () => {
    server = await startTestServer({ PERSONA_PUBLIC_URL: PUBLIC_URL }, engine);
    a = await createTenant(server, 'Status A');
    b = await createTenant(server, 'Status B');
    const create = async (tenant: Tenant, body: unknown) => {
      const created = await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, {
        key: tenant.keys.developer,
        body,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return dids.remember(created).body;
    };
    statusIssuer = await create(a, {
      name: 'Revocable',
      didMethod: 'did:web',
      suites: ['eddsa-rdfc-2022', 'vc+jwt'],
      statusPurposes: ['revocation', 'suspension'],
    });
    plainIssuer = await create(a, { name: 'Plain', didMethod: 'did:key', suites: ['ecdsa-rdfc-2019'] });
    otherIssuer = await create(b, {
      name: 'Other',
      didMethod: 'did:key',
      suites: ['eddsa-rdfc-2022'],
      statusPurposes: ['revocation'],
    });
  });
  afterAll(() => server.close());

  it('shows statusPurposes on issuers and refuses them without a Data Integrity suite', async () => {
    expect(statusIssuer.statusPurposes).toEqual(['revocation', 'suspension']);
    expect(plainIssuer.statusPurposes).toEqual([]);
    const refused = await server.json('POST', `/v1/projects/${a.projectId}/issuers`, {
      key: a.keys.developer,
      body: { name: 'J', didMethod: 'did:key', suites: ['vc+jwt'], statusPurposes: ['revocation'] },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: any) => e.pointer)).toEqual(['#/statusPurposes']);
  });

  it('adds a revocation and a suspension entry with random indexes to what a status issuer issues', async () => {
    const issued = await issue(statusIssuer.id, { credential: credential() });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const vc = issued.body.verifiableCredential;
    const [revocation, suspension] = entriesOf(vc);
    for (const [entry, purpose] of [
      [revocation, 'revocation'],
      [suspension, 'suspension'],
    ] as const) {
      const url = `${PUBLIC_URL}/status/${statusIssuer.id}/${purpose}`;
      expect(entry).toEqual({
        id: `${url}#${entry.statusListIndex}`,
        type: 'BitstringStatusListEntry',
        statusPurpose: purpose,
        statusListIndex: expect.stringMatching(/^[0-9]+$/),
        statusListCredential: url,
      });
      expect(Number(entry.statusListIndex)).toBeLessThan(131_072);
    }
    const verified = await verify(vc);
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body.checks).toEqual(['data-model', 'json-ld', 'proof', 'validity-period', 'status']);
    expect(verified.body.credentialStatus.map((s: any) => [s.statusPurpose, s.status])).toEqual([
      ['revocation', false],
      ['suspension', false],
    ]);
  });

  it('writes nothing for a credential it refuses: no list, no index', async () => {
    const refused = await issue(
      otherIssuer.id,
      { credential: credential({ type: 'Nope' }) },
      b.keys.developer,
    );
    expect(refused.status).toBe(400);
    expect((await server.call('GET', `/status/${otherIssuer.id}/revocation`, { key: null })).status).toBe(
      404,
    );
  });

  it('follows options.credentialStatus, and keeps a credential’s own credentialStatus as given', async () => {
    const one = await issue(plainIssuer.id, {
      credential: credential(),
      options: { credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' } },
    });
    expect(one.status, JSON.stringify(one.body)).toBe(201);
    expect(one.body.verifiableCredential.credentialStatus).toMatchObject({
      statusPurpose: 'revocation',
      statusListCredential: `${PUBLIC_URL}/status/${plainIssuer.id}/revocation`,
    });
    expect((await verify(one.body.verifiableCredential)).status).toBe(200);
    const own = { id: 'https://status.example/1', type: 'CredentialStatusList2017' };
    const kept = await issue(statusIssuer.id, { credential: credential({ credentialStatus: own }) });
    expect(kept.status, JSON.stringify(kept.body)).toBe(201);
    expect(kept.body.verifiableCredential.credentialStatus).toEqual(own);
    const plain = await issue(plainIssuer.id, { credential: credential() });
    expect(plain.body.verifiableCredential.credentialStatus).toBeUndefined();
  });

  it('serves the signed list publicly with caching headers, an ETag and a proof that verifies', async () => {
    const path = `/status/${statusIssuer.id}/revocation`;
    const response = await server.call('GET', path, { key: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/ld\+json/);
    expect(response.headers.get('cache-control')).toBe('public, max-age=60');
    const etag = response.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    const list = await response.json();
    expect(list).toMatchObject({
      '@context': [V2],
      id: `${PUBLIC_URL}${path}`,
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      issuer: statusIssuer.did,
      credentialSubject: { type: 'BitstringStatusList', statusPurpose: 'revocation', ttl: 60_000 },
      proof: { type: 'DataIntegrityProof', cryptosuite: 'eddsa-rdfc-2022' },
    });
    expect((await StatusList.decode(list.credentialSubject.encodedList)).length).toBe(131_072);
    expect((await verify(list)).status).toBe(200);
    const again = await server.call('GET', path, { key: null, headers: { 'if-none-match': etag as string } });
    expect(again.status).toBe(304);
    const vc = await server.call('GET', path, { key: null, headers: { accept: 'application/vc' } });
    expect(vc.headers.get('content-type')).toMatch(/^application\/vc/);
    expect((await server.call('GET', `/status/${plainIssuer.id}/suspension`, { key: null })).status).toBe(
      404,
    );
    expect((await server.call('GET', `/status/${statusIssuer.id}/refresh`, { key: null })).status).toBe(400);
  });

  it('revokes for good: verification then fails "revoked" and the published list changes', async () => {
    const vc = (await issue(statusIssuer.id, { credential: credential() })).body.verifiableCredential;
    const [revocation] = entriesOf(vc);
    const before = await server.call('GET', `/status/${statusIssuer.id}/revocation`, { key: null });
    const revoked = await setStatus(statusIssuer.id, {
      credentialId: vc.id,
      credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body).toEqual({
      statusPurpose: 'revocation',
      statusListCredential: revocation.statusListCredential,
      status: true,
      entries: [{ statusListIndex: revocation.statusListIndex, changed: true }],
    });
    const verified = await verify(vc);
    expect(verified.status).toBe(400);
    expect(verified.body).toMatchObject({ type: 'urn:personachain:problem:not-verified', verified: false });
    expect(verified.body.checks).toContain('status');
    expect(verified.body.errors).toEqual([
      { code: 'revoked', message: 'The credential has been revoked.', path: '/credentialStatus/0' },
    ]);
    const after = await server.call('GET', `/status/${statusIssuer.id}/revocation`, { key: null });
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    const list = await StatusList.decode((await after.json()).credentialSubject.encodedList);
    expect(list.get(Number(revocation.statusListIndex))).toBe(true);

    const again = await setStatus(statusIssuer.id, {
      credentialStatus: { ...revocation, id: undefined },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.entries[0].changed).toBe(false);
    const undo = await setStatus(statusIssuer.id, {
      credentialId: vc.id,
      credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
      status: false,
    });
    expect(undo.status).toBe(400);
    expect(undo.body.errors.map((e: any) => e.pointer)).toEqual(['#/status']);
    expect((await verify(vc)).body.errors[0].code).toBe('revoked');
  });

  it('suspends and reinstates by the credential’s own entry', async () => {
    const vc = (await issue(statusIssuer.id, { credential: credential() })).body.verifiableCredential;
    const [, suspension] = entriesOf(vc);
    const suspended = await setStatus(statusIssuer.id, { credentialStatus: suspension });
    expect(suspended.status, JSON.stringify(suspended.body)).toBe(200);
    const failed = await verify(vc);
    expect(failed.status).toBe(400);
    expect(failed.body.errors).toEqual([
      { code: 'suspended', message: 'The credential is suspended.', path: '/credentialStatus/1' },
    ]);
    expect(failed.body.credentialStatus.map((s: any) => s.status)).toEqual([false, true]);
    const reinstated = await setStatus(statusIssuer.id, { credentialStatus: suspension, status: false });
    expect(reinstated.status).toBe(200);
    expect(reinstated.body.entries).toEqual([{ statusListIndex: suspension.statusListIndex, changed: true }]);
    expect((await verify(vc)).status).toBe(200);
  });

  it('checks the status of credentials inside presentations', async () => {
    const vc = (await issue(statusIssuer.id, { credential: credential() })).body.verifiableCredential;
    const { publicKey, secretKey } = await signatureScheme('Ed25519').generateKeyPair();
    const did = createDidKey('Ed25519', publicKey);
    const resolver = createDidResolver();
    const documentLoader = createDocumentLoader({
      resolveDidUrl: async (url) => (await resolver.dereference(url)).contentStream,
    });
    const presentation = await signPresentation({
      presentation: createPresentation({ verifiableCredential: [vc], holder: did }),
      suite: 'eddsa-rdfc-2022',
      signer: createRawKeySigner({ id: `${did}#${did.slice(8)}`, algorithm: 'Ed25519', secretKey }),
      challenge: 'c-1',
      documentLoader,
    });
    const verifyVp = () =>
      server.json('POST', `/v1/projects/${a.projectId}/verifier/presentations/verify`, {
        key: a.keys.viewer,
        body: { verifiablePresentation: presentation, options: { challenge: 'c-1' } },
      });
    const ok = await verifyVp();
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.credentialResults[0].checks).toContain('status');
    await setStatus(statusIssuer.id, {
      credentialId: vc.id,
      credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'suspension' },
    });
    const failed = await verifyVp();
    expect(failed.status).toBe(400);
    expect(failed.body.errors.map((e: any) => [e.code, e.path])).toEqual([
      ['invalid-credential-in-presentation', '/verifiableCredential/0'],
    ]);
    expect(failed.body.credentialResults[0].errors.map((e: any) => e.code)).toEqual(['suspended']);
  });

  it('issues VC 1.1 credentials with status, adding the status-list context', async () => {
    const issued = await issue(statusIssuer.id, {
      credential: {
        '@context': ['https://www.w3.org/2018/credentials/v1'],
        id: `urn:uuid:${randomUUID()}`,
        type: ['VerifiableCredential'],
        issuanceDate: '2020-03-16T22:37:26.544Z',
        credentialSubject: { id: 'did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b' },
      },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    expect(issued.body.verifiableCredential['@context']).toEqual([
      'https://www.w3.org/2018/credentials/v1',
      'https://www.w3.org/ns/credentials/status/v1',
      'https://w3id.org/security/data-integrity/v2',
    ]);
    expect((await verify(issued.body.verifiableCredential)).status).toBe(200);
  });

  it('checks the status of vc+jwt credentials too', async () => {
    const issued = await issue(statusIssuer.id, {
      credential: credential(),
      options: { format: 'application/vc+jwt' },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const payload = JSON.parse(
      Buffer.from(issued.body.verifiableCredential.id.split(',')[1].split('.')[1], 'base64url').toString(),
    );
    expect(entriesOf(payload)).toHaveLength(2);
    expect((await verify(issued.body.verifiableCredential)).status).toBe(200);
    await setStatus(statusIssuer.id, {
      credentialId: payload.id,
      credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
    });
    const failed = await verify(issued.body.verifiableCredential);
    expect(failed.status).toBe(400);
    expect(failed.body.errors.map((e: any) => e.code)).toEqual(['revoked']);
  });

  it('fails a foreign credential whose status list cannot be fetched (a non-public address)', async () => {
    const { publicKey, secretKey } = await signatureScheme('Ed25519').generateKeyPair();
    const did = createDidKey('Ed25519', publicKey);
    const resolver = createDidResolver();
    const documentLoader = createDocumentLoader({
      resolveDidUrl: async (url) => (await resolver.dereference(url)).contentStream,
    });
    const vc = await issueCredential({
      credential: credential({
        issuer: did,
        credentialStatus: {
          type: 'BitstringStatusListEntry',
          statusPurpose: 'revocation',
          statusListIndex: '5',
          statusListCredential: 'https://127.0.0.1/status/1',
        },
      }),
      suite: 'eddsa-rdfc-2022',
      signer: createRawKeySigner({ id: `${did}#${did.slice(8)}`, algorithm: 'Ed25519', secretKey }),
      documentLoader,
    });
    const failed = await verify(vc);
    expect(failed.status).toBe(400);
    expect(failed.body.errors).toEqual([
      {
        code: 'status-retrieval-error',
        message: expect.stringContaining('not a public address'),
        path: '/credentialStatus',
      },
    ]);
  });

  it('refuses bad requests (400), other projects (404), unknown entries (404) and viewers (403)', async () => {
    const vc = (await issue(statusIssuer.id, { credential: credential() })).body.verifiableCredential;
    const revocation = { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' };
    const cases: Array<[unknown, string]> = [
      [{ credentialStatus: revocation }, '#/credentialId'],
      [{ credentialId: vc.id, credentialStatus: { ...revocation, statusListIndex: '1' } }, '#/credentialId'],
      [
        {
          credentialId: vc.id,
          credentialStatus: {
            ...revocation,
            statusListCredential: `${PUBLIC_URL}/status/${plainIssuer.id}/revocation`,
          },
        },
        '#/credentialStatus/statusListCredential',
      ],
      [
        { credentialId: vc.id, credentialStatus: { ...revocation, statusPurpose: 'refresh' } },
        '#/credentialStatus/statusPurpose',
      ],
      [{ credentialId: vc.id, credentialStatus: revocation, extra: 1 }, '#/extra'],
    ];
    for (const [body, pointer] of cases) {
      const response = await setStatus(statusIssuer.id, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.errors.map((e: any) => e.pointer)).toContain(pointer);
    }
    const body = { credentialId: vc.id, credentialStatus: revocation };
    expect((await setStatus(otherIssuer.id, body)).status).toBe(404);
    expect((await setStatus(statusIssuer.id, body, b.keys.owner)).status).toBe(404);
    expect((await setStatus(statusIssuer.id, { ...body, credentialId: 'urn:uuid:nobody' })).status).toBe(404);
    expect((await setStatus(plainIssuer.id, body)).status).toBe(404);
    const viewer = await setStatus(statusIssuer.id, body, a.keys.viewer);
    expect(viewer.status).toBe(403);
    expect((await verify(vc)).status).toBe(200);
  });

  it('audits status changes with the credential hash, purpose and status, never subject data', async () => {
    const vc = (await issue(statusIssuer.id, { credential: credential() })).body.verifiableCredential;
    await setStatus(statusIssuer.id, {
      credentialId: vc.id,
      credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'suspension' },
    });
    const entries: any[] = [];
    let cursor = '';
    for (;;) {
      const page = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100${cursor}`, {
        key: a.keys.auditor,
      });
      entries.push(...page.body.data);
      if (!page.body.nextCursor) break;
      cursor = `&cursor=${page.body.nextCursor}`;
    }
    const credentialHash = createHash('sha256').update(vc.id).digest('hex');
    const changed = entries.filter(
      (e) => e.type === 'credential.status_changed' && e.details.credentialHash === credentialHash,
    );
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({
      subject: statusIssuer.id,
      details: { credentialHash, purpose: 'suspension', status: true },
    });
    expect(Object.keys(changed[0].details).sort()).toEqual(['credentialHash', 'purpose', 'status']);
    const issued = entries.find(
      (e) => e.type === 'credential.issued' && e.details.credentialHash === credentialHash,
    );
    expect(issued.details.statusPurposes).toEqual(['revocation', 'suspension']);
    for (const entry of entries) expect(entry.entry).not.toContain(SUBJECT_NAME);
  });

  it('never gives an index out twice (200 issuances, 20 at a time)', async () => {
    const indexes: Record<string, string[]> = { revocation: [], suspension: [] };
    const revocations = indexes.revocation as string[];
    for (let batch = 0; batch < 10; batch++) {
      const issued = await Promise.all(
        Array.from({ length: 20 }, () => issue(statusIssuer.id, { credential: credential() })),
      );
      for (const response of issued) {
        expect(response.status, JSON.stringify(response.body)).toBe(201);
        for (const entry of entriesOf(response.body.verifiableCredential)) {
          indexes[entry.statusPurpose]?.push(entry.statusListIndex);
        }
      }
    }
    for (const list of Object.values(indexes)) {
      expect(list).toHaveLength(200);
      expect(new Set(list).size).toBe(200);
    }
    // Random, not sequential: 200 draws from 131,072 spread over the list.
    const sorted = revocations.map(Number).sort((x, y) => x - y);
    expect(Math.max(...sorted) - Math.min(...sorted)).toBeGreaterThan(50_000);
  });
});
