import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestServer, type Tenant, type TestServer } from './helpers.js';

/**
 * Data Integrity issuance and verification give the same answers on the credential threads as on the main
 * thread (PERSONA_CREDENTIAL_THREADS=0), including the reasons of what does not verify.
 */
describe.each(['0', '1'])('PERSONA_CREDENTIAL_THREADS=%s', (threads) => {
  let server: TestServer;
  let tenant: Tenant;
  const issuers: Record<string, { id: string; did: string }> = {};

  beforeAll(async () => {
    server = await startTestServer({
      PERSONA_CREDENTIAL_THREADS: threads,
      PERSONA_PUBLIC_URL: 'https://persona.test:8443',
    });
    tenant = await createTenant(server, `Threads ${threads}`);
    for (const [label, suites, didMethod] of [
      ['ed', ['eddsa-rdfc-2022'], 'did:key'],
      ['web', ['ecdsa-rdfc-2019'], 'did:web'],
      ['bbs', ['bbs-2023'], 'did:key'],
    ] as const) {
      const created = await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, {
        key: tenant.keys.developer,
        body: { name: label, didMethod, suites },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      issuers[label] = created.body;
    }
  });
  afterAll(() => server.close());

  const issue = async (label: string, options: Record<string, unknown> = {}) => {
    const issuer = issuers[label] as { id: string; did: string };
    const issued = await server.json('POST', `/v1/issuers/${issuer.id}/credentials/issue`, {
      key: tenant.keys.developer,
      body: {
        credential: {
          '@context': [
            'https://www.w3.org/ns/credentials/v2',
            'https://www.w3.org/ns/credentials/examples/v2',
          ],
          id: `urn:uuid:${randomUUID()}`,
          type: ['VerifiableCredential', 'ExampleDegreeCredential'],
          issuer: issuer.did,
          credentialSubject: { id: 'did:example:alice', degree: 'BSc' },
        },
        options,
      },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    return issued.body.verifiableCredential;
  };
  const verify = (verifiableCredential: unknown) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/verifier/credentials/verify`, {
      key: tenant.keys.viewer,
      body: { verifiableCredential },
    });

  it('issues with did:key and hosted did:web issuers and verifies (200)', async () => {
    for (const label of ['ed', 'web']) {
      const verified = await verify(await issue(label));
      expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    }
  });

  it('signs bbs-2023 base proofs through the KeyStore', async () => {
    const base = await issue('bbs', { mandatoryPointers: ['/issuer'] });
    expect(base.proof).toMatchObject({ cryptosuite: 'bbs-2023', proofValue: expect.stringMatching(/^u/) });
  });

  it('answers what does not verify with the same reasons', async () => {
    const vc = await issue('ed');
    const tampered = await verify({ ...vc, credentialSubject: { ...vc.credentialSubject, degree: 'PhD' } });
    expect(tampered.status).toBe(400);
    expect(tampered.body.errors.map((e: { code: string }) => e.code)).toEqual(['invalid-signature']);
    const unknownDid = await verify({
      ...vc,
      proof: { ...vc.proof, verificationMethod: 'did:web:persona.test:nobody#key-1' },
    });
    expect(unknownDid.status).toBe(400);
    expect(unknownDid.body.errors[0].code).toBe('verification-method-not-found');
  });
});
