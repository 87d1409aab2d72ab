import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { generateNoteKey } from '@personachain/ledger';
import { type DeletionAttestation, keyCommitment, signAttestation } from '@personachain/node/attestation';
import { loadConfig, type RunningServer, startServer } from '@personachain/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI, runCli } from './run-cli.js';

const ADMIN_KEY = `sk_${randomBytes(32).toString('base64url')}`;
const salt = randomBytes(16);
const saltText = salt.toString('base64url');
const storageKey = 'uploads/passport-scan';
const commitment = keyCommitment(new Uint8Array(salt), storageKey);

let dir: string;
let server: RunningServer;
let projectId: string;
let attestations: DeletionAttestation[];

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(new URL(path, server.url), {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function nodeSigner() {
  const key = await generateKeyPair('Ed25519');
  return { nodeId: peerIdFromPrivateKey(key).toString(), sign: async (m: Uint8Array) => key.sign(m) };
}

async function file(name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(value));
  return path;
}

function runWithStdin(args: string[], input: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [CLI, ...args], { timeout: 15_000 }, (error, stdout) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, stdout });
    });
    child.stdin?.end(input);
  });
}

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'persona-node-verify-'));
  server = await startServer(
    loadConfig({
      PERSONA_DATA_DIR: dir,
      PERSONA_HOST: '127.0.0.1',
      PERSONA_PORT: '0',
      PERSONA_BOOTSTRAP_KEY: ADMIN_KEY,
      PERSONA_LOG_LEVEL: 'silent',
    }),
  );
  const org = await api<{ id: string }>('POST', '/v1/organizations', { name: 'Attesting org' });
  projectId = (await api<{ id: string }>('POST', `/v1/organizations/${org.id}/projects`, { name: 'app' })).id;
  const replicas = [await nodeSigner(), await nodeSigner()];
  attestations = await Promise.all(
    replicas.map((r) =>
      signAttestation(r, { keyCommitment: commitment, deletedAt: Date.now(), reason: 'expired' }),
    ),
  );
  for (const a of attestations) await api('POST', `/v1/projects/${projectId}/ephemeral/attestations`, a);
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('persona node verify-attestation', () => {
  it('accepts a valid attestation and refuses a tampered one with the reason', async () => {
    const good = await runCli(['node', 'verify-attestation', await file('good.json', attestations[0])]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/^VALID {3}#0 expired/);
    expect(good.stdout).toContain('all 1 verified');

    const bad = await runCli([
      'node',
      'verify-attestation',
      await file('bad.json', { ...attestations[0], deletedAt: '2020-01-01T00:00:00.000Z' }),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^INVALID #0/);
    expect(bad.stdout).toContain('the signature does not match the node key and payload');
  });

  it("checks the commitment from --salt and --key, over a node's answer format, as JSON", async () => {
    const nodeAnswer = {
      key_commitment: commitment,
      attestations: attestations.map((a, i) => ({ ...a, log_index: i })),
    };
    const path = await file('node-answer.json', nodeAnswer);
    const ok = await runCli([
      'node',
      'verify-attestation',
      path,
      '--salt',
      saltText,
      '--key',
      storageKey,
      '--json',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const body = JSON.parse(ok.stdout);
    expect(body.valid).toBe(true);
    expect(body.results.map((r: { commitment: string }) => r.commitment)).toEqual(['matches', 'matches']);

    const other = await runCli([
      'node',
      'verify-attestation',
      path,
      '--salt',
      saltText,
      '--key',
      'uploads/other',
    ]);
    expect(other.code).toBe(1);
    expect(other.stdout).toContain('the key commitment is not the one --salt and --key give');
  });

  it('checks ledger inclusion: from the platform list output, or fetched with --project', async () => {
    const listed = await api<{ data: unknown[] }>(
      'GET',
      `/v1/projects/${projectId}/ephemeral/attestations?keyCommitment=${commitment}`,
    );
    const listPath = await file('platform-list.json', listed);
    const offline = await runCli(['node', 'verify-attestation', listPath, '--ledger', server.url, '--json']);
    expect(offline.code, offline.stdout + offline.stderr).toBe(0);
    const results = JSON.parse(offline.stdout).results;
    expect(results.every((r: { ledger: { index: number } }) => typeof r.ledger.index === 'number')).toBe(
      true,
    );

    const fetched = await runCli(
      [
        'node',
        'verify-attestation',
        await file('plain.json', attestations),
        '--ledger',
        server.url,
        '--project',
        projectId,
      ],
      { PERSONA_API_KEY: ADMIN_KEY },
    );
    expect(fetched.code, fetched.stdout + fetched.stderr).toBe(0);
    expect(fetched.stdout).toMatch(/ledger index \d+ in a checkpoint of size \d+/);

    // A ledger key other than the platform's: the checkpoint does not verify.
    const stranger = (await generateNoteKey('someone-else')).verifierKey;
    const wrongKey = await runCli([
      'node',
      'verify-attestation',
      listPath,
      '--ledger',
      server.url,
      '--ledger-key',
      stranger,
    ]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toContain('the inclusion proof does not verify');

    // The entry must be this attestation's: swapping the entries of two replicas is caught.
    const swapped = structuredClone(listed) as { data: Array<{ ledgerEntry: string }> };
    const [first, second] = swapped.data as [{ ledgerEntry: string }, { ledgerEntry: string }];
    [first.ledgerEntry, second.ledgerEntry] = [second.ledgerEntry, first.ledgerEntry];
    const mixed = await runCli([
      'node',
      'verify-attestation',
      await file('swapped.json', swapped),
      '--ledger',
      server.url,
    ]);
    expect(mixed.code).toBe(1);
    expect(mixed.stdout).toContain('the ledger entry records a different attestation');

    // Without proofs and without --project, ledger inclusion cannot be shown.
    const none = await runCli([
      'node',
      'verify-attestation',
      await file('one.json', attestations[1]),
      '--ledger',
      server.url,
    ]);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('no inclusion proof');
  });

  it('reads standard input and reports bad usage with exit status 2', async () => {
    const piped = await runWithStdin(
      ['node', 'verify-attestation', '-', '--json'],
      JSON.stringify(attestations),
    );
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout).results).toHaveLength(2);

    const path = await file('usage.json', attestations[0]);
    expect((await runCli(['node', 'verify-attestation', path, '--salt', saltText])).code).toBe(2);
    expect((await runCli(['node', 'verify-attestation', await file('empty.json', [])])).code).toBe(2);
  });
});
