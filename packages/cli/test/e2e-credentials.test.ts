import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPersonaCreate, rawRotationKeySigner } from '@personachain/credentials';
import { createPersonaClient } from '@personachain/sdk';
import { loadConfig, type RunningServer, startServer } from '@personachain/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli } from './run-cli.js';

const ADMIN_KEY = `sk_${randomBytes(32).toString('base64url')}`;

let dir: string;
let server: RunningServer;
let projectId: string;
const issuers: Record<'ed' | 'web' | 'status', { id: string; did: string }> = {} as never;

// Each test runs several CLI processes (a Node start each), so the timeout allows for a busy machine.
const CLI_TESTS = { timeout: 60_000 };

const persona = (args: string[], key: string | undefined = ADMIN_KEY) =>
  runCli([...args, '--url', server.url], key === undefined ? {} : { PERSONA_API_KEY: key });

async function file(name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

/** The unsigned credential every test issues, naming its issuer's DID. */
const credentialOf = (issuer: { did: string }) => ({
  '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
  type: ['VerifiableCredential', 'ExampleDegreeCredential'],
  issuer: issuer.did,
  credentialSubject: { id: 'did:example:alice', degree: 'BSc' },
});

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'persona-cli-vc-'));
  server = await startServer(
    loadConfig({
      PERSONA_DATA_DIR: join(dir, 'data'),
      PERSONA_HOST: '127.0.0.1',
      PERSONA_PORT: '0',
      PERSONA_BOOTSTRAP_KEY: ADMIN_KEY,
      PERSONA_LOG_LEVEL: 'silent',
      PERSONA_PUBLIC_URL: 'https://persona.test',
    }),
  );
  const client = createPersonaClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
  const org = await client.organizations.create({ name: 'CLI' });
  projectId = (await client.projects.create(org.id, { name: 'Diplomas' })).id;
  issuers.ed = await client.issuers.create(projectId, {
    name: 'Ed',
    didMethod: 'did:key',
    suites: ['eddsa-rdfc-2022', 'vc+jwt', 'vc+cose'],
  });
  issuers.web = await client.issuers.create(projectId, {
    name: 'Web',
    didMethod: 'did:web',
    suites: ['ecdsa-rdfc-2019'],
  });
  issuers.status = await client.issuers.create(projectId, {
    name: 'Revocable',
    didMethod: 'did:key',
    suites: ['eddsa-rdfc-2022'],
    statusPurposes: ['revocation', 'suspension'],
  });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('persona did resolve', CLI_TESTS, () => {
  it('prints the DID document, or with --json the resolution result, without an API key', async () => {
    const document = await persona(['did', 'resolve', issuers.web.did], undefined);
    expect(document.stderr).toBe('');
    expect(document.code).toBe(0);
    expect(JSON.parse(document.stdout)).toMatchObject({
      id: issuers.web.did,
      assertionMethod: [expect.any(String)],
    });

    const result = await persona(['did', 'resolve', issuers.ed.did, '--json'], undefined);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      didDocument: { id: issuers.ed.did },
      didResolutionMetadata: expect.any(Object),
    });
  });

  it('--history adds a did:persona DID’s operations with their inclusion proofs', async () => {
    const holder = await rawRotationKeySigner({ ed25519: randomBytes(32) });
    const genesis = await buildPersonaCreate({ rotationKeys: [holder.key] }, holder);
    const client = createPersonaClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
    const { response } = await client.api.POST('/v1/projects/{projectId}/dids', {
      params: { path: { projectId } },
      body: { operation: Buffer.from(genesis.bytes).toString('base64url') },
    });
    expect(response.status).toBe(201);

    const plain = await persona(['did', 'resolve', genesis.did, '--json'], undefined);
    expect(JSON.parse(plain.stdout).didDocumentMetadata).not.toHaveProperty('operationHistory');
    const result = await persona(['did', 'resolve', genesis.did, '--history'], undefined);
    expect(result.code).toBe(0);
    const { didDocument, didDocumentMetadata } = JSON.parse(result.stdout);
    expect(didDocument.id).toBe(genesis.did);
    expect(didDocumentMetadata.operationHistory).toEqual([
      expect.objectContaining({ versionId: genesis.hash, inclusionProof: expect.any(String) }),
    ]);
  });

  it('exits 1 with the resolver’s error, 2 for what is not a DID', async () => {
    const unknown = await persona(['did', 'resolve', 'did:example:123']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^persona: did:example:123 did not resolve: methodNotSupported\n/);
    const web = await persona(['did', 'resolve', 'did:web:persona.test:issuers:iss_0']);
    expect(web.code).toBe(1);
    expect(web.stderr).toContain('notFound');
    const notDid = await persona(['did', 'resolve', 'alice']);
    expect(notDid.code).toBe(2);
    expect(notDid.stderr).toContain('Expected a DID');
  });
});

describe('persona vc issue and verify', CLI_TESTS, () => {
  it('issues with the issuer’s default suite or --suite; a tampered credential does not verify', async () => {
    const input = await file('credential.json', credentialOf(issuers.ed));
    const issued = await persona(['vc', 'issue', '--issuer', issuers.ed.id, '--file', input]);
    expect(issued.stderr).toBe('');
    expect(issued.code).toBe(0);
    const vc = JSON.parse(issued.stdout);
    expect(vc).toMatchObject({ issuer: issuers.ed.did, proof: { cryptosuite: 'eddsa-rdfc-2022' } });

    const verified = await persona([
      'vc',
      'verify',
      '--project',
      projectId,
      '--file',
      await file('vc.json', vc),
    ]);
    expect(verified).toEqual({
      code: 0,
      stdout: 'verified\nchecks: data-model, json-ld, proof, validity-period\n',
      stderr: '',
    });

    const forged = { ...vc, credentialSubject: { id: 'did:example:alice', degree: 'PhD' } };
    const refused = await persona([
      'vc',
      'verify',
      '--project',
      projectId,
      '--file',
      await file('x.json', forged),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^not verified\nchecks: .+\n {2}invalid-signature at \/proof: .+\n$/);

    const json = await persona([
      'vc',
      'verify',
      '--project',
      projectId,
      '--file',
      join(dir, 'x.json'),
      '--json',
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      verified: false,
      errors: [{ code: 'invalid-signature' }],
    });

    const jwt = await persona([
      'vc',
      'issue',
      '--issuer',
      issuers.ed.id,
      '--file',
      input,
      '--suite',
      'vc+jwt',
    ]);
    expect(jwt.code).toBe(0);
    const envelope = JSON.parse(jwt.stdout);
    expect(envelope.type).toBe('EnvelopedVerifiableCredential');
    const jwtVerified = await persona([
      'vc',
      'verify',
      '--project',
      projectId,
      '--file',
      await file('jwt.json', envelope),
    ]);
    expect(jwtVerified.code).toBe(0);

    const cose = await persona([
      'vc',
      'issue',
      '--issuer',
      issuers.ed.id,
      '--file',
      input,
      '--suite',
      'vc+cose',
    ]);
    expect(cose.code).toBe(0);
    const coseEnvelope = JSON.parse(cose.stdout);
    expect(coseEnvelope.id).toMatch(/^data:application\/vc\+cose;base64,/);
    const coseFile = await file('cose.json', coseEnvelope);
    expect((await persona(['vc', 'verify', '--project', projectId, '--file', coseFile])).code).toBe(0);

    const webInput = await file('credential-web.json', credentialOf(issuers.web));
    const webVc = await persona(['vc', 'issue', '--issuer', issuers.web.id, '--file', webInput]);
    expect(JSON.parse(webVc.stdout).proof).toMatchObject({ cryptosuite: 'ecdsa-rdfc-2019' });
  });

  it('prints the server’s problem for a suite the issuer lacks, exit 1', async () => {
    const input = await file('c2.json', credentialOf(issuers.web));
    const result = await persona([
      'vc',
      'issue',
      '--issuer',
      issuers.web.id,
      '--file',
      input,
      '--suite',
      'vc+jwt',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^persona: Invalid request: .+\n {2}body \/options\/format: .+\n {2}HTTP 400, request id \S+\n$/,
    );
  });

  it('exits 2 for usage and for a request that fails, never 1', async () => {
    const vcFile = await file('any.json', credentialOf(issuers.ed));
    const cases: Array<[string[], Record<string, string>, string]> = [
      [
        ['vc', 'verify', '--project', 'iss_1', '--file', vcFile],
        { PERSONA_API_KEY: ADMIN_KEY },
        'Expected an id like prj_',
      ],
      [
        ['vc', 'verify', '--project', projectId, '--file', join(dir, 'missing.json')],
        { PERSONA_API_KEY: ADMIN_KEY },
        'ENOENT',
      ],
      [
        ['vc', 'verify', '--project', projectId, '--file', await file('bad.json', '{')],
        { PERSONA_API_KEY: ADMIN_KEY },
        'is not JSON',
      ],
      [['vc', 'verify', '--project', projectId, '--file', vcFile], {}, 'PERSONA_API_KEY is not set'],
      [
        ['vc', 'issue', '--issuer', issuers.ed.id],
        { PERSONA_API_KEY: ADMIN_KEY },
        "required option '--file <path>'",
      ],
    ];
    for (const [args, env, message] of cases) {
      const result = await runCli([...args, '--url', server.url], env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
    const missingProject = await persona([
      'vc',
      'verify',
      '--project',
      `prj_${'0'.repeat(32)}`,
      '--file',
      vcFile,
    ]);
    expect(missingProject.code).toBe(2);
    expect(missingProject.stderr).toMatch(/^persona: Not found/);
    const unreachable = await runCli(
      ['vc', 'verify', '--project', projectId, '--file', vcFile, '--url', 'http://127.0.0.1:9'],
      {
        PERSONA_API_KEY: ADMIN_KEY,
      },
    );
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/^persona: cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});

describe('persona vc revoke and status', CLI_TESTS, () => {
  const status = async (path: string) => persona(['vc', 'status', '--project', projectId, '--file', path]);

  it('suspends, reinstates and revokes a credential by its own status entry or its id', async () => {
    const issued = await persona([
      'vc',
      'issue',
      '--issuer',
      issuers.status.id,
      '--file',
      await file('s.json', credentialOf(issuers.status)),
    ]);
    expect(issued.code).toBe(0);
    const vc = JSON.parse(issued.stdout);
    expect(vc).not.toHaveProperty('id');
    expect(vc.credentialStatus).toHaveLength(2);
    const path = await file('s.vc.json', vc);

    const fresh = await status(path);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(
      /^PURPOSE +INDEX +STATUS +LIST\nrevocation +\d+ +not set +\S+\nsuspension +\d+ +not set +\S+\n$/,
    );

    const revoke = (...args: string[]) =>
      persona(['vc', 'revoke', '--issuer', issuers.status.id, '--file', path, ...args]);
    const suspended = await revoke('--purpose', 'suspension');
    expect(suspended.code).toBe(0);
    expect(suspended.stdout).toMatch(
      /^list: +\S+\/suspension\npurpose: +suspension\nstatus: +set\nentries: +\d+\n$/,
    );
    const whileSuspended = await status(path);
    expect(whileSuspended.code).toBe(1);
    expect(whileSuspended.stdout).toMatch(/\nsuspension +\d+ +set /);
    expect(whileSuspended.stdout).toContain('suspended');

    expect((await revoke('--purpose', 'suspension', '--reinstate')).code).toBe(0);
    expect((await status(path)).code).toBe(0);

    const final = await revoke('--purpose', 'revocation', '--reinstate');
    expect(final.code).toBe(1);
    expect(final.stderr).toContain('HTTP 400');
    expect((await revoke('--json')).code).toBe(0);
    const verified = await persona(['vc', 'verify', '--project', projectId, '--file', path]);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(/\n {2}revoked/);
  });

  it('names a credential by its id, and refuses one that has neither id nor entry', async () => {
    const withId = { ...credentialOf(issuers.status), id: 'urn:uuid:1b4d6b0a-53c4-4c1d-9d8e-0f2a8b7c6d5e' };
    const issued = await persona([
      'vc',
      'issue',
      '--issuer',
      issuers.status.id,
      '--file',
      await file('i.json', withId),
    ]);
    const path = await file('i.vc.json', JSON.parse(issued.stdout));
    const revoked = await persona(['vc', 'revoke', '--issuer', issuers.status.id, '--file', path, '--json']);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ statusPurpose: 'revocation', status: true });
    expect((await status(path)).code).toBe(1);

    const bare = await persona([
      'vc',
      'revoke',
      '--issuer',
      issuers.status.id,
      '--file',
      await file('b.json', credentialOf(issuers.status)),
    ]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('neither an "id" nor a revocation BitstringStatusListEntry');
  });
});
