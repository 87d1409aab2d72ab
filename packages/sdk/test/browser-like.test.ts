import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPersonaClient, type VerificationResult } from '../src/index.js';
import { ADMIN_KEY, exampleCredential, startTestServer, type TestServer } from './server.js';

const DIR = fileURLToPath(new URL('./browser-like/', import.meta.url));
const BUILT = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * Verifies credentials with the built SDK in a child process that loads modules as a browser bundle would
 * (browser fields and export conditions, no Node built-ins: browser-like/hooks.mjs) and without
 * process.getBuiltinModule, so @personachain/crypto takes its noble path.
 */
function verifyInBrowserLike(
  credentials: unknown[],
): Promise<{ backend: string; results: VerificationResult[] }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', './hooks.mjs', 'sdk-in-browser.mjs'],
      { cwd: DIR, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
    child.stdin?.end(JSON.stringify({ credentials }));
  });
}

let server: TestServer;

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} does not exist: run "npx tsc -b" before these tests`);
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

describe('a browser-like runtime', () => {
  it('verifies credentials the API signed with node:crypto, and refuses a tampered one', async () => {
    const admin = createPersonaClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
    const org = await admin.organizations.create({ name: 'Browser' });
    const { id: projectId } = await admin.projects.create(org.id, { name: 'Wallet' });
    const ed = await admin.issuers.create(projectId, {
      name: 'Ed',
      didMethod: 'did:key',
      suites: ['eddsa-rdfc-2022', 'eddsa-jcs-2022', 'vc+jwt'],
    });
    const p256 = await admin.issuers.create(projectId, {
      name: 'P-256',
      didMethod: 'did:key',
      suites: ['ecdsa-rdfc-2019', 'vc+jwt'],
    });
    const p384 = await admin.issuers.create(projectId, {
      name: 'P-384',
      didMethod: 'did:key',
      suites: ['ecdsa-rdfc-2019'],
      keyTypes: ['P-384'],
    });
    const issue = admin.credentials.issue;
    const credentials = [
      await issue(ed.id, exampleCredential(ed.did), { cryptosuite: 'eddsa-rdfc-2022' }),
      await issue(ed.id, exampleCredential(ed.did), { cryptosuite: 'eddsa-jcs-2022' }),
      await issue(p256.id, exampleCredential(p256.did), { cryptosuite: 'ecdsa-rdfc-2019' }),
      await issue(p384.id, exampleCredential(p384.did)),
      await issue(ed.id, exampleCredential(ed.did), { format: 'application/vc+jwt' }),
      await issue(p256.id, exampleCredential(p256.did), { format: 'application/vc+jwt' }),
    ];
    const tampered = { ...credentials[0], validUntil: '2099-01-01T00:00:00Z' };

    const { backend, results } = await verifyInBrowserLike([...credentials, tampered]);
    expect(backend).toBe('noble');
    expect(results.slice(0, -1)).toEqual(credentials.map(() => expect.objectContaining({ verified: true })));
    expect(results.at(-1)).toMatchObject({ verified: false, errors: [{ code: 'invalid-signature' }] });
  });
});
