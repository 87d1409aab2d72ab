import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestServer, type Tenant, type TestServer } from './helpers.js';

/**
 * VC-JOSE-COSE credentials verify with the same answers whether their signatures are checked on the
 * verification threads or on the main thread (PERSONA_SIGNATURE_THREADS=0).
 */
describe.each(['0', '1'])('PERSONA_SIGNATURE_THREADS=%s', (threads) => {
  let server: TestServer;
  let tenant: Tenant;
  let issuer: { id: string; did: string };

  beforeAll(async () => {
    server = await startTestServer({ PERSONA_SIGNATURE_THREADS: threads });
    tenant = await createTenant(server, `Signature threads ${threads}`);
    const created = await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, {
      key: tenant.keys.developer,
      body: { name: 'jose', didMethod: 'did:key', suites: ['vc+jwt', 'vc+cose'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    issuer = created.body;
  });
  afterAll(() => server.close());

  const issue = async (format: string) => {
    const issued = await server.json('POST', `/v1/issuers/${issuer.id}/credentials/issue`, {
      key: tenant.keys.developer,
      body: {
        credential: {
          '@context': ['https://www.w3.org/ns/credentials/v2'],
          type: ['VerifiableCredential'],
          issuer: issuer.did,
          credentialSubject: { id: 'did:example:alice', name: 'Alice' },
        },
        options: { format },
      },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    return issued.body.verifiableCredential as { id: string };
  };
  const verify = (verifiableCredential: unknown) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/verifier/credentials/verify`, {
      key: tenant.keys.viewer,
      body: { verifiableCredential },
    });

  it.each(['application/vc+jwt', 'application/vc+cose'])('verifies %s, concurrently', async (format) => {
    const credential = await issue(format);
    const answers = await Promise.all(Array.from({ length: 20 }, () => verify(credential)));
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  });

  it('refuses a vc+jwt whose signature was altered, with the reason', async () => {
    const { id, ...envelope } = await issue('application/vc+jwt');
    const altered = `${id.slice(0, -2)}${id.at(-2) === 'A' ? 'B' : 'A'}${id.at(-1)}`;
    const answer = await verify({ ...envelope, id: altered });
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { code: string }) => e.code)).toEqual(['invalid-signature']);
  });
});
