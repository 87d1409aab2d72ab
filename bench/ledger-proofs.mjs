#!/usr/bin/env node
// Ledger proofs: inclusion-proof generation through the real LedgerService on SQLite, on a log of
// 10,000,000 entries that the benchmark builds itself (target: p99 < 2 ms), plus consistency proofs.
//
//   npx tsc -b && node bench/ledger-proofs.mjs [--size 10000000] [--samples 20000] [--warmup 2000] [--keep]
//
// Progress goes to stderr; the result JSON goes to stdout and to bench/results/. See bench/README.md.

import { hash, randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { sql } from 'kysely';
import { loadLedgerModules, openLedger, scratchDir, verifiedCheckpoint } from './ledger-common.mjs';
import {
  BenchError,
  cpuMeter,
  environment,
  log,
  ownPeakRssMiB,
  parseOptions,
  percentiles,
  publishResult,
  resultPath,
  round,
  runMain,
} from './lib.mjs';

const TARGETS = { maxInclusionP99Ms: 2 };
/** Leaves per appendLeafHashes call, and per build transaction: 1,024 level-0 tiles. */
const BUILD_BATCH = 262_144;
/** Tiles per INSERT statement: 3 parameters a row stays far below SQLite's 32,766. */
const TILES_PER_INSERT = 1_000;
/** Every n-th timed consistency proof is verified (see timeConsistency). */
const CONSISTENCY_VERIFY_EVERY = 10;
/** About the SHA-256 computations of one inclusion proof in a 10M log when no tile hash is memoized. */
const HASHES_PER_COLD_PROOF = 900;
const NOISE_SAMPLES = 5_000;
/** Prefix sizes whose root is recomputed in memory from the leaves, to check the built tree. */
const CONSISTENCY_CHECK_SIZES = [1, 2, 255, 256, 257, 65_535, 65_536, 65_537, 100_003];

const USAGE = `usage: node bench/ledger-proofs.mjs [options]
  --size <n>      entries in the log the benchmark builds (default 10000000)
  --samples <n>   timed inclusion proofs, and timed consistency proofs (default 20000 each)
  --warmup <n>    untimed proofs of each kind before the timed ones (default 2000)
  --keep          keep the SQLite database (its path is in the output) instead of deleting it
  --help`;

/**
 * Entry i of the benchmark's log is i as 8 bytes big-endian, so any leaf hash can be recomputed from
 * its index. The entries themselves are not stored: proofs read only hash tiles.
 */
function entryOf(index) {
  const entry = new Uint8Array(8);
  new DataView(entry.buffer).setBigUint64(0, BigInt(index));
  return entry;
}

const randomBelow = (n) => Math.floor(Math.random() * n);

async function writeTilesChunked(repo, tiles) {
  for (let start = 0; start < tiles.length; start += TILES_PER_INSERT) {
    await repo.writeTiles(tiles.slice(start, start + TILES_PER_INSERT));
  }
}

/**
 * Builds the tiles of a log of `size` entries straight into the store, a batch per transaction, with
 * the ledger core's appendLeafHashes reading the old right edge through the server's LedgerRepo.
 * SQLite runs with synchronous=OFF during the build only: a crash would lose the scratch log, nothing else.
 */
async function buildTiles({ core, LedgerRepo }, store, size) {
  const repo = new LedgerRepo(store.db, store.engine);
  await sql`pragma synchronous = OFF`.execute(store.db);
  const started = performance.now();
  let root;
  let tiles = 0;
  let nextReport = 1_000_000;
  for (let from = 0; from < size; from += BUILD_BATCH) {
    const count = Math.min(BUILD_BATCH, size - from);
    const leaves = new Array(count);
    for (let i = 0; i < count; i++) leaves[i] = core.hashLeaf(entryOf(from + i));
    const grown = await repo.transaction(async (trx) => {
      const result = await core.appendLeafHashes(from, leaves, trx);
      await writeTilesChunked(trx, result.tiles);
      return result;
    });
    root = grown.root;
    tiles += grown.tiles.length;
    if (grown.size >= nextReport || grown.size === size) {
      const seconds = (performance.now() - started) / 1000;
      log(`  built ${grown.size} entries in ${seconds.toFixed(1)} s`);
      nextReport += 1_000_000;
    }
  }
  await sql`pragma synchronous = FULL`.execute(store.db);
  await sql`pragma wal_checkpoint(TRUNCATE)`.execute(store.db);
  return { root, tileWrites: tiles, seconds: (performance.now() - started) / 1000 };
}

/**
 * Creates the log in a fresh database (state row, checkpoint key), builds its tiles and signs the built
 * tree. Runs in a worker thread (see buildInWorker); reports to the main thread when done.
 */
async function buildWorker() {
  const { dbPath, masterSecret, size } = workerData;
  const modules = await loadLedgerModules();
  const { store, keys, ledger } = await openLedger(modules, `sqlite:${dbPath}`, { masterSecret });
  try {
    await ledger.close();
    const build = await buildTiles(modules, store, size);
    await signBuiltState(modules, store, keys, size, build.root);
    parentPort.postMessage({
      seconds: build.seconds,
      tileWrites: build.tileWrites,
      peakRssMiB: ownPeakRssMiB(),
    });
  } finally {
    await store.close();
  }
}

/**
 * Builds the log in a worker thread: the build's garbage (hundreds of MiB of hashes) then dies with the
 * worker's heap instead of being collected while the proofs are timed. Resolves once the worker has
 * exited, so its SQLite connection (an exclusive lock) is closed.
 */
function buildInWorker(dbPath, masterSecret, size) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { dbPath, masterSecret, size } });
    let report = null;
    worker.on('message', (message) => {
      report = message;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code === 0 && report) resolve(report);
      else reject(new BenchError(`the build worker exited with code ${code} before it finished`));
    });
  });
}

/** Signs the checkpoint of the built tree with the log's KeyStore key and stores it in the state row. */
async function signBuiltState({ core, LedgerRepo }, store, keys, size, root) {
  const repo = new LedgerRepo(store.db, store.engine);
  const state = await repo.getState();
  const key = await keys.getKey(state.signerKeyId);
  const signer = {
    name: state.origin,
    keyId: core.noteKeyId(state.origin, core.SIGNATURE_TYPE_ED25519, key.publicKey),
    sign: (text) => keys.sign(key.id, new TextEncoder().encode(text)),
  };
  const body = core.formatCheckpoint({ origin: state.origin, size, root, extensions: [] });
  const checkpoint = await core.signNote(body, [signer]);
  await repo.putState({ size, root, checkpoint }, new Date().toISOString());
}

async function countTiles(store) {
  const { rows } = await sql`select count(*) as n from ledger_tiles`.execute(store.db);
  return Number(rows[0].n);
}

/** The database file's size after the build (the WAL was checkpointed and truncated). */
async function databaseMiB(path) {
  const sizes = await Promise.all(
    [path, `${path}-wal`].map((file) =>
      stat(file).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return round(sizes.reduce((a, b) => a + b, 0) / 1024 / 1024, 1);
}

/**
 * Independent checks of the built tree: the tiles are exactly those of a tree of `size`, the root
 * recomputed from the tiles is the signed one, and consistency proofs from prefixes whose roots are
 * computed in memory from the entries verify.
 */
async function checkTree({ core, LedgerRepo }, store, ledger, size, checkpoint) {
  const expectedTiles = core.tilesForSize(size).length;
  const storedTiles = await countTiles(store);
  if (storedTiles !== expectedTiles) {
    throw new BenchError(`the database holds ${storedTiles} tiles; a tree of ${size} has ${expectedTiles}`);
  }
  const rootFromTiles = await core.treeRoot(size, new LedgerRepo(store.db, store.engine));
  if (Buffer.compare(rootFromTiles, checkpoint.root) !== 0) {
    throw new BenchError('the root recomputed from the stored tiles is not the signed root');
  }
  const prefixes = CONSISTENCY_CHECK_SIZES.filter((n) => n <= size);
  const leaves = [];
  for (let i = 0; i < prefixes.at(-1); i++) leaves.push(core.hashLeaf(entryOf(i)));
  for (const prefix of prefixes) {
    const { hashes } = await ledger.consistencyProof(prefix, size);
    core.verifyConsistency(prefix, size, hashes, core.rootOf(leaves.slice(0, prefix)), checkpoint.root);
  }
  return { tiles: storedTiles, rootFromTilesMatches: true, consistencyFromInMemoryPrefixes: prefixes };
}

/**
 * Times `prove(i)` for i = 0 … count-1, one at a time, after `warmup` untimed calls. `check(i, proof)`
 * verifies the proof outside the timed region and returns whether it checked one (it may sample).
 */
async function timeProofs(count, warmup, prove, check) {
  for (let i = 0; i < warmup; i++) await check(i, await prove(i));
  const histogram = createHistogram();
  const cpu = await cpuMeter();
  const started = performance.now();
  let verified = 0;
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    const proof = await prove(i);
    histogram.record(process.hrtime.bigint() - t0);
    if (await check(i, proof)) verified++;
  }
  return {
    samples: count,
    verified,
    latencyMs: { ...percentiles(histogram, [50, 95, 99], 1e6), max: round(histogram.max / 1e6, 3) },
    meanMs: round(histogram.mean / 1e6, 3),
    wallSecondsWithChecks: round((performance.now() - started) / 1000),
    ...(await cpu.stop()),
  };
}

/** Inclusion proofs of random entries in the tree of the current size; every one is verified. */
function timeInclusion({ core }, ledger, checkpoint, options) {
  const { size, root } = checkpoint;
  const indexes = new Float64Array(options.samples + options.warmup);
  return timeProofs(
    options.samples,
    options.warmup,
    (i) => {
      indexes[i] = randomBelow(size);
      return ledger.inclusionProof(indexes[i]);
    },
    (i, proof) => {
      const index = indexes[i];
      if (proof.index !== index || proof.size !== size)
        throw new BenchError('inclusion proof for the wrong index');
      core.verifyInclusion(index, size, core.hashLeaf(entryOf(index)), proof.hashes, root);
      return true;
    },
  );
}

/**
 * The machine's noise, for reading the tails: the hashing of one cold proof without the proof
 * (HASHES_PER_COLD_PROOF SHA-256 of 65-byte node inputs, node:crypto), timed NOISE_SAMPLES times. On a
 * quiet machine its p99 is close to its p50; when it is not, the proofs' p99 carries the same noise.
 */
async function timeHashingAlone() {
  const input = new Uint8Array(65);
  const histogram = createHistogram();
  const cpu = await cpuMeter();
  for (let i = 0; i < NOISE_SAMPLES; i++) {
    const t0 = process.hrtime.bigint();
    for (let h = 0; h < HASHES_PER_COLD_PROOF; h++) hash('sha256', input, 'buffer');
    histogram.record(process.hrtime.bigint() - t0);
  }
  return {
    what: `${HASHES_PER_COLD_PROOF} × SHA-256 of 65 bytes (node:crypto), the hashing of one cold proof, timed ${NOISE_SAMPLES} times`,
    latencyMs: { ...percentiles(histogram, [50, 95, 99], 1e6), max: round(histogram.max / 1e6, 3) },
    ...(await cpu.stop()),
  };
}

/**
 * Consistency proofs from a random older size to the current one. Verifying one needs the older
 * root, recomputed from the tiles (core treeRoot), which costs about as much as the proof: every
 * CONSISTENCY_VERIFY_EVERY-th is verified.
 */
function timeConsistency({ core, LedgerRepo }, store, ledger, checkpoint, options) {
  const { size, root } = checkpoint;
  const repo = new LedgerRepo(store.db, store.engine);
  return timeProofs(
    options.samples,
    options.warmup,
    () => ledger.consistencyProof(1 + randomBelow(size)),
    async (i, proof) => {
      if (proof.to !== size) throw new BenchError('consistency proof to the wrong size');
      if (i % CONSISTENCY_VERIFY_EVERY !== 0) return false;
      core.verifyConsistency(proof.from, size, proof.hashes, await core.treeRoot(proof.from, repo), root);
      return true;
    },
  );
}

const describe = (name, run) =>
  `  ${name.padEnd(12)} p50 ${run.latencyMs.p50} ms  p95 ${run.latencyMs.p95} ms  p99 ${run.latencyMs.p99} ms  ` +
  `max ${run.latencyMs.max} ms  (${run.verified ?? '-'} verified; CPU cores: bench ${run.cpuCores}, other processes ${run.otherCpuCores ?? '?'})`;

async function main() {
  const options = parseOptions(USAGE, {
    size: { default: '10000000', min: 2, max: 1_000_000_000, integer: true },
    samples: { default: '20000', min: 1, max: 10_000_000, integer: true },
    warmup: { default: '2000', min: 0, max: 1_000_000, integer: true },
    keep: { type: 'boolean' },
  });
  const modules = await loadLedgerModules();
  const startedAt = new Date();
  const env = environment();
  const scratch = await scratchDir('persona-bench-ledger-proofs-');
  const dbPath = join(scratch.dir, 'ledger.db');
  log(
    `ledger-proofs: node ${process.version}, log of ${options.size} entries in ${dbPath} (${scratch.note})`,
  );

  let opened = null;
  try {
    const masterSecret = randomBytes(32);
    const build = await buildInWorker(dbPath, masterSecret, options.size);
    const databaseSizeMiB = await databaseMiB(dbPath);
    log(`built in ${build.seconds.toFixed(1)} s, database ${databaseSizeMiB} MiB`);

    // Proofs go through a service opened anew on the file, as the server would after a restart.
    opened = await openLedger(modules, `sqlite:${dbPath}`, { masterSecret });
    const { store, ledger } = opened;
    const checkpoint = await verifiedCheckpoint(modules.core, ledger);
    if (checkpoint.size !== options.size) {
      throw new BenchError(`the reopened log has size ${checkpoint.size}, not ${options.size}`);
    }
    const treeCheck = await checkTree(modules, store, ledger, options.size, checkpoint);
    log(`tree checked: ${treeCheck.tiles} tiles; consistency from in-memory prefixes verifies`);

    const inclusion = await timeInclusion(modules, ledger, checkpoint, options);
    log(describe('inclusion', inclusion));
    const hashingAlone = await timeHashingAlone();
    log(describe('hashing alone (noise)', hashingAlone));
    const consistency = await timeConsistency(modules, store, ledger, checkpoint, options);
    log(describe('consistency', consistency));

    const result = {
      benchmark: 'ledger-proofs',
      startedAt: startedAt.toISOString(),
      ...env,
      config: {
        size: options.size,
        samples: options.samples,
        warmup: options.warmup,
        keep: options.keep,
        database: `SQLite (${dbPath}), WAL, one connection, as the server opens it`,
        storage: scratch,
        entries:
          'entry i is i as 8 bytes big-endian; the entries are not stored (ledger_entries is empty): proofs read only hash tiles',
        build: `in a worker thread (its garbage dies with it): core appendLeafHashes, ${BUILD_BATCH} leaves per call and per transaction, tiles written with LedgerRepo.writeTiles; synchronous=OFF during the build only, FULL again for the proofs`,
        proofPath:
          'LedgerService.inclusionProof(index) / consistencyProof(from) on a service opened anew on the file: the path of GET /ledger/proofs/inclusion and /ledger/proofs/consistency',
        timing:
          'one proof at a time, awaited; uniformly random index (inclusion) or older size (consistency)',
      },
      build: {
        seconds: round(build.seconds, 1),
        entriesPerSec: Math.round(options.size / build.seconds),
        tileWrites: build.tileWrites,
        tiles: treeCheck.tiles,
        databaseMiB: databaseSizeMiB,
        peakRssMiB: build.peakRssMiB,
      },
      checks: {
        signedCheckpointSize: checkpoint.size,
        tilesMatchTilesForSize: true,
        rootFromTilesMatchesSignedRoot: treeCheck.rootFromTilesMatches,
        consistencyFromInMemoryPrefixes: treeCheck.consistencyFromInMemoryPrefixes,
        inclusionVerified: `${inclusion.verified} of ${inclusion.samples} timed proofs (and all ${options.warmup} warm-up proofs)`,
        consistencyVerified: `${consistency.verified} of ${consistency.samples} timed proofs (every ${CONSISTENCY_VERIFY_EVERY}th, against treeRoot of the older size)`,
      },
      inclusion,
      consistency,
      diagnostics: { hashingAlone },
      peakRssMiB: ownPeakRssMiB(),
      keptDatabase: options.keep ? dbPath : null,
    };
    result.targets = {
      basis: 'one run: p99 over the timed inclusion proofs',
      inclusionP99Ms: {
        target: `< ${TARGETS.maxInclusionP99Ms}`,
        value: inclusion.latencyMs.p99,
        pass: inclusion.latencyMs.p99 < TARGETS.maxInclusionP99Ms,
      },
    };
    result.targets.allPass = result.targets.inclusionP99Ms.pass;
    log(
      `\ninclusion proof p99 on ${options.size} entries: ${inclusion.latencyMs.p99} ms ` +
        `(target < ${TARGETS.maxInclusionP99Ms}: ${result.targets.allPass ? 'PASS' : 'MISS'})`,
    );
    if (options.keep) log(`kept ${dbPath}`);
    await publishResult(resultPath('ledger-proofs', startedAt), result);
  } finally {
    await opened?.ledger.close().catch(() => {});
    await opened?.store.close().catch(() => {});
    if (!options.keep) await rm(scratch.dir, { recursive: true, force: true });
  }
}

if (isMainThread) await runMain('ledger-proofs', main);
else await buildWorker();
