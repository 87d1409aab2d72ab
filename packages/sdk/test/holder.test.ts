import {
  createBbsSigner,
  createDidKey,
  createDidResolver,
  createDocumentLoader,
  issueCredential,
} from '@personachain/credentials';
import { signatureScheme } from '@personachain/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPersonaClient,
  createPresentation,
  type Issuer,
  PersonaApiError,
  type PersonaClient,
} from '../src/index.js';
import { ADMIN_KEY, exampleCredential, startTestServer, type TestServer } from './server.js';

let server: TestServer;
let developer: PersonaClient;
let projectId: string;
let holder: Issuer;

beforeAll(async () => {
  server = await startTestServer();
  const admin = createPersonaClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
  const org = await admin.organizations.create({ name: 'Holder Org' });
  projectId = (await admin.projects.create(org.id, { name: 'Wallet' })).id;
  const key = await admin.apiKeys.create(projectId, { name: 'holder', role: 'developer' });
  developer = createPersonaClient({ baseUrl: server.url, apiKey: key.secret });
  holder = await developer.issuers.create(projectId, {
    name: 'Holder',
    didMethod: 'did:key',
    suites: ['eddsa-rdfc-2022', 'vc+jwt'],
  });
});

afterAll(async () => {
  await server?.close();
});

describe('the holder helpers', () => {
  it('derives a bbs-2023 disclosure on the server', async () => {
    // The API does not issue bbs-2023 yet: an issuer with a raw BLS12-381 key stands in.
    const { publicKey, secretKey } = await signatureScheme('BLS12-381-G2').generateKeyPair();
    const did = createDidKey('BLS12-381-G2', publicKey);
    const resolver = createDidResolver();
    const base = await issueCredential({
      credential: exampleCredential(did),
      suite: 'bbs-2023',
      signer: await createBbsSigner({ id: `${did}#${did.slice(8)}`, secretKey, publicKey }),
      documentLoader: createDocumentLoader({
        resolveDidUrl: async (url) => (await resolver.dereference(url)).contentStream,
      }),
      options: { mandatoryPointers: ['/issuer', '/credentialSubject/id'] },
    });
    const disclosed = await developer.holder.derive(projectId, base, {
      selectivePointers: ['/credentialSubject/degree'],
    });
    expect(disclosed.credentialSubject).toEqual({ id: 'did:example:alice', degree: 'BSc' });
    expect(await developer.credentials.verify(projectId, disclosed)).toMatchObject({ verified: true });
  });

  it.each([
    ['Data Integrity', {}],
    ['vp+jwt', { format: 'application/vp+jwt' as const }],
  ])('proves a %s presentation that verifies with its challenge', async (_, securing) => {
    const vc = await developer.credentials.issue(holder.id, exampleCredential(holder.did), {
      format: 'application/vc+jwt',
    });
    const vp = await developer.holder.prove(projectId, createPresentation({ verifiableCredential: [vc] }), {
      holder: holder.id,
      challenge: 'c-1',
      domain: 'verifier.example',
      ...securing,
    });
    const verified = await developer.credentials.verifyPresentation(projectId, vp, {
      challenge: 'c-1',
      domain: 'verifier.example',
    });
    expect(verified).toMatchObject({ verified: true, credentialResults: [{ verified: true }] });
    const replayed = await developer.credentials.verifyPresentation(projectId, vp, { challenge: 'c-2' });
    expect(replayed.verified === false && replayed.errors.map((error) => error.code)).toContain(
      'challenge-mismatch',
    );
  });

  it('throws a PersonaApiError for an unknown holder', async () => {
    const refused = await developer.holder
      .prove(projectId, createPresentation({}), { holder: `iss_${'0'.repeat(32)}`, challenge: 'c' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PersonaApiError);
    expect((refused as PersonaApiError).status).toBe(404);
  });
});
