import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPersonaClient } from '@personachain/sdk';
import { loadConfig, type RunningServer, startServer } from '@personachain/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultKeyring } from '../src/vault/keyring.js';
import { assertBuilt, CLI, type CliResult } from './run-cli.js';

const ADMIN_KEY = `sk_${randomBytes(32).toString('base64url')}`;
const PASSPHRASE = 'correct horse battery staple';
/** Keyrings made by the tests use a cheap scrypt cost, so that each command unlocks in milliseconds. */
const TEST_COST = { N: 2 ** 10, r: 8, p: 1 };

/**
 * Scores are deterministic (no hours, no rate limits): a member without a fingerprint at a private address
 * scores 95 - 20 - 5 = 70, then -10 without MFA (60: strict denies, neutral abstains, a tie: deny, and
 * since fresh MFA would allow it, step_up_required) or +15 with it (85: allowed).
 */
const DETERMINISTIC = `signals:
  base: 95
  hours: { business: 0, off: 0 }
velocity: { perMinute: 100000, perHour: 100000 }
evaluators:
  watchdog: { offHoursActions: [], maxRecentDenials: 1000 }
`;
const TEMPLATE = `${DETERMINISTIC}minimumScore: { delete: 0, admin: 0 }\n`;
/** Reads need a score no request reaches: only guardians let them through. */
const GUARDED_TEMPLATE = `${DETERMINISTIC}minimumScore: { read: 100, delete: 0, admin: 0 }
onDeny: { stepUp: false, guardianApproval: true }
`;

let dir: string;
let server: RunningServer;
let projectId: string;

const newSubject = () => `usr_${randomBytes(16).toString('hex')}`;

/** Runs `persona …` with `stdin` piped in; PERSONA_* variables come only from `env`. */
function persona(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('PERSONA_')),
  );
  const env = {
    ...inherited,
    PERSONA_URL: server.url,
    PERSONA_API_KEY: ADMIN_KEY,
    PERSONA_KEYRING_PASSPHRASE: PASSPHRASE,
    XDG_CONFIG_HOME: join(dir, 'config'),
    ...options.env,
  };
  return new Promise<CliResult>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env, timeout: 20_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

/** Runs a command that must succeed and returns its --json output. */
async function personaJson(
  args: string[],
  options?: { env?: Record<string, string>; stdin?: string },
): Promise<Record<string, unknown>> {
  const result = await persona([...args, '--json'], options);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

/** An empty vault keyring, made in-process with a low scrypt cost. */
async function newKeyring(name: string): Promise<string> {
  const keyring = await VaultKeyring.open(join(dir, 'keyrings', `${name}.json`), { cost: TEST_COST });
  await keyring.save();
  return keyring.path;
}

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'persona-cli-vault-'));
  // Read by the in-process VaultKeyring (the CLI gets it through its environment).
  process.env.PERSONA_KEYRING_PASSPHRASE = PASSPHRASE;
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
  const org = await client.organizations.create({ name: 'CLI vaults' });
  projectId = (await client.projects.create(org.id, { name: 'Secrets' })).id;
  await writeFile(join(dir, 'template.yaml'), TEMPLATE);
  await writeFile(join(dir, 'guarded.yaml'), GUARDED_TEMPLATE);
});

afterAll(async () => {
  delete process.env.PERSONA_KEYRING_PASSPHRASE;
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

// The two flows use their own vaults and keyrings and run side by side: most of the time is process
// start-up, which is also why the timeout allows for a busy machine.
describe.concurrent('persona vault', { timeout: 120_000 }, () => {
  it('creates a vault, stores and reads items, shares, unshares, verifies the log and shreds', async () => {
    const alice = { subject: newSubject(), keyring: await newKeyring('alice') };
    const bob = { subject: newSubject(), keyring: await newKeyring('bob') };

    // Member keys: the seed is sealed in the keyring, never printed, never in the file in clear.
    const bobKeysFile = join(dir, 'bob-keys.json');
    const [aliceKeys, shown] = await Promise.all([
      personaJson(['vault', 'keys', 'new', '--name', 'alice', '--keyring', alice.keyring]),
      personaJson(['vault', 'keys', 'new', '--name', 'bob', '--keyring', bob.keyring]).then(() =>
        // Public keys are shown without the passphrase.
        persona(['vault', 'keys', 'show', 'bob', '--keyring', bob.keyring, '--out', bobKeysFile], {
          env: { PERSONA_KEYRING_PASSPHRASE: '' },
        }),
      ),
    ]);
    expect(aliceKeys).toMatchObject({
      name: 'alice',
      keyId: expect.stringMatching(/^vk_/),
      keyring: alice.keyring,
    });
    expect(Object.keys(aliceKeys.publicKeys as object).sort()).toEqual([
      'ed25519',
      'encryptionKey',
      'mlDsa65',
    ]);
    expect(shown).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(JSON.parse(await readFile(bobKeysFile, 'utf8'))).toMatchObject({
      name: 'bob',
      keyId: expect.any(String),
    });
    const seed = (await (await VaultKeyring.open(alice.keyring)).memberKeys('alice')).seed;
    const file = await readFile(alice.keyring, 'utf8');
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      expect(file).not.toContain(Buffer.from(seed).toString(encoding));
    }
    expect((await stat(alice.keyring)).mode & 0o777).toBe(0o600);

    const vault = await personaJson([
      'vault',
      'create',
      '--project',
      projectId,
      '--subject',
      alice.subject,
      '--keys',
      'alice',
      '--label',
      'Payroll',
      '--template',
      join(dir, 'template.yaml'),
      '--keyring',
      alice.keyring,
    ]);
    expect(vault).toMatchObject({
      id: expect.stringMatching(/^vlt_[0-9a-f]{32}$/),
      owner: alice.subject,
      label: 'Payroll',
      status: 'active',
      manifest: { sequence: 0 },
      ownerKeyId: aliceKeys.keyId,
    });
    const vaultId = vault.id as string;

    // The keyring recorded project, keys and subject: no more flags needed. Content from standard input.
    const asAlice = ['--keyring', alice.keyring, '--mfa'];
    const [listed, put] = await Promise.all([
      personaJson(['vault', 'ls', '--project', projectId]),
      personaJson(['vault', 'put', vaultId, ...asAlice], { stdin: 'salary: 100\n' }),
    ]);
    expect(listed.data).toContainEqual(expect.objectContaining({ id: vaultId, label: 'Payroll' }));
    expect(put).toMatchObject({ itemId: expect.stringMatching(/^itm_/), version: 1, sequence: 1 });
    const itemId = put.itemId as string;

    const second = join(dir, 'second.txt');
    await writeFile(second, 'salary: 120\n');
    expect(
      await personaJson(['vault', 'put', vaultId, '--item', itemId, '--file', second, ...asAlice]),
    ).toMatchObject({ itemId, version: 2 });
    const out = join(dir, 'first.txt');
    const [current, first, items, versions] = await Promise.all([
      persona(['vault', 'get', vaultId, itemId, ...asAlice]),
      persona(['vault', 'get', vaultId, itemId, '--item-version', '1', '--out', out, ...asAlice]),
      personaJson(['vault', 'items', vaultId, ...asAlice]),
      personaJson(['vault', 'versions', vaultId, itemId, ...asAlice]),
    ]);
    expect(current).toEqual({ code: 0, stdout: 'salary: 120\n', stderr: '' });
    expect(first).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await readFile(out, 'utf8')).toBe('salary: 100\n');
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(items.data).toEqual([expect.objectContaining({ itemId, version: 2 })]);
    expect((versions.data as { version: number }[]).map(({ version }) => version)).toEqual([1, 2]);

    // Sharing re-seals the item's data key to Bob's public keys.
    const shared = await personaJson([
      'vault',
      'share',
      vaultId,
      '--subject',
      bob.subject,
      '--role',
      'read',
      '--public-keys',
      bobKeysFile,
      ...asAlice,
    ]);
    expect(shared).toMatchObject({
      subject: bob.subject,
      role: 'read',
      keyId: expect.any(String),
      sequence: 3,
    });

    const asBob = ['--project', projectId, '--keys', 'bob', '--as', bob.subject, '--keyring', bob.keyring];
    // Without a second factor the policy asks for a step-up, and the refusal explains the decision.
    const refused = await persona([
      'vault',
      'get',
      vaultId,
      itemId,
      ...asBob,
      '--owner-key-id',
      aliceKeys.keyId as string,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('access refused (step_up_required)');
    expect(refused.stderr).toMatch(/score 60\/100/);
    expect(refused.stderr).toContain('strict: deny');
    expect(refused.stderr).toContain('run again with --mfa');
    const [bobRead, bobWrite] = await Promise.all([
      persona(['vault', 'get', vaultId, itemId, ...asBob, '--mfa']),
      persona(['vault', 'put', vaultId, ...asBob, '--mfa'], { stdin: 'x' }),
    ]);
    expect(bobRead).toEqual({ code: 0, stdout: 'salary: 120\n', stderr: '' });
    // A read member cannot write: the server refuses a manifest it signs.
    expect(bobWrite.code).toBe(1);
    expect(bobWrite.stderr).toMatch(/not a writer/);

    // Removing Bob re-encrypts the item for Alice alone; Bob reads nothing more.
    const unshared = await personaJson(['vault', 'unshare', vaultId, '--subject', bob.subject, ...asAlice]);
    expect(unshared).toMatchObject({ subject: bob.subject, reencrypted: 1 });
    const [revoked, aliceRead, log, unconfirmed] = await Promise.all([
      persona(['vault', 'get', vaultId, itemId, ...asBob, '--mfa']),
      persona(['vault', 'get', vaultId, itemId, ...asAlice]),
      // Every decision is in the access log, each entry proven in the ledger.
      personaJson(['vault', 'log', vaultId, '--verify', '--keyring', alice.keyring]),
      persona(['vault', 'shred', vaultId, ...asAlice]),
    ]);
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toBe('');
    expect(aliceRead.stdout).toBe('salary: 120\n');
    const entries = log.data as { subject: string; action: string; outcome: string; inLedger: boolean }[];
    expect(log.verified).toBe(true);
    expect(entries.every((entry) => entry.inLedger)).toBe(true);
    // Bob's first request (reading the manifests to verify the chain) was the one refused.
    expect(entries).toContainEqual(
      expect.objectContaining({ subject: bob.subject, outcome: 'step_up_required' }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ subject: bob.subject, action: 'read', outcome: 'allow' }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ subject: alice.subject, action: 'admin', outcome: 'allow' }),
    );
    // Shredding asks for confirmation, then no one decrypts anything.
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('add --yes');

    expect(await persona(['vault', 'shred', vaultId, '--yes', ...asAlice])).toMatchObject({
      code: 0,
      stderr: '',
    });
    const [status, gone] = await Promise.all([
      personaJson(['vault', 'show', vaultId, '--keyring', alice.keyring]),
      persona(['vault', 'get', vaultId, itemId, ...asAlice]),
    ]);
    expect(status).toMatchObject({ status: 'shredded' });
    expect(gone.code).toBe(1);
    expect(gone.stdout).toBe('');
  });

  it('recovers the owner keys on a new device with 2 of 3 guardians, and not with 1', async () => {
    const owner = { subject: newSubject(), keyring: await newKeyring('owner') };
    const device = await newKeyring('new-device');
    const guardians = await Promise.all(
      ['g1', 'g2', 'g3'].map(async (name) => ({
        name,
        subject: newSubject(),
        keyring: await newKeyring(name),
      })),
    );
    const ownerKeys = await personaJson([
      'vault',
      'keys',
      'new',
      '--name',
      'owner',
      '--keyring',
      owner.keyring,
    ]);
    const guardianSpecs = await Promise.all(
      guardians.map(async (guardian) => {
        const file = join(dir, `${guardian.name}-keys.json`);
        await personaJson([
          'vault',
          'keys',
          'new',
          '--name',
          guardian.name,
          '--keyring',
          guardian.keyring,
          '--out',
          file,
        ]);
        return `${guardian.subject}=${file}`;
      }),
    );
    const { id: vaultId } = await personaJson([
      'vault',
      'create',
      '--project',
      projectId,
      '--subject',
      owner.subject,
      '--keys',
      'owner',
      '--template',
      join(dir, 'template.yaml'),
      '--keyring',
      owner.keyring,
    ]);
    const vault = vaultId as string;
    const { itemId } = await personaJson(['vault', 'put', vault, '--keyring', owner.keyring, '--mfa'], {
      stdin: 'the recovery test',
    });
    const setup = await personaJson([
      'vault',
      'recovery',
      'setup',
      vault,
      '--threshold',
      '2',
      ...guardianSpecs.flatMap((spec) => ['--guardian', spec]),
      '--keyring',
      owner.keyring,
      '--mfa',
    ]);
    expect(setup.threshold).toBe(2);
    expect((setup.guardians as { subject: string }[]).map(({ subject }) => subject).sort()).toEqual(
      guardians.map(({ subject }) => subject).sort(),
    );

    // The new device asks; one guardian's share is not enough.
    const request = await personaJson([
      'vault',
      'recovery',
      'request',
      vault,
      '--project',
      projectId,
      '--keyring',
      device,
    ]);
    const requestId = request.id as string;
    type Guardian = (typeof guardians)[number];
    const approve = (guardian: Guardian, ephemeralKeyId: string) =>
      persona([
        'vault',
        'recovery',
        'approve',
        vault,
        requestId,
        '--as',
        guardian.subject,
        '--keys',
        guardian.name,
        '--ephemeral-key-id',
        ephemeralKeyId,
        '--project',
        projectId,
        '--keyring',
        guardian.keyring,
      ]);
    const [g1, g2, g3] = guardians as [Guardian, Guardian, Guardian];
    const [approved, wrongKey] = await Promise.all([
      approve(g1, request.ephemeralKeyId as string),
      // A guardian told another key id releases nothing.
      approve(g3, 'AAAAAAAAAAAAAAAAAAAAAA'),
    ]);
    expect(approved.code).toBe(0);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('not the one the owner named');
    const complete = [
      'vault',
      'recovery',
      'complete',
      vault,
      requestId,
      '--name',
      'recovered',
      '--keyring',
      device,
    ];
    const early = await persona([...complete, '--key-id', ownerKeys.keyId as string]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('not enough valid shares: 1 opened, 2 needed');

    expect((await approve(g2, request.ephemeralKeyId as string)).code).toBe(0);
    const recovered = await personaJson([...complete, '--key-id', ownerKeys.keyId as string]);
    expect(recovered).toMatchObject({ owner: owner.subject, name: 'recovered', keyId: ownerKeys.keyId });
    // The request's ephemeral key is forgotten once used.
    expect(JSON.parse(await readFile(device, 'utf8')).recoveries).toEqual({});

    // The new device reads with the recovered keys; the keyring recorded the vault for it.
    const read = await persona(['vault', 'get', vault, itemId as string, '--keyring', device, '--mfa']);
    expect(read).toMatchObject({ code: 0, stdout: 'the recovery test', stderr: '' });
  });

  it('lets guardians approve an access the policy refers to them, for that member and action only', async () => {
    const owner = { subject: newSubject(), keyring: await newKeyring('guarded-owner') };
    const guardians = await Promise.all(
      ['ga', 'gb'].map(async (name) => ({ name, subject: newSubject(), keyring: await newKeyring(name) })),
    );
    const [, ...specs] = await Promise.all([
      personaJson(['vault', 'keys', 'new', '--name', 'owner', '--keyring', owner.keyring]),
      ...guardians.map(async (guardian) => {
        const file = join(dir, `${guardian.name}-keys.json`);
        await personaJson([
          'vault',
          'keys',
          'new',
          '--name',
          guardian.name,
          '--keyring',
          guardian.keyring,
          '--out',
          file,
        ]);
        return `${guardian.subject}=${file}`;
      }),
    ]);
    const { id } = await personaJson([
      'vault',
      'create',
      '--project',
      projectId,
      '--subject',
      owner.subject,
      '--keys',
      'owner',
      '--template',
      join(dir, 'guarded.yaml'),
      '--keyring',
      owner.keyring,
    ]);
    const vaultId = id as string;
    const asOwner = ['--keyring', owner.keyring, '--mfa'];
    const { itemId } = await personaJson(['vault', 'put', vaultId, ...asOwner], { stdin: 'guarded' });
    await personaJson([
      'vault',
      'recovery',
      'setup',
      vaultId,
      '--threshold',
      '2',
      ...(specs as string[]).flatMap((spec) => ['--guardian', spec]),
      ...asOwner,
    ]);

    const refused = await persona(['vault', 'get', vaultId, itemId as string, ...asOwner]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('access refused (guardian_approval_required)');
    const approvalId = /--approval (vap_[0-9a-f]+)/.exec(refused.stderr)?.[1] as string;
    expect(approvalId).toBeDefined();

    const approve = (guardian: (typeof guardians)[number], action: string) =>
      persona([
        'vault',
        'access',
        'approve',
        vaultId,
        approvalId,
        '--as',
        guardian.subject,
        '--keys',
        guardian.name,
        '--subject',
        owner.subject,
        '--action',
        action,
        '--project',
        projectId,
        '--keyring',
        guardian.keyring,
      ]);
    const [ga, gb] = guardians as [(typeof guardians)[number], (typeof guardians)[number]];
    // A guardian told of another action signs nothing.
    const mismatch = await approve(ga, 'write');
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain(`is for ${owner.subject} to read, not ${owner.subject} to write`);
    const [first, second] = await Promise.all([approve(ga, 'read'), approve(gb, 'read')]);
    expect([first.code, second.code]).toEqual([0, 0]);

    const read = await persona([
      'vault',
      'get',
      vaultId,
      itemId as string,
      ...asOwner,
      '--approval',
      approvalId,
    ]);
    expect(read).toEqual({ code: 0, stdout: 'guarded', stderr: '' });
  });
});
