import { randomUUID } from 'node:crypto';
import {
  createBbsSigner,
  createDidKey,
  createDidResolver,
  createDocumentLoader,
  createPresentation,
  createRawKeySigner,
  issueCredential,
  signPresentation,
} from '@personachain/credentials';
import { signatureScheme } from '@personachain/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, IssuerDids, startTestServer, type Tenant, type TestServer } from './helpers.js';

const PUBLIC_URL = 'https://persona.test:8443';
const V2 = 'https://www.w3.org/ns/credentials/v2';
const EXAMPLES = 'https://www.w3.org/ns/credentials/examples/v2';
const VC_JWT = 'data:application/vc+jwt,';
const VP_JWT = 'data:application/vp+jwt,';

function credential(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@context': [V2, EXAMPLES],
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', 'ExampleDegreeCredential'],
    credentialSubject: { id: 'did:example:alice', name: 'Alice Example', degree: 'BSc' },
    ...extra,
  };
}

/**
 * A credential with a selective-disclosure base proof. The API does not issue these suites yet: a did:key
 * issuer with a raw key (P-256 for ecdsa-sd-2023, BLS12-381 G2 for bbs-2023) stands in for one.
 */
async function baseCredential(suite: 'ecdsa-sd-2023' | 'bbs-2023') {
  const algorithm = suite === 'ecdsa-sd-2023' ? 'P-256' : 'BLS12-381-G2';
  const { publicKey, secretKey } = await signatureScheme(algorithm).generateKeyPair();
  const did = createDidKey(algorithm, publicKey);
  const id = `${did}#${did.slice('did:key:'.length)}`;
  const signer =
    algorithm === 'P-256'
      ? createRawKeySigner({ id, algorithm, secretKey })
      : await createBbsSigner({ id, secretKey, publicKey });
  const resolver = createDidResolver();
  const documentLoader = createDocumentLoader({
    resolveDidUrl: async (url) => (await resolver.dereference(url)).contentStream,
  });
  return issueCredential({
    credential: credential({ issuer: did }),
    suite,
    signer,
    documentLoader,
    options: { mandatoryPointers: ['/issuer', '/credentialSubject/id'] },
  });
}

/** Changes one character of a vc+jwt's signature, keeping the envelope. */
function tamperedEnvelope(envelope: { id: string }): Record<string, unknown> {
  const jws = envelope.id.slice(VC_JWT.length);
  const flipped = `${jws.slice(0, -2)}${jws.at(-2) === 'A' ? 'B' : 'A'}${jws.at(-1)}`;
  return { ...envelope, id: `${VC_JWT}${flipped}` };
}

describe('the VC-API holder side: derive and prove', () => {
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;
  const issuers: Record<string, any> = {};
  const dids = new IssuerDids();

  const derive = (body: unknown, key = a.keys.viewer, tenant = a) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/holder/credentials/derive`, { key, body });
  const prove = (body: unknown, key = a.keys.developer, tenant = a) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/holder/presentations`, { key, body });
  const verify = (verifiableCredential: unknown) =>
    server.json('POST', `/v1/projects/${a.projectId}/verifier/credentials/verify`, {
      key: a.keys.viewer,
      body: { verifiableCredential },
    });
  const verifyVp = (verifiablePresentation: unknown, options: Record<string, unknown>) =>
    server.json('POST', `/v1/projects/${a.projectId}/verifier/presentations/verify`, {
      key: a.keys.viewer,
      body: { verifiablePresentation, options },
    });
  const issue = async (issuerId: string, options: Record<string, unknown> = {}) => {
    const issued = await server.json('POST', `/v1/issuers/${issuerId}/credentials/issue`, {
      key: a.keys.developer,
      body: dids.naming(issuerId, { credential: credential(), options }),
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    return issued.body.verifiableCredential;
  };
  const expectNotVerified = (response: { status: number; body: any }, code: string) => {
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body.type).toBe('urn:personachain:problem:not-verified');
    expect(response.body.verified).toBe(false);
    expect(response.body.errors.map((e: any) => e.code)).toContain(code);
  };

  beforeAll(async () => {
    server = await startTestServer({ PERSONA_PUBLIC_URL: PUBLIC_URL });
    a = await createTenant(server, 'Holder A');
    b = await createTenant(server, 'Holder B');
    const made: Record<string, [Tenant, unknown]> = {
      ed25519: [a, { name: 'Ed', didMethod: 'did:key', suites: ['eddsa-rdfc-2022', 'vc+jwt'] }],
      p256: [a, { name: 'P-256', didMethod: 'did:key', suites: ['ecdsa-rdfc-2019', 'vc+jwt'] }],
      jwt: [a, { name: 'JOSE', didMethod: 'did:key', suites: ['vc+jwt'] }],
      web: [a, { name: 'Web', didMethod: 'did:web', suites: ['eddsa-jcs-2022'] }],
      otherProject: [b, { name: 'B', didMethod: 'did:key', suites: ['eddsa-rdfc-2022'] }],
    };
    for (const [label, [tenant, body]] of Object.entries(made)) {
      const created = await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, {
        key: tenant.keys.developer,
        body,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      issuers[label] = dids.remember(created).body;
    }
  });
  afterAll(() => server.close());

  describe('derive', () => {
    it.each(['ecdsa-sd-2023', 'bbs-2023'] as const)(
      'derives a %s disclosure that the verifier accepts',
      async (suite) => {
        const base = await baseCredential(suite);
        expectNotVerified(await verify(base), 'derived-proof-required');
        const derived = await derive({
          verifiableCredential: base,
          options: { selectivePointers: ['/credentialSubject/degree'] },
        });
        expect(derived.status, JSON.stringify(derived.body)).toBe(201);
        const disclosed = derived.body.verifiableCredential;
        expect(disclosed.credentialSubject).toEqual({ id: 'did:example:alice', degree: 'BSc' });
        expect(disclosed.proof.cryptosuite).toBe(suite);
        const verified = await verify(disclosed);
        expect(verified.status, JSON.stringify(verified.body)).toBe(200);
        expect(verified.body.verified).toBe(true);
      },
    );

    it('refuses pointers that select nothing, derived and non-selective proofs (400 with the code)', async () => {
      const base = await baseCredential('ecdsa-sd-2023');
      const missing = await derive({
        verifiableCredential: base,
        options: { selectivePointers: ['/credentialSubject/degree', '/credentialSubject/age'] },
      });
      expect(missing.status).toBe(400);
      expect(missing.body.type).toBe('urn:personachain:problem:credential-rejected');
      expect(missing.body.code).toBe('invalid-pointer');
      expect(missing.body.errors.map((e: any) => e.pointer)).toEqual(['#/options/selectivePointers/1']);

      const malformed = await derive({
        verifiableCredential: base,
        options: { selectivePointers: ['name'] },
      });
      expect(malformed.status).toBe(400);
      expect(malformed.body.type).toBe('urn:personachain:problem:validation-error');

      const derived = (await derive({ verifiableCredential: base })).body.verifiableCredential;
      const again = await derive({ verifiableCredential: derived });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe('invalid-proof');

      const eddsa = await derive({ verifiableCredential: await issue(issuers.ed25519.id) });
      expect(eddsa.status).toBe(400);
      expect(eddsa.body.code).toBe('invalid-proof');
      expect(eddsa.body.detail).toContain('no ecdsa-sd-2023 or bbs-2023 base proof');

      const notCredential = await derive({ verifiableCredential: { ...base, credentialSubject: [] } });
      expect(notCredential.status).toBe(400);
      expect(notCredential.body.code).toBe('invalid-credential');
      expect(notCredential.body.errors.map((e: any) => e.pointer)).toContain(
        '#/verifiableCredential/credentialSubject',
      );
    });
  });

  describe('prove, then verify', () => {
    it('signs a Data Integrity presentation that verifies only with its challenge and domain', async () => {
      const vc = await issue(issuers.p256.id);
      const proved = await prove({
        presentation: createPresentation({ verifiableCredential: [vc] }),
        options: { holder: issuers.ed25519.id, challenge: 'c-1', domain: 'verifier.example' },
      });
      expect(proved.status, JSON.stringify(proved.body)).toBe(201);
      const vp = proved.body.verifiablePresentation;
      expect(vp.holder).toBe(issuers.ed25519.did);
      expect(vp.proof).toMatchObject({
        cryptosuite: 'eddsa-rdfc-2022',
        proofPurpose: 'authentication',
        challenge: 'c-1',
        domain: 'verifier.example',
        verificationMethod: issuers.ed25519.verificationMethods[0].id,
      });
      const ok = await verifyVp(vp, { challenge: 'c-1', domain: 'verifier.example' });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toMatchObject({ verified: true, credentialResults: [{ verified: true }] });
      expect(ok.body.checks).toContain('proof');
      expectNotVerified(
        await verifyVp(vp, { challenge: 'c-2', domain: 'verifier.example' }),
        'challenge-mismatch',
      );
      expectNotVerified(await verifyVp(vp, { challenge: 'c-1', domain: 'other.example' }), 'domain-mismatch');
    });

    it('records presentation.signed: the holder, suite and credential count, never the contents', async () => {
      const proved = await prove({
        presentation: createPresentation({ verifiableCredential: [await issue(issuers.p256.id)] }),
        options: { holder: issuers.ed25519.id, challenge: 'c-audit', domain: 'audit.example' },
      });
      expect(proved.status, JSON.stringify(proved.body)).toBe(201);
      const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`, {
        key: a.keys.auditor,
      });
      const signed = audit.body.data.filter(
        (e: any) => e.type === 'presentation.signed' && e.details.domain === 'audit.example',
      );
      expect(signed).toHaveLength(1);
      expect(signed[0]).toMatchObject({
        subject: issuers.ed25519.id,
        actor: a.keyIds.developer,
        details: { suite: 'eddsa-rdfc-2022', credentials: 1, domain: 'audit.example' },
      });
      expect(JSON.stringify(signed[0])).not.toContain('c-audit');
      expect(JSON.stringify(signed[0])).not.toContain('did:example');
    });

    it('signs as a hosted did:web issuer, whose document lists the key under authentication', async () => {
      const proved = await prove({
        presentation: createPresentation({ verifiableCredential: [await issue(issuers.p256.id)] }),
        options: { holder: issuers.web.id, challenge: 'c-web' },
      });
      expect(proved.status, JSON.stringify(proved.body)).toBe(201);
      expect(proved.body.verifiablePresentation.proof.cryptosuite).toBe('eddsa-jcs-2022');
      const ok = await verifyVp(proved.body.verifiablePresentation, { challenge: 'c-web' });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    });

    it('signs a vp+jwt (EnvelopedVerifiablePresentation) with nonce and aud', async () => {
      const vc = await issue(issuers.jwt.id, { format: 'application/vc+jwt' });
      const proved = await prove({
        presentation: createPresentation({ verifiableCredential: [vc] }),
        options: {
          holder: issuers.p256.id,
          challenge: 'n-1',
          domain: 'verifier.example',
          format: 'application/vp+jwt',
        },
      });
      expect(proved.status, JSON.stringify(proved.body)).toBe(201);
      const vp = proved.body.verifiablePresentation;
      expect(vp.type).toBe('EnvelopedVerifiablePresentation');
      expect(vp.id.startsWith(VP_JWT)).toBe(true);
      const payload = JSON.parse(
        Buffer.from(vp.id.slice(VP_JWT.length).split('.')[1], 'base64url').toString(),
      );
      expect(payload).toMatchObject({ holder: issuers.p256.did, nonce: 'n-1', aud: 'verifier.example' });

      const ok = await verifyVp(vp, { challenge: 'n-1', domain: 'verifier.example' });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toMatchObject({ verified: true, credentialResults: [{ verified: true }] });
      expectNotVerified(
        await verifyVp(vp, { challenge: 'n-2', domain: 'verifier.example' }),
        'challenge-mismatch',
      );
      expectNotVerified(await verifyVp(vp, { challenge: 'n-1', domain: 'other.example' }), 'domain-mismatch');

      // A vc+jwt-only holder signs vp+jwt by default.
      const byDefault = await prove({
        presentation: createPresentation({ verifiableCredential: [vc] }),
        options: { holder: issuers.jwt.id, challenge: 'n-3' },
      });
      expect(byDefault.status, JSON.stringify(byDefault.body)).toBe(201);
      expect(byDefault.body.verifiablePresentation.type).toBe('EnvelopedVerifiablePresentation');
    });

    it('verifies enveloped vc+jwt credentials inside a Data Integrity presentation; a tampered one fails by path', async () => {
      const di = await issue(issuers.p256.id);
      const jwt = await issue(issuers.jwt.id, { format: 'application/vc+jwt' });
      const sign = async (verifiableCredential: unknown[]) =>
        (
          await prove({
            presentation: createPresentation({ verifiableCredential: verifiableCredential as any }),
            options: { holder: issuers.ed25519.id, challenge: 'c-env' },
          })
        ).body.verifiablePresentation;

      const ok = await verifyVp(await sign([di, jwt]), { challenge: 'c-env' });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body.credentialResults.map((r: any) => r.verified)).toEqual([true, true]);

      const bad = await verifyVp(await sign([di, tamperedEnvelope(jwt)]), { challenge: 'c-env' });
      expectNotVerified(bad, 'invalid-credential-in-presentation');
      expect(bad.body.errors).toContainEqual(
        expect.objectContaining({
          code: 'invalid-credential-in-presentation',
          path: '/verifiableCredential/1',
        }),
      );
      expect(bad.body.credentialResults.map((r: any) => r.verified)).toEqual([true, false]);
      expect(bad.body.credentialResults[1].errors.map((e: any) => e.code)).toContain('invalid-signature');
    });

    it('refuses a presentation signed by someone other than its holder (holder-mismatch)', async () => {
      const { publicKey, secretKey } = await signatureScheme('Ed25519').generateKeyPair();
      const did = createDidKey('Ed25519', publicKey);
      const resolver = createDidResolver();
      const vp = await signPresentation({
        presentation: createPresentation({ holder: issuers.ed25519.did }),
        suite: 'eddsa-rdfc-2022',
        signer: createRawKeySigner({ id: `${did}#${did.slice(8)}`, algorithm: 'Ed25519', secretKey }),
        challenge: 'c-h',
        documentLoader: createDocumentLoader({
          resolveDidUrl: async (url) => (await resolver.dereference(url)).contentStream,
        }),
      });
      const refused = await verifyVp(vp, { challenge: 'c-h' });
      expectNotVerified(refused, 'holder-mismatch');
      expect(refused.body.errors).toContainEqual(
        expect.objectContaining({ code: 'holder-mismatch', path: '/proof/verificationMethod' }),
      );
    });

    it('verifies an unsigned presentation when no challenge is expected, and refuses it when one is', async () => {
      const unsigned = createPresentation({ verifiableCredential: [await issue(issuers.p256.id)] });
      const ok = await verifyVp(unsigned, {});
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body.checks).not.toContain('proof');
      expect(ok.body.credentialResults).toMatchObject([{ verified: true }]);
      expectNotVerified(await verifyVp(unsigned, { challenge: 'c-3' }), 'missing-proof');

      const tampered = createPresentation({
        verifiableCredential: [{ ...(await issue(issuers.p256.id)), name: 'Changed' }],
      });
      const bad = await verifyVp(tampered, { checks: ['proof'] });
      expectNotVerified(bad, 'invalid-credential-in-presentation');
      expect(bad.body.credentialResults[0].verified).toBe(false);
    });
  });

  describe('what cannot be proved', () => {
    const presentation = () => createPresentation({});

    it('another holder in the presentation, no holder, a suite the holder lacks (400)', async () => {
      const otherHolder = await prove({
        presentation: { ...presentation(), holder: 'did:example:mallory' },
        options: { holder: issuers.ed25519.id, challenge: 'c' },
      });
      expect(otherHolder.status).toBe(400);
      expect(otherHolder.body.code).toBe('holder-mismatch');
      const noHolder = await prove({ presentation: presentation(), options: { challenge: 'c' } });
      expect(noHolder.status).toBe(400);
      expect(noHolder.body.errors.map((e: any) => e.pointer)).toContain('#/options/holder');
      const noChallenge = await prove({
        presentation: presentation(),
        options: { holder: issuers.ed25519.id },
      });
      expect(noChallenge.status).toBe(400);
      const lacking = await prove({
        presentation: presentation(),
        options: { holder: issuers.ed25519.id, challenge: 'c', cryptosuite: 'ecdsa-rdfc-2019' },
      });
      expect(lacking.status).toBe(400);
      expect(lacking.body.errors.map((e: any) => e.pointer)).toEqual(['#/options/cryptosuite']);
      const notVp = await prove({
        presentation: { ...presentation(), type: ['Something'] },
        options: { holder: issuers.ed25519.id, challenge: 'c' },
      });
      expect(notVp.status).toBe(400);
      expect(notVp.body.code).toBe('invalid-presentation');
    });

    it("another project's issuer as holder answers 404; its project answers 404 too", async () => {
      const body = {
        presentation: presentation(),
        options: { holder: issuers.otherProject.id, challenge: 'c' },
      };
      expect((await prove(body)).status).toBe(404);
      expect((await prove(body, a.keys.owner)).status).toBe(404);
      expect((await prove(body, a.keys.developer, b)).status).toBe(404);
      expect((await derive({ verifiableCredential: {} }, a.keys.viewer, b)).status).toBe(404);
    });

    it('needs presentations:prove (developer and above) and credentials:derive (403 otherwise)', async () => {
      const body = { presentation: presentation(), options: { holder: issuers.ed25519.id, challenge: 'c' } };
      expect((await prove(body, a.keys.viewer)).status).toBe(403);
      const scoped = async (scopes: string[]) =>
        (
          await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
            key: a.keys.owner,
            body: { name: scopes.join(' '), role: 'developer', scopes },
          })
        ).body.secret as string;
      const issueOnly = await scoped(['credentials:issue', 'credentials:verify']);
      expect((await prove(body, issueOnly)).status).toBe(403);
      const base = await baseCredential('ecdsa-sd-2023');
      expect((await derive({ verifiableCredential: base }, issueOnly)).status).toBe(403);
      const holderKey = await scoped(['presentations:prove', 'credentials:derive']);
      expect((await prove(body, holderKey)).status).toBe(201);
      expect((await derive({ verifiableCredential: base }, holderKey)).status).toBe(201);
    });
  });
});
