import { randomUUID } from 'node:crypto';
import { presentVcSdJwt } from '@personachain/credentials';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, IssuerDids, startTestServer, type Tenant, type TestServer } from './helpers.js';

const V2 = 'https://www.w3.org/ns/credentials/v2';
const EXAMPLES = 'https://www.w3.org/ns/credentials/examples/v2';
const SD_JWT_URL = 'data:application/vc+sd-jwt,';
const COSE_URL = 'data:application/vc+cose;base64,';

function credential(): Record<string, unknown> {
  return {
    '@context': [V2, EXAMPLES],
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', 'ExampleDegreeCredential'],
    credentialSubject: { id: 'did:example:alice', name: 'Alice Example', birthDate: '1990-01-01' },
  };
}

/** VC-JOSE-COSE with SD-JWT and with COSE over the VC-API: issue → verify, tampering → 400. */
describe('vc+sd-jwt and vc+cose over the VC-API', () => {
  let server: TestServer;
  let tenant: Tenant;
  const issuers: Record<string, any> = {};
  const dids = new IssuerDids();

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

  beforeAll(async () => {
    server = await startTestServer({ PERSONA_PUBLIC_URL: 'https://persona.test:8443' });
    tenant = await createTenant(server, 'JOSE COSE');
    const made = {
      ed25519: { name: 'Ed', didMethod: 'did:key', suites: ['eddsa-rdfc-2022', 'vc+sd-jwt', 'vc+cose'] },
      p256: { name: 'P-256', didMethod: 'did:key', suites: ['vc+sd-jwt', 'vc+cose'], keyTypes: ['P-256'] },
      p384: { name: 'P-384', didMethod: 'did:web', suites: ['vc+cose', 'vc+sd-jwt'], keyTypes: ['P-384'] },
      jwtOnly: { name: 'JWT', didMethod: 'did:key', suites: ['vc+jwt'] },
    };
    for (const [label, body] of Object.entries(made)) {
      const created = dids.remember(
        await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, {
          key: tenant.keys.developer,
          body,
        }),
      );
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      issuers[label] = created.body;
    }
  });
  afterAll(() => server.close());

  it.each(['ed25519', 'p256', 'p384'])(
    '%s: vc+sd-jwt with selectivePointers; the holder presents a subset',
    async (label) => {
      const issuer = issuers[label];
      const issued = await issue(issuer.id, {
        credential: credential(),
        options: { format: 'application/vc+sd-jwt', selectivePointers: ['/credentialSubject/birthDate'] },
      });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      const vc = issued.body.verifiableCredential;
      expect(vc).toMatchObject({ '@context': V2, type: 'EnvelopedVerifiableCredential' });
      expect(vc.id.startsWith(SD_JWT_URL)).toBe(true);
      const sdJwt = vc.id.slice(SD_JWT_URL.length);
      expect(sdJwt.split('~')).toHaveLength(3);
      const header = JSON.parse(Buffer.from(sdJwt.split('.')[0], 'base64url').toString());
      expect(header).toMatchObject({ typ: 'vc+sd-jwt', cty: 'vc' });
      expect(issuer.verificationMethods.map((m: any) => m.id)).toContain(header.kid);

      const full = await verify(vc);
      expect(full.status, JSON.stringify(full.body)).toBe(200);
      expect(full.body.verified).toBe(true);
      const withheld = await presentVcSdJwt({ sdJwt, disclose: [] });
      const partial = await verify({ ...vc, id: `${SD_JWT_URL}${withheld}` });
      expect(partial.status, JSON.stringify(partial.body)).toBe(200);
    },
  );

  it.each(['ed25519', 'p256', 'p384'])('%s: vc+cose as a base64 data: URL', async (label) => {
    const issued = await issue(issuers[label].id, {
      credential: credential(),
      options: { format: 'application/vc+cose' },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const vc = issued.body.verifiableCredential;
    expect(vc.id).toMatch(/^data:application\/vc\+cose;base64,0oRY[A-Za-z0-9+/]+=*$/);
    const verified = await verify(vc);
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body).toMatchObject({
      verified: true,
      checks: ['data-model', 'proof', 'validity-period'],
    });
  });

  it('400 for a tampered vc+sd-jwt (disclosure or payload) and a tampered vc+cose', async () => {
    const sd = (
      await issue(issuers.p256.id, {
        credential: credential(),
        options: { format: 'application/vc+sd-jwt', selectivePointers: ['/credentialSubject/name'] },
      })
    ).body.verifiableCredential;
    const [jwt, , ...rest] = sd.id.slice(SD_JWT_URL.length).split('~');
    const forged = Buffer.from(JSON.stringify(['c2FsdA', 'name', 'Mallory'])).toString('base64url');
    const badDisclosure = await verify({ ...sd, id: `${SD_JWT_URL}${[jwt, forged, ...rest].join('~')}` });
    expect(badDisclosure.status).toBe(400);
    expect(badDisclosure.body.errors.map((e: any) => e.code)).toContain('invalid-disclosure');
    const [h, p, s] = jwt.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    payload.credentialSubject.id = 'did:example:mallory';
    const tampered = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}~`;
    const badPayload = await verify({ ...sd, id: `${SD_JWT_URL}${tampered}` });
    expect(badPayload.status).toBe(400);
    expect(badPayload.body.errors.map((e: any) => e.code)).toContain('invalid-signature');

    const cose = (
      await issue(issuers.ed25519.id, {
        credential: credential(),
        options: { format: 'application/vc+cose' },
      })
    ).body.verifiableCredential;
    const bytes = Buffer.from(cose.id.slice(COSE_URL.length), 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    const badCose = await verify({ ...cose, id: `${COSE_URL}${bytes.toString('base64')}` });
    expect(badCose.status).toBe(400);
    expect(badCose.body.errors.map((e: any) => e.code)).toContain('invalid-signature');
  });

  it('verifies enveloped vc+sd-jwt and vc+cose credentials inside an unsigned presentation', async () => {
    const sd = (
      await issue(issuers.ed25519.id, {
        credential: credential(),
        options: { format: 'application/vc+sd-jwt' },
      })
    ).body.verifiableCredential;
    const cose = (
      await issue(issuers.p384.id, { credential: credential(), options: { format: 'application/vc+cose' } })
    ).body.verifiableCredential;
    const vp = { '@context': [V2], type: ['VerifiablePresentation'], verifiableCredential: [sd, cose] };
    const verified = await server.json(
      'POST',
      `/v1/projects/${tenant.projectId}/verifier/presentations/verify`,
      {
        key: tenant.keys.viewer,
        body: { verifiablePresentation: vp, options: {} },
      },
    );
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body.credentialResults).toMatchObject([{ verified: true }, { verified: true }]);
  });

  const prove = (body: unknown) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/holder/presentations`, {
      key: tenant.keys.developer,
      body,
    });
  const verifyVp = (verifiablePresentation: unknown, options: Record<string, unknown>) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/verifier/presentations/verify`, {
      key: tenant.keys.viewer,
      body: { verifiablePresentation, options },
    });
  const notVerified = (response: { status: number; body: any }) => {
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body.verified).toBe(false);
    return response.body.errors.map((e: any) => e.code);
  };

  it.each([
    ['application/vp+sd-jwt', 'ed25519', 'data:application/vp+sd-jwt,'],
    ['application/vp+cose', 'p384', 'data:application/vp+cose;base64,'],
  ])(
    'the holder signs %s (as %s); the verifier checks holder, challenge, domain and credentials',
    async (format, holder, prefix) => {
      const sd = (
        await issue(issuers.p256.id, {
          credential: credential(),
          options: { format: 'application/vc+sd-jwt' },
        })
      ).body.verifiableCredential;
      const cose = (
        await issue(issuers.p384.id, { credential: credential(), options: { format: 'application/vc+cose' } })
      ).body.verifiableCredential;
      const presentation = {
        '@context': [V2],
        type: ['VerifiablePresentation'],
        verifiableCredential: [sd, cose],
      };
      const proved = await prove({
        presentation,
        options: { holder: issuers[holder].id, challenge: 'c-1', domain: 'verifier.example', format },
      });
      expect(proved.status, JSON.stringify(proved.body)).toBe(201);
      const vp = proved.body.verifiablePresentation;
      expect(vp).toMatchObject({ '@context': V2, type: 'EnvelopedVerifiablePresentation' });
      expect(vp.id.startsWith(prefix)).toBe(true);

      const ok = await verifyVp(vp, { challenge: 'c-1', domain: 'verifier.example' });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toMatchObject({
        verified: true,
        credentialResults: [{ verified: true }, { verified: true }],
      });
      expect(notVerified(await verifyVp(vp, { challenge: 'c-2' }))).toContain('challenge-mismatch');
      expect(notVerified(await verifyVp(vp, { domain: 'other.example' }))).toContain('domain-mismatch');

      // The holder's signature covers the presentation: a flipped byte of the signature fails it.
      const data = vp.id.slice(prefix.length);
      const tampered =
        format === 'application/vp+cose'
          ? (() => {
              const bytes = Buffer.from(data, 'base64');
              bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
              return bytes.toString('base64');
            })()
          : (() => {
              const [jwt, ...rest] = data.split('~');
              const flipped = `${jwt.slice(0, -2)}${jwt.at(-2) === 'A' ? 'B' : 'A'}${jwt.at(-1)}`;
              return [flipped, ...rest].join('~');
            })();
      expect(notVerified(await verifyVp({ ...vp, id: `${prefix}${tampered}` }, {}))).toContain(
        'invalid-signature',
      );
    },
  );

  it('a vp+sd-jwt with a credential that does not verify fails by path; unknown envelope prefixes are 400', async () => {
    const sd = (
      await issue(issuers.p256.id, { credential: credential(), options: { format: 'application/vc+sd-jwt' } })
    ).body.verifiableCredential;
    const [jwt, ...rest] = sd.id.slice(SD_JWT_URL.length).split('~');
    const broken = {
      ...sd,
      id: `${SD_JWT_URL}${jwt.slice(0, -2)}${jwt.at(-2) === 'A' ? 'B' : 'A'}${jwt.at(-1)}~${rest.join('~')}`,
    };
    const proved = await prove({
      presentation: { '@context': [V2], type: ['VerifiablePresentation'], verifiableCredential: [broken] },
      options: { holder: issuers.ed25519.id, challenge: 'c-3', format: 'application/vp+sd-jwt' },
    });
    expect(proved.status, JSON.stringify(proved.body)).toBe(201);
    const failed = await verifyVp(proved.body.verifiablePresentation, { challenge: 'c-3' });
    expect(notVerified(failed)).toContain('invalid-credential-in-presentation');
    expect(failed.body.errors.map((e: any) => e.path)).toContain('/verifiableCredential/0');
    const unknown = await verifyVp(
      { '@context': V2, type: 'EnvelopedVerifiablePresentation', id: 'data:application/vp+mystery,abc' },
      {},
    );
    expect(notVerified(unknown)).toContain('invalid-presentation');
  });

  it('refuses formats the issuer lacks, selectivePointers outside vc+sd-jwt, and pointers to type', async () => {
    const lacking = await issue(issuers.jwtOnly.id, {
      credential: credential(),
      options: { format: 'application/vc+cose' },
    });
    expect(lacking.status).toBe(400);
    expect(lacking.body.errors.map((e: any) => e.pointer)).toContain('#/options/format');
    const misplaced = await issue(issuers.ed25519.id, {
      credential: credential(),
      options: { format: 'application/vc+cose', selectivePointers: ['/credentialSubject/name'] },
    });
    expect(misplaced.status).toBe(400);
    expect(misplaced.body.errors.map((e: any) => e.pointer)).toContain('#/options/selectivePointers');
    const required = await issue(issuers.ed25519.id, {
      credential: credential(),
      options: { format: 'application/vc+sd-jwt', selectivePointers: ['/credentialSubject/name', '/type'] },
    });
    expect(required.status).toBe(400);
    expect(required.body.errors.map((e: any) => e.pointer)).toContain('#/options/selectivePointers/1');
  });

  it('audits the issuance with its suite', async () => {
    await issue(issuers.p256.id, { credential: credential(), options: { format: 'application/vc+cose' } });
    const audit = await server.json('GET', `/v1/projects/${tenant.projectId}/audit?limit=100`, {
      key: tenant.keys.auditor,
    });
    expect(audit.status, JSON.stringify(audit.body)).toBe(200);
    const suites = audit.body.data
      .filter((entry: any) => entry.type === 'credential.issued')
      .map((entry: any) => entry.details.suite);
    expect(suites).toContain('vc+cose');
    expect(suites).toContain('vc+sd-jwt');
  });
});
