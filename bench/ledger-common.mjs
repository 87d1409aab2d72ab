// What the two ledger benchmarks share: loading the built server and ledger core, a scratch directory
// on a real disk, opening a log on a fresh store, and checking its signed checkpoint.

import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { BenchError, filesystemOf, importBuilt, REPO_ROOT, RESULTS_DIR } from './lib.mjs';

export const ORIGIN = 'bench.personachain.invalid/ledger';

/** File systems in memory: a durable-append benchmark there would measure no disk at all. */
const MEMORY_FILE_SYSTEMS = new Set(['tmpfs', 'ramfs']);

/** The server's store, key store and ledger service, and the ledger core, as built by `npx tsc -b`. */
export async function loadLedgerModules() {
  const load = (path) => importBuilt(path, 'build first (npx tsc -b)');
  const [database, keys, service, repo, core] = await Promise.all([
    load('packages/server/dist/store/database.js'),
    load('packages/server/dist/modules/keys/service.js'),
    load('packages/server/dist/modules/ledger/service.js'),
    load('packages/server/dist/modules/ledger/repo.js'),
    load('packages/ledger/dist/index.js'),
  ]);
  return {
    openStore: database.openStore,
    migrate: database.migrate,
    openKeyStore: keys.openKeyStore,
    LedgerService: service.LedgerService,
    LedgerRepo: repo.LedgerRepo,
    core,
  };
}

/**
 * A fresh scratch directory for a SQLite database, on a disk: the system's temporary directory unless
 * that is in memory (tmpfs), then bench/results/ (gitignored, on the repository's disk). Returns the
 * directory and the file system it is on, next to the one of the repository's data directory.
 */
export async function scratchDir(prefix) {
  const tmpFs = filesystemOf(os.tmpdir());
  const inMemory = tmpFs !== null && MEMORY_FILE_SYSTEMS.has(tmpFs.type);
  const parent = inMemory ? RESULTS_DIR : os.tmpdir();
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, prefix));
  const filesystem = filesystemOf(dir);
  // The server's default data directory is ./data of the directory it starts in: the repository here.
  const dataDirFilesystem = filesystemOf(REPO_ROOT);
  return {
    dir,
    filesystem,
    dataDirFilesystem,
    sameFilesystemAsDataDir:
      filesystem !== null && dataDirFilesystem !== null && filesystem.source === dataDirFilesystem.source,
    note: inMemory
      ? `${os.tmpdir()} is ${tmpFs.type} (memory), so the database was put under bench/results/`
      : `${os.tmpdir()} is ${filesystem?.type ?? 'of unknown type'} on ${filesystem?.source ?? 'an unknown device'}`,
  };
}

/**
 * A migrated store at `url` with a key store under `masterSecret`, and the log opened on it (created,
 * size 0, on first use). `wrapKeys` may wrap the key store, e.g. to watch checkpoint signing.
 */
export async function openLedger(modules, url, { masterSecret, wrapKeys = (keys) => keys }) {
  const store = modules.openStore(url);
  try {
    await modules.migrate(store);
    const keys = wrapKeys(modules.openKeyStore(store, masterSecret));
    const ledger = await modules.LedgerService.open(store, {
      origin: null,
      defaultOrigin: ORIGIN,
      keys,
      onError: () => {},
    });
    return { store, keys, ledger };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * Opens the log's latest checkpoint with its published verifier key and checks that it matches the
 * service's state; returns the verified `{ size, root }`.
 */
export async function verifiedCheckpoint(core, ledger) {
  const state = await ledger.state();
  const { text } = await core.openNote(state.checkpoint, [core.noteVerifier(ledger.verifierKey)]);
  const checkpoint = core.parseCheckpoint(text);
  if (checkpoint.origin !== state.origin || checkpoint.size !== state.size) {
    throw new BenchError(`the signed checkpoint says size ${checkpoint.size}, the state ${state.size}`);
  }
  if (Buffer.compare(checkpoint.root, state.root) !== 0) {
    throw new BenchError('the signed checkpoint has another root than the state row');
  }
  return { size: checkpoint.size, root: checkpoint.root };
}
