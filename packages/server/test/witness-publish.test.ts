import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cosignatureVerifier,
  noteVerifier,
  openNote,
  parseCheckpoint,
  parseNote,
} from '@personachain/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerRepo } from '../src/modules/ledger/repo.js';
import { migrate, openStore } from '../src/store/database.js';
import { witnessVerifierKey } from '../src/witness/server.js';
import { createTenant, freshPgSchema, PG_URL, startTestServer, type TestServer } from './helpers.js';
import { removeDir, startTestWitness, type TestWitness } from './witness-helpers.js';

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The log's latest size, which the witnessed checkpoint endpoint no longer shows. */
async function latestSize(server: TestServer): Promise<number> {
  const { status, body } = await server.json('GET', '/ledger/proofs/consistency?from=1', { key: null });
  expect(status).toBe(200);
  return body.to;
}

async function served(server: TestServer): Promise<{ status: number; note: string; size: number }> {
  const response = await server.call('GET', '/ledger/checkpoint', { key: null });
  const note = await response.text();
  const size = response.status === 200 ? parseCheckpoint(parseNote(note).text).size : -1;
  return { status: response.status, note, size };
}

/**
 * The platform's log key exists only once its database does: a first start creates the log, the witness
 * is configured with its key, and the platform restarts on the same data with the witness configured.
 */
async function logVerifierKey(): Promise<{ dataDir: string; verifierKey: string }> {
  const first = await startTestServer();
  const verifierKey = (await (await first.call('GET', '/ledger/verifier-key', { key: null })).text()).trim();
  await first.close({ keepData: true });
  return { dataDir: first.dataDir, verifierKey };
}

describe('publishing witnessed checkpoints', () => {
  let dataDir: string;
  let logKey: string;
  let witness: TestWitness;
  let server: TestServer;

  beforeAll(async () => {
    ({ dataDir, verifierKey: logKey } = await logVerifierKey());
    witness = await startTestWitness({ PERSONA_WITNESS_LOGS: logKey });
    server = await startTestServer({
      PERSONA_DATA_DIR: dataDir,
      PERSONA_LEDGER_WITNESSES: `${witness.verifierKey} ${witness.url}`,
    });
  });
  afterAll(async () => {
    await server?.close();
    await witness?.close();
    removeDir(dataDir);
    removeDir(witness.dataDir);
  });

  it('serves the latest checkpoint with a valid cosignature of the witness after appends', async () => {
    await createTenant(server, 'Witnessed');
    const size = await latestSize(server);
    expect(size).toBeGreaterThan(5);
    const published = await until(async () => {
      const current = await served(server);
      return current.size >= size ? current : undefined;
    });
    expect((await openNote(published.note, [noteVerifier(logKey)])).verified).toHaveLength(1);
    const cosigned = await openNote(published.note, [cosignatureVerifier(witness.verifierKey)]);
    expect(cosigned.verified).toEqual([expect.objectContaining({ name: 'witness.test/w1' })]);
    expect(Math.abs((cosigned.verified[0]?.timestamp ?? 0) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('keeps appending while the witness is down, serving the last published checkpoint, then catches up', async () => {
    const before = await served(server);
    const port = new URL(witness.url).port;
    const witnessDir = witness.dataDir;
    await witness.close();

    await createTenant(server, 'While down');
    const size = await latestSize(server);
    expect(size).toBeGreaterThan(before.size);
    // A round (at most one a second) has failed meanwhile; the served checkpoint did not move.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await served(server)).toEqual(before);

    witness = await startTestWitness(
      { PERSONA_WITNESS_LOGS: logKey, PERSONA_WITNESS_PORT: port },
      { dataDir: witnessDir },
    );
    // The next checkpoint starts a round; the witness answers 409 with the size it cosigned before its
    // restart, and the server retries from there with a consistency proof.
    await createTenant(server, 'Back up');
    const latest = await latestSize(server);
    const published = await until(async () => {
      const current = await served(server);
      return current.size >= latest ? current : undefined;
    });
    await openNote(published.note, [cosignatureVerifier(witness.verifierKey)]);
    await openNote(published.note, [noteVerifier(logKey)]);
  });
});

describe('witness quorum', () => {
  let dataDir: string;
  let logKey: string;
  let live: TestWitness;
  let deadUrl: string;
  let deadKey: string;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    ({ dataDir, verifierKey: logKey } = await logVerifierKey());
    live = await startTestWitness({ PERSONA_WITNESS_LOGS: logKey });
    // A witness that has stopped: its port refuses connections.
    const dead = await startTestWitness({
      PERSONA_WITNESS_LOGS: logKey,
      PERSONA_WITNESS_NAME: 'witness.test/dead',
    });
    await dead.close();
    removeDir(dead.dataDir);
    deadUrl = dead.url;
    deadKey = dead.verifierKey;
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    await live.close();
    removeDir(live.dataDir);
    removeDir(dataDir);
  });

  it('publishes nothing until all witnesses cosign (the default quorum), appends still work', async () => {
    const server = await startTestServer({
      PERSONA_DATA_DIR: dataDir,
      PERSONA_LEDGER_WITNESSES: `${live.verifierKey} ${live.url}, ${deadKey} ${deadUrl}`,
    });
    servers.push(server);
    await createTenant(server, 'No quorum');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const answer = await server.json('GET', '/ledger/checkpoint', { key: null });
    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    await server.close({ keepData: true });
    servers.pop();
  });

  it('discards cosignatures that do not verify with the configured witness key', async () => {
    // The live witness's URL, but another key under the same cosigner name.
    const impostorDir = mkdtempSync(join(tmpdir(), 'persona-witness-other-'));
    const otherKey = await witnessVerifierKey({
      name: 'witness.test/w1',
      keyFile: null,
      dataDir: impostorDir,
    });
    removeDir(impostorDir);
    const server = await startTestServer({
      PERSONA_DATA_DIR: dataDir,
      PERSONA_LEDGER_WITNESSES: `${otherKey} ${live.url}`,
    });
    servers.push(server);
    await createTenant(server, 'Wrong key');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await server.json('GET', '/ledger/checkpoint', { key: null })).status).toBe(404);
    await server.close({ keepData: true });
    servers.pop();
  });

  it('publishes with the cosignatures it got once the quorum is reached', async () => {
    const server = await startTestServer({
      PERSONA_DATA_DIR: dataDir,
      PERSONA_LEDGER_WITNESSES: `${live.verifierKey} ${live.url}, ${deadKey} ${deadUrl}`,
      PERSONA_LEDGER_WITNESS_QUORUM: '1',
    });
    servers.push(server);
    const size = await latestSize(server);
    const published = await until(async () => {
      const current = await served(server);
      return current.size >= size ? current : undefined;
    });
    const verifiers = [cosignatureVerifier(live.verifierKey), cosignatureVerifier(deadKey)];
    expect((await openNote(published.note, verifiers)).verified.map((v) => v.name)).toEqual([
      'witness.test/w1',
    ]);
  });
});

describe.each([
  ['sqlite', false],
  ['postgres', !PG_URL],
] as const)('the published checkpoint on %s', (engine, skip) => {
  it.skipIf(skip)('only ever moves to a larger tree', async () => {
    const schema = engine === 'postgres' ? await freshPgSchema(PG_URL as string) : undefined;
    const store = openStore(schema ? schema.url : 'sqlite::memory:');
    try {
      await migrate(store);
      const repo = new LedgerRepo(store.db, store.engine);
      const root = new Uint8Array(32);
      await repo.initState({ origin: 'o', size: 0, root, checkpoint: 'c0', signerKeyId: 'k' }, 'now');
      expect(await repo.getPublished()).toBeUndefined();
      expect(await repo.putPublished(5, 'n5')).toBe(true);
      expect(await repo.putPublished(3, 'n3')).toBe(false);
      expect(await repo.putPublished(5, 'other n5')).toBe(false);
      expect(await repo.putPublished(9, 'n9')).toBe(true);
      expect(await repo.getPublished()).toEqual({ size: 9, checkpoint: 'n9' });
    } finally {
      await store.close();
      await schema?.drop();
    }
  });
});
