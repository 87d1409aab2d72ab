import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addNoteSignatures,
  appendLeafHashes,
  cosignatureSigner,
  encodeEntryBundle,
  formatCheckpoint,
  generateNoteKey,
  hashLeaf,
  noteSigner,
  noteVerifier,
  SIGNATURE_TYPE_COSIGNATURE_ED25519,
  signNote,
  type TileId,
  verifierKeyFor,
} from '@personachain/ledger';
import { loadConfig, type RunningServer, startServer } from '@personachain/server';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import { HttpLog } from '../src/ledger-http.js';
import { monitorLog, type VerifiedState } from '../src/ledger-monitor.js';
import { type LogSource, VerificationError } from '../src/ledger-source.js';
import { assertBuilt, runCli } from './run-cli.js';

const ADMIN_KEY = `sk_${randomBytes(32).toString('base64url')}`;

let dataDir: string;
let server: RunningServer;
let projectId: string;
/** The log's verifier key, as the server publishes it. */
let logKey: string;

const config = () =>
  loadConfig({
    PERSONA_DATA_DIR: dataDir,
    PERSONA_HOST: '127.0.0.1',
    PERSONA_PORT: '0',
    PERSONA_BOOTSTRAP_KEY: ADMIN_KEY,
    PERSONA_LOG_LEVEL: 'silent',
  });

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['idempotency-key'] = randomBytes(8).toString('hex');
  }
  const response = await fetch(new URL(path, server.url), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function checkpointSize(): Promise<number> {
  const note = await (await fetch(new URL('/ledger/checkpoint', server.url))).text();
  return Number(note.split('\n')[1]);
}

/** Creates API keys (each audit-logged into the ledger) and waits until a checkpoint covers them all. */
async function appendEntries(count: number): Promise<number> {
  for (let i = 0; i < count; i++) {
    await api('POST', `/v1/projects/${projectId}/api-keys`, { name: `monitor test ${i}` });
  }
  for (;;) {
    const page = await api<{ data: Array<{ ledgerIndex: number | null }> }>(
      'GET',
      `/v1/projects/${projectId}/audit?limit=100`,
    );
    const indexes = page.data.map((entry) => entry.ledgerIndex);
    if (!indexes.includes(null)) {
      const size = await checkpointSize();
      if (size > Math.max(...(indexes as number[]))) return size;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const verify = (args: string[], env: Record<string, string> = {}) =>
  runCli(['ledger', 'verify', '--url', server.url, '--key', logKey, ...args], env);

const statePath = (name: string) => join(dataDir, `${name}.json`);

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

interface StateFile {
  origin: string;
  size: number;
  root: string;
  checkpoint: string;
}

/** Stops the server, changes its SQLite database, and starts it again on the same data. */
async function tamper(change: (db: Database.Database) => void): Promise<void> {
  await server.close();
  const db = new Database(join(dataDir, 'persona.db'));
  try {
    change(db);
  } finally {
    db.close();
  }
  server = await startServer(config());
}

beforeAll(async () => {
  assertBuilt();
  dataDir = await mkdtemp(join(tmpdir(), 'persona-ledger-verify-'));
  server = await startServer(config());
  const org = await api<{ id: string }>('POST', '/v1/organizations', { name: 'Monitored' });
  ({ id: projectId } = await api<{ id: string }>('POST', `/v1/organizations/${org.id}/projects`, {
    name: 'Audited',
  }));
  logKey = (await (await fetch(new URL('/ledger/verifier-key', server.url))).text()).trim();
});

afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('persona ledger verify against the real server', () => {
  it('creates its state on the first run and checks consistency with it on the next', async () => {
    const xdg = join(dataDir, 'xdg');
    const first = await appendEntries(2);
    const created = await verify(['--json'], { XDG_STATE_HOME: xdg });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const result = JSON.parse(created.stdout);
    expect(result).toMatchObject({ verified: true, previous: null, entriesAudited: null, witnesses: [] });
    expect(result.size).toBeGreaterThanOrEqual(first);
    // The default state file lives in $XDG_STATE_HOME/persona/, named after the URL and key.
    const [file] = await readdir(join(xdg, 'persona'));
    expect(file).toMatch(/^ledger-[0-9a-f]{16}\.json$/);
    expect(result.state).toBe(join(xdg, 'persona', file as string));
    const saved = await readJson<StateFile>(result.state);
    expect(saved).toMatchObject({ origin: result.origin, size: result.size, root: result.root });

    const second = await appendEntries(2);
    const grown = await verify([], { XDG_STATE_HOME: xdg });
    expect(grown.stderr).toBe('');
    expect(grown.code).toBe(0);
    expect(grown.stdout).toMatch(new RegExp(`^previous: +${result.size}, consistent \\(proof computed`, 'm'));
    expect(grown.stdout).toMatch(/^tiles: +hash to the root/m);
    const updated = await readJson<StateFile>(result.state);
    expect(updated.size).toBeGreaterThanOrEqual(second);
    expect(updated.size).toBeGreaterThan(saved.size);

    const again = await verify(['--entries'], { XDG_STATE_HOME: xdg });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^previous: +${updated.size}, same root$`, 'm'));
    expect(again.stdout).toMatch(new RegExp(`^entries: +all ${updated.size} match the tiles`, 'm'));
  });

  it('reports a split view: another root for a size seen before, or a tree not extending it', async () => {
    await appendEntries(2);
    const state = statePath('split');
    expect((await verify(['--state', state])).code).toBe(0);
    const saved = await readJson<StateFile>(state);
    const forged = { ...saved, root: randomBytes(32).toString('base64') };
    await writeFile(state, JSON.stringify(forged));

    const result = await verify(['--state', state]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      new RegExp(`^persona: split view: the log signed two different roots for size ${saved.size}\n`),
    );
    expect(result.stderr).toContain(forged.root);
    // Nothing verified, nothing saved: the evidence stays.
    expect(await readJson<StateFile>(state)).toEqual(forged);

    // A smaller tree with another root: the consistency proof from the tiles cannot reach it.
    await writeFile(state, JSON.stringify({ ...forged, size: saved.size - 1 }));
    const forked = await verify(['--state', state]);
    expect(forked.code).toBe(1);
    expect(forked.stderr).toMatch(
      new RegExp(
        `^persona: split view: the tree of size ${saved.size} does not extend the tree of size ${saved.size - 1} verified before\n`,
      ),
    );
  });

  it('reports a rollback when the log is smaller than before, as JSON with --json', async () => {
    const state = statePath('rollback');
    expect((await verify(['--state', state])).code).toBe(0);
    const saved = await readJson<StateFile>(state);
    await writeFile(state, JSON.stringify({ ...saved, size: saved.size + 5 }));

    const result = await verify(['--state', state, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ verified: false, reason: 'rollback' });
    expect(result.stderr).toMatch(
      new RegExp(`^persona: rollback: the log shrank from size ${saved.size + 5} to ${saved.size}\n`),
    );
  });

  it('refuses a checkpoint that is not signed by --key, or lacks a required cosignature', async () => {
    const origin = logKey.split('+')[0] as string;
    const { verifierKey: stranger } = await generateNoteKey(origin);
    const state = statePath('wrong-key');
    const wrongKey = await runCli([
      'ledger',
      'verify',
      '--url',
      server.url,
      '--key',
      stranger,
      '--state',
      state,
    ]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/^persona: bad signature: the checkpoint is not signed by /);

    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const witness = verifierKeyFor('witness.example', raw, SIGNATURE_TYPE_COSIGNATURE_ED25519);
    const uncosigned = await verify(['--state', state, '--witness', witness]);
    expect(uncosigned.code).toBe(1);
    expect(uncosigned.stderr).toMatch(
      /^persona: the checkpoint has no cosignature from witness witness\.example\+/,
    );

    // The log's own key is no witness key (type 0x01, not 0x04): a usage error, nothing fetched.
    const usage = await verify(['--state', state, '--witness', logKey]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--witness .*cosignature verifier key must have type 0x04/);
  });

  it('exits 2 when the server cannot be reached or the state file is not a state', async () => {
    const port = await freePort();
    const state = statePath('unreachable');
    const result = await runCli([
      'ledger',
      'verify',
      '--url',
      `http://127.0.0.1:${port}`,
      '--key',
      logKey,
      '--state',
      state,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^persona: could not verify: cannot reach http:\/\/127\.0\.0\.1:\d+\/: /);

    await writeFile(state, '{"size": "many"}');
    const corrupt = await verify(['--state', state]);
    expect(corrupt.code).toBe(2);
    expect(corrupt.stderr).toMatch(/^persona: the state file .+ is not a ledger monitor state\n/);
  });

  // Last: these restart the server on a database changed behind its back.
  it('finds a tampered entry with --entries, and a tampered tile from the root', async () => {
    const state = statePath('tamper');
    expect((await verify(['--state', state])).code).toBe(0);

    await tamper((db) => {
      db.prepare('UPDATE ledger_entries SET data = ? WHERE idx = 1').run(Buffer.from('{"forged":true}'));
    });
    // The tiles are intact, so only the full audit sees the changed entry.
    expect((await verify(['--state', statePath('tamper-no-audit')])).code).toBe(0);
    const audited = await verify(['--state', state, '--entries']);
    expect(audited.code).toBe(1);
    expect(audited.stderr).toMatch(
      /^persona: tampered entry: entry 1 does not hash to its leaf hash in tile\/0\/000\.p\/\d+\n/,
    );

    await tamper((db) => {
      const row = db.prepare('SELECT data FROM ledger_tiles WHERE level = 0 AND idx = 0').get() as {
        data: Buffer;
      };
      row.data[40] = (row.data[40] as number) ^ 1;
      db.prepare('UPDATE ledger_tiles SET data = ? WHERE level = 0 AND idx = 0').run(row.data);
    });
    const result = await verify(['--state', state]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^persona: root mismatch: the tiles of size \d+ do not hash to the checkpoint's root\n/,
    );
  });
});

describe('the full audit (in-memory log of 600 entries: two full level-0 tiles)', () => {
  it('ties full tiles to the tiles above and entries to their leaf hashes', async () => {
    const log = await memoryLog(600);
    const clean = await monitorLog({ ...log.options, entries: true });
    expect(clean.entriesAudited).toBe(600);

    // treeRoot reads level 1 and the right edge only: a changed full level-0 tile needs the audit.
    log.tiles.get('0/0')?.fill(7, 64, 96);
    await expect(monitorLog(log.options)).resolves.toMatchObject({ entriesAudited: null });
    await expect(monitorLog({ ...log.options, entries: true })).rejects.toMatchObject({
      reason: 'tile-mismatch',
      message: 'tampered tile: tile/0/000 does not hash to its hash in the level-1 tile',
    });
  });

  it('finds an entry that does not match its leaf hash in a full tile', async () => {
    const log = await memoryLog(600);
    log.entries[300] = new TextEncoder().encode('forged');
    await expect(monitorLog({ ...log.options, entries: true })).rejects.toMatchObject({
      reason: 'entry-mismatch',
      message: 'tampered entry: entry 300 does not hash to its leaf hash in tile/0/001',
    });
  });

  it('reports a fork: a tree that does not extend the smaller tree verified before', async () => {
    const log = await memoryLog(600);
    const other = await memoryLog(300, 'other');
    const previous: VerifiedState = { origin: log.origin, size: 300, root: other.root, checkpoint: '' };
    const error = await monitorLog({ ...log.options, previous }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VerificationError);
    expect(error).toMatchObject({
      reason: 'split-view',
      message: 'split view: the tree of size 600 does not extend the tree of size 300 verified before',
    });
    const consistent: VerifiedState = { ...previous, root: (await memoryLog(300)).root };
    await expect(monitorLog({ ...log.options, previous: consistent })).resolves.toMatchObject({
      previous: { size: 300, relation: 'consistent' },
    });
  });

  it('requires a valid cosignature from each --witness and reports when it was made', async () => {
    const log = await memoryLog(10);
    const { privateKey } = generateKeyPairSync('ed25519');
    const jwk = privateKey.export({ format: 'jwk' });
    const seed = Buffer.from(jwk.d as string, 'base64url');
    const witnessKey = verifierKeyFor(
      'witness.example',
      Buffer.from(jwk.x as string, 'base64url'),
      SIGNATURE_TYPE_COSIGNATURE_ED25519,
    );
    const cosigner = await cosignatureSigner('witness.example', seed, () => 1_800_000_000);
    const cosigned = await addNoteSignatures(await log.options.source.checkpoint(), [cosigner]);
    const source: LogSource = { ...log.options.source, checkpoint: async () => cosigned };
    const witnesses = [noteVerifier(witnessKey)];

    const result = await monitorLog({ ...log.options, source, witnesses });
    expect(result.witnesses).toEqual([
      { name: 'witness.example', keyId: witnesses[0]?.keyId, timestamp: 1_800_000_000 },
    ]);
    // The same cosignature line over another checkpoint does not verify.
    const line = cosigned.slice(cosigned.lastIndexOf('\u2014 witness.example'));
    const other = await memoryLog(11);
    const forged = `${await other.options.source.checkpoint()}${line}`;
    await expect(
      monitorLog({
        ...other.options,
        source: { ...other.options.source, checkpoint: async () => forged },
        witnesses,
      }),
    ).rejects.toMatchObject({
      reason: 'bad-signature',
      message: expect.stringMatching(/^bad signature on the checkpoint: signature from witness\.example\+/),
    });
  });

  it('refuses a tile of the wrong length', async () => {
    const log = await memoryLog(600);
    const source: LogSource = {
      ...log.options.source,
      tile: async (tile) => new Uint8Array(tile.width * 32 + 1),
    };
    await expect(monitorLog({ ...log.options, source })).rejects.toMatchObject({ reason: 'malformed-tile' });
  });
});

describe('HttpLog', () => {
  it('fetches at most 8 at a time, retries after a 429, and reports HTTP errors as exit 2', async () => {
    let inFlight = 0;
    let most = 0;
    const seen = new Map<string, number>();
    const server = createHttpServer((request, response) => {
      const path = request.url ?? '';
      seen.set(path, (seen.get(path) ?? 0) + 1);
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        if (path === '/prefix/ledger/tile/0/000.p/3' && seen.get(path) === 1) {
          response.writeHead(429, { 'retry-after': '0' }).end();
        } else if (path.startsWith('/prefix/ledger/tile/0/')) {
          response.end(Buffer.alloc(96, 1));
        } else {
          response.writeHead(404).end();
        }
      }, 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const log = new HttpLog(`http://127.0.0.1:${port}/prefix`);
      const tiles = await Promise.all(
        Array.from({ length: 20 }, (_, index) => log.tile({ level: 0, index, width: 3 })),
      );
      expect(tiles.every((tile) => tile.length === 96)).toBe(true);
      expect(most).toBe(8);
      expect(seen.get('/prefix/ledger/tile/0/000.p/3')).toBe(2);

      const missing = await log.entryBundle(0, 3).catch((error: unknown) => error);
      expect(missing).toBeInstanceOf(CliError);
      expect(missing).toMatchObject({
        exitCode: 2,
        message: `could not verify: GET http://127.0.0.1:${port}/prefix/ledger/tile/entries/000.p/3 answered HTTP 404`,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** A signed in-memory log whose tiles and entries the test may change; entry i is "<prefix> i". */
async function memoryLog(count: number, prefix = 'entry') {
  const origin = 'example.com/memory-log';
  const { signerKey, verifierKey } = await generateNoteKey(origin);
  const tiles = new Map<string, Uint8Array>();
  const key = (tile: TileId) => `${tile.level}/${tile.index}`;
  const entries = Array.from({ length: count }, (_, i) => new TextEncoder().encode(`${prefix} ${i}`));
  const tree = await appendLeafHashes(0, entries.map(hashLeaf), { readTiles: async () => [] });
  for (const { tile, data } of tree.tiles) tiles.set(key(tile), data);
  const note = await signNote(
    formatCheckpoint({ origin, size: tree.size, root: tree.root, extensions: [] }),
    [await noteSigner(signerKey)],
  );
  const source: LogSource = {
    checkpoint: async () => note,
    tile: async (tile) => (tiles.get(key(tile)) ?? new Uint8Array()).slice(0, tile.width * 32),
    entryBundle: async (index, width) => encodeEntryBundle(entries.slice(index * 256, index * 256 + width)),
  };
  return {
    origin,
    root: tree.root,
    tiles,
    entries,
    options: {
      source,
      logKey: noteVerifier(verifierKey),
      witnesses: [],
      previous: undefined,
      entries: false,
    },
  };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}
