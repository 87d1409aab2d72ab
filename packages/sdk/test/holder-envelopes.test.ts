import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPersonaClient,
  type Issuer,
  type PersonaClient,
  verifyCredentialOffline,
} from '../src/index.js';
import { ADMIN_KEY, exampleCredential, startTestServer, type TestServer } from './server.js';

const SD_JWT_URL = 'data:application/vc+sd-jwt,';
const COSE_URL = 'data:application/vc+cose;base64,';

let server: TestServer;
let developer: PersonaClient;
let projectId: string;
let issuer: Issuer;

beforeAll(async () => {
  server = await startTestServer();
  const admin = createPersonaClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
  const org = await admin.organizations.create({ name: 'Envelopes Org' });
  projectId = (await admin.projects.create(org.id, { name: 'Wallet' })).id;
  const key = await admin.apiKeys.create(projectId, { name: 'holder', role: 'developer' });
  developer = createPersonaClient({ baseUrl: server.url, apiKey: key.secret });
  issuer = await developer.issuers.create(projectId, {
    name: 'JOSE COSE',
    didMethod: 'did:key',
    suites: ['vc+sd-jwt', 'vc+cose'],
    keyTypes: ['P-256'],
  });
});

afterAll(async () => {
  await server?.close();
});

/** The enveloped credential with one byte of its secured form's signature changed. */
function tampered(vc: { id: string }, prefix: string): { id: string } {
  const data = vc.id.slice(prefix.length);
  if (prefix === COSE_URL) {
    const bytes = Buffer.from(data, 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    return { ...vc, id: `${prefix}${bytes.toString('base64')}` };
  }
  const [jwt = '', ...rest] = data.split('~');
  const flipped = `${jwt.slice(0, -2)}${jwt.at(-2) === 'A' ? 'B' : 'A'}${jwt.at(-1)}`;
  return { ...vc, id: `${prefix}${[flipped, ...rest].join('~')}` };
}

describe('vc+sd-jwt and vc+cose credentials verify offline in the SDK', () => {
  it.each([
    ['application/vc+sd-jwt', SD_JWT_URL],
    ['application/vc+cose', COSE_URL],
  ] as const)('%s as the EnvelopedVerifiableCredential the API issues', async (format, prefix) => {
    const vc = (await developer.credentials.issue(issuer.id, exampleCredential(issuer.did), { format })) as {
      id: string;
    };
    expect(vc.id.startsWith(prefix)).toBe(true);
    expect(await verifyCredentialOffline(vc)).toEqual({
      verified: true,
      errors: [],
      checks: ['data-model', 'proof', 'validity-period'],
    });
    const result = await verifyCredentialOffline(tampered(vc, prefix));
    expect(result.verified).toBe(false);
    expect(result.errors.map((error) => error.code)).toEqual(['invalid-signature']);
    if (prefix === SD_JWT_URL) {
      expect((await verifyCredentialOffline(vc.id.slice(prefix.length))).verified).toBe(true);
    }
  });

  it('a vc+cose whose data is not base64 is refused, not thrown', async () => {
    const result = await verifyCredentialOffline({ id: `${COSE_URL}not*base64` });
    expect(result).toMatchObject({ verified: false, errors: [{ code: 'malformed' }] });
  });
});
