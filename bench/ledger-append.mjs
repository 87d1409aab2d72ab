#!/usr/bin/env node
// Ledger appends: sustained durable appends/s through LedgerService.append (group commit) with
// concurrent writers and random entries, on SQLite (target: >= 5,000/s with 64 writers and 1 KiB
// entries) and, when PERSONA_TEST_PG_URL is set, on PostgreSQL.
//
//   npx tsc -b && node bench/ledger-append.mjs [--duration 10] [--warmup 2] [--writers 64] [--entry-bytes 1024]
//
// Progress goes to stderr; the result JSON goes to stdout and to bench/results/. See bench/README.md.

import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import { sql } from 'kysely';
import pg from 'pg';
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
  sleep,
} from './lib.mjs';

const TARGETS = { minSqliteAppendsPerSec: 5_000 };
/** Acknowledged entries kept (reservoir sample) to check with inclusion proofs at the end. */
const PROOF_SAMPLE = 16;
const PG_URL = process.env.PERSONA_TEST_PG_URL;

const USAGE = `usage: node bench/ledger-append.mjs [options]
  --duration <s>      measured seconds per engine (default 10)
  --warmup <s>        seconds of appends before the measurement, not counted (default 2)
  --writers <n>       concurrent writers, each awaiting one append at a time (default 64)
  --entry-bytes <n>   bytes of each random entry (default 1024)
  --engine <e>        sqlite, postgres or both (default both; postgres needs PERSONA_TEST_PG_URL and is
                      skipped without it under both)
  --help`;

/**
 * Wraps a KeyStore so that every checkpoint it signs is recorded as `{ size, at }`: the sequencer signs
 * one checkpoint per committed batch, so these are the batches and their sizes.
 */
function watchSigning(keys, signed) {
  return new Proxy(keys, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property !== 'sign') return typeof value === 'function' ? value.bind(target) : value;
      return (keyId, bytes) => {
        // A checkpoint body: origin, size, root, one per line.
        const size = Number(new TextDecoder().decode(bytes).split('\n')[1]);
        signed.push({ size, at: performance.now() });
        return value.call(target, keyId, bytes);
      };
    },
  });
}

/** Keeps a uniform random sample of `limit` of the items offered (reservoir sampling). */
function reservoir(limit) {
  const items = [];
  let seen = 0;
  return {
    items,
    offer(item) {
      seen++;
      if (items.length < limit) items.push(item);
      else if (Math.random() * seen < limit) items[Math.floor(Math.random() * limit)] = item;
    },
  };
}

/**
 * Runs `writers` loops that each append a fresh random entry and await its acknowledgment, for the
 * warm-up and then the measured window. Throughput and latency count the appends acknowledged inside
 * the window; every acknowledged index is kept to check the log afterwards.
 */
async function runWriters(ledger, options) {
  const latency = createHistogram();
  const acknowledged = [];
  const sample = reservoir(PROOF_SAMPLE);
  const run = { measuring: false, stopping: false, measured: 0 };
  const writer = async () => {
    while (!run.stopping) {
      const entry = randomBytes(options.entryBytes);
      const started = process.hrtime.bigint();
      const { index } = await ledger.append(entry);
      if (run.measuring) {
        latency.record(process.hrtime.bigint() - started);
        run.measured++;
      }
      acknowledged.push(index);
      sample.offer({ index, entry });
    }
  };
  const writers = Array.from({ length: options.writers }, writer);
  const failed = Promise.race(writers).then(() => {}); // a rejected append ends the run early

  await Promise.race([sleep(options.warmup * 1000), failed]);
  const cpu = await cpuMeter();
  run.measuring = true;
  const window = { start: performance.now() };
  await Promise.race([sleep(options.duration * 1000), failed]);
  run.measuring = false;
  window.end = performance.now();
  const cpuUse = await cpu.stop();
  run.stopping = true;
  await Promise.all(writers);
  return { latency, acknowledged, sample: sample.items, measured: run.measured, window, cpuUse };
}

/** The batches committed inside the window, from the checkpoints signed (one per batch). */
function batchesIn(signed, window) {
  const sizes = [];
  for (let i = 1; i < signed.length; i++) {
    const { size, at } = signed[i];
    if (at >= window.start && at <= window.end) sizes.push(size - signed[i - 1].size);
  }
  const seconds = (window.end - window.start) / 1000;
  const sorted = sizes.toSorted((a, b) => a - b);
  return {
    committed: sizes.length,
    perSec: round(sizes.length / seconds, 1),
    meanSize: sizes.length ? round(sizes.reduce((a, b) => a + b, 0) / sizes.length, 1) : null,
    medianSize: sizes.length ? sorted[sorted.length >> 1] : null,
    maxSize: sizes.length ? sorted.at(-1) : null,
  };
}

/**
 * After the run: the signed checkpoint's size is the number of acknowledged appends, every index from 0
 * to size - 1 was acknowledged exactly once, the database holds that many entries, and inclusion proofs
 * of a random sample of acknowledged entries verify against the signed root.
 */
async function checkLog({ core }, store, ledger, run) {
  await ledger.flush();
  const checkpoint = await verifiedCheckpoint(core, ledger);
  const count = run.acknowledged.length;
  if (checkpoint.size !== count) {
    throw new BenchError(
      `the signed checkpoint has size ${checkpoint.size}, but ${count} appends were acknowledged`,
    );
  }
  const seen = new Uint8Array(count);
  for (const index of run.acknowledged) {
    if (index >= count || seen[index])
      throw new BenchError(`index ${index} was acknowledged twice or is out of range`);
    seen[index] = 1;
  }
  const { rows } = await sql`select count(*) as n from ledger_entries`.execute(store.db);
  const stored = Number(rows[0].n);
  if (stored !== count) throw new BenchError(`the database holds ${stored} entries, not ${count}`);
  for (const { index, entry } of run.sample) {
    const { hashes } = await ledger.inclusionProof(index, checkpoint.size);
    core.verifyInclusion(index, checkpoint.size, core.hashLeaf(entry), hashes, checkpoint.root);
  }
  return {
    acknowledgedAppends: count,
    signedCheckpointSize: checkpoint.size,
    checkpointSizeEqualsAcknowledged: true,
    everyIndexAcknowledgedOnce: true,
    entriesInDatabase: stored,
    inclusionProofsVerified: run.sample.length,
  };
}

/** Appends on one engine: opens a fresh log at `url`, runs the writers, checks the log, closes it. */
async function measureEngine(modules, engine, url, options) {
  const signed = [];
  const { store, ledger } = await openLedger(modules, url, {
    masterSecret: randomBytes(32),
    wrapKeys: (keys) => watchSigning(keys, signed),
  });
  try {
    const settings = await engineSettings(store, engine);
    const run = await runWriters(ledger, options);
    const checks = await checkLog(modules, store, ledger, run);
    const seconds = (run.window.end - run.window.start) / 1000;
    const result = {
      engine,
      settings,
      measuredSeconds: round(seconds, 3),
      appendsPerSec: Math.round(run.measured / seconds),
      measuredAppends: run.measured,
      latencyMs: { ...percentiles(run.latency, [50, 95, 99], 1e6), max: round(run.latency.max / 1e6, 3) },
      batches: batchesIn(signed, run.window),
      checks,
      cpuCores: run.cpuUse.cpuCores,
      otherCpuCores: run.cpuUse.otherCpuCores,
      peakRssMiBSoFar: ownPeakRssMiB(),
    };
    log(
      `  ${engine.padEnd(8)} ${String(result.appendsPerSec).padStart(6)} appends/s  p50 ${result.latencyMs.p50} ms  ` +
        `p95 ${result.latencyMs.p95} ms  p99 ${result.latencyMs.p99} ms  ${result.batches.committed} batches, ` +
        `mean ${result.batches.meanSize} entries  (CPU cores: bench ${result.cpuCores}, other processes ${result.otherCpuCores ?? '?'})`,
    );
    return result;
  } finally {
    await ledger.close().catch(() => {});
    await store.close();
  }
}

/** The durability settings the engine ran with, read from it. */
async function engineSettings(store, engine) {
  const value = async (query) => Object.values((await query.execute(store.db)).rows[0])[0];
  if (engine === 'sqlite') {
    return {
      journalMode: await value(sql`pragma journal_mode`),
      // 2 = FULL: every commit is synced to disk before the append is acknowledged.
      synchronous: await value(sql`pragma synchronous`),
    };
  }
  return {
    version: await value(sql`show server_version`),
    fsync: await value(sql`show fsync`),
    synchronousCommit: await value(sql`show synchronous_commit`),
  };
}

/** A PostgreSQL schema of its own (as packages/server/test/helpers.ts does), dropped afterwards. */
async function freshPgSchema(baseUrl) {
  const schema = `bench_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = async (statement) => {
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create schema ${schema}`);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { schema, url: url.toString(), drop: () => admin(`drop schema ${schema} cascade`) };
}

async function measureSqlite(modules, options) {
  const scratch = await scratchDir('persona-bench-ledger-append-');
  log(`  SQLite in ${scratch.dir} (${scratch.note})`);
  try {
    const result = await measureEngine(
      modules,
      'sqlite',
      `sqlite:${join(scratch.dir, 'persona.db')}`,
      options,
    );
    return { ...result, storage: scratch };
  } finally {
    await rm(scratch.dir, { recursive: true, force: true });
  }
}

async function measurePostgres(modules, options) {
  const fresh = await freshPgSchema(PG_URL);
  const server = new URL(PG_URL);
  log(`  PostgreSQL at ${server.host}, fresh schema ${fresh.schema}`);
  try {
    const result = await measureEngine(modules, 'postgres', fresh.url, options);
    return { ...result, storage: { server: server.host, schema: `${fresh.schema} (dropped afterwards)` } };
  } finally {
    await fresh.drop();
  }
}

function parse() {
  const options = parseOptions(USAGE, {
    duration: { default: '10', min: 1, max: 600 },
    warmup: { default: '2', min: 0, max: 60 },
    writers: { default: '64', min: 1, max: 10_000, integer: true },
    'entry-bytes': { default: '1024', min: 1, max: 65_535, integer: true },
    engine: { default: 'both', choices: ['sqlite', 'postgres', 'both'] },
  });
  if (options.engine === 'postgres' && !PG_URL) {
    process.stderr.write(
      '--engine postgres needs PERSONA_TEST_PG_URL (a PostgreSQL URL to create a schema in)\n',
    );
    process.exit(2);
  }
  return options;
}

async function main() {
  const options = parse();
  const modules = await loadLedgerModules();
  const startedAt = new Date();
  const env = environment();
  log(
    `ledger-append: node ${process.version}, ${options.writers} writers, ${options.entryBytes}-byte entries, ` +
      `${options.warmup} s warm-up + ${options.duration} s per engine`,
  );

  const engines = {};
  if (options.engine !== 'postgres') engines.sqlite = await measureSqlite(modules, options);
  if (options.engine !== 'sqlite') {
    engines.postgres = PG_URL
      ? await measurePostgres(modules, options)
      : { skipped: 'PERSONA_TEST_PG_URL is not set' };
  }

  const sqlite = engines.sqlite;
  const result = {
    benchmark: 'ledger-append',
    startedAt: startedAt.toISOString(),
    ...env,
    config: {
      durationSeconds: options.duration,
      warmupSeconds: options.warmup,
      writers: options.writers,
      entryBytes: options.entryBytes,
      engine: options.engine,
      operation:
        'LedgerService.append(random entry), awaited: acknowledged after the batch holding it commits ' +
        '(group commit, service defaults maxBatch 1024, maxDelayMs 2); each writer has one append in flight',
      latency: 'from the append call to its acknowledgment, for appends acknowledged in the measured window',
      batches:
        'one checkpoint is signed per committed batch; batches and sizes are read from the signed checkpoints',
    },
    engines,
    peakRssMiB: ownPeakRssMiB(),
  };
  result.targets = {
    basis: 'one measured window on SQLite; PostgreSQL is reported, not judged',
    sqliteAppendsPerSec: sqlite
      ? {
          target: `>= ${TARGETS.minSqliteAppendsPerSec}`,
          anchor: 'Trillian Tessera, ~2,900 appends/s on a local disk (published figure, not measured here)',
          value: sqlite.appendsPerSec,
          pass: sqlite.appendsPerSec >= TARGETS.minSqliteAppendsPerSec,
        }
      : { skipped: '--engine postgres: the target is judged on SQLite' },
  };
  result.targets.allPass = result.targets.sqliteAppendsPerSec.pass ?? null;
  if (sqlite) {
    log(
      `\nSQLite: ${sqlite.appendsPerSec} durable appends/s (target >= ${TARGETS.minSqliteAppendsPerSec}: ` +
        `${result.targets.allPass ? 'PASS' : 'MISS'})`,
    );
  }
  await publishResult(resultPath('ledger-append', startedAt), result);
}

await runMain('ledger-append', main);
