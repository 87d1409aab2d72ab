#!/usr/bin/env node
// Webhook fan-out (issue 7): deliveries per second from the outbox to a local receiver, and the latency
// from enqueue to delivery at a steady offered rate. Target on 2 cores: >= 2,000 deliveries/s with p99
// enqueue-to-delivery < 1 s.
//
// The platform runs in this process (buildApp from the built server, as a module would use it), so events
// are enqueued straight into the outbox through WebhookService.enqueue, each in its own transaction, as
// the KYC module does with its state changes. The receiver is a worker thread (its own event loop, on the
// other core) answering 204 over keep-alive HTTP; it checks signatures with the standardwebhooks library
// on a sample and reports each delivery's arrival time. See bench/README.md "webhooks.mjs".
//
//   node bench/webhooks.mjs [--endpoints 20] [--events 2000] [--seconds 5] [--rate N] [--engine sqlite]

import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createHistogram } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { scratchDir } from './ledger-common.mjs';
import {
  BenchError,
  cpuMeter,
  environment,
  importBuilt,
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
import { api, RATE_LIMIT } from './server.mjs';

const USAGE = `usage: node bench/webhooks.mjs [options]
  --endpoints N   endpoints in one project, each subscribed to every event (default 20)
  --events N      events enqueued back to back for the throughput run; each fans out to every endpoint
                  (default 2000)
  --seconds N     seconds of the latency run (default 5)
  --rate N        deliveries/s offered in the latency run (default: half the measured throughput)
  --engine E      sqlite (default; a file on disk) or postgres (a fresh schema at --pg-url)
  --pg-url URL    PostgreSQL for --engine postgres (default postgres://postgres@127.0.0.1:5432/test)
  --help`;

const OPTIONS = {
  endpoints: { default: '20', min: 1, max: 50, integer: true },
  events: { default: '2000', min: 10, max: 1_000_000, integer: true },
  seconds: { default: '5', min: 1, max: 600, integer: true },
  rate: { default: '0', min: 0, max: 1_000_000, integer: true },
  engine: { default: 'sqlite', choices: ['sqlite', 'postgres'] },
  'pg-url': { default: 'postgres://postgres@127.0.0.1:5432/test' },
};

const TARGET_DELIVERIES_PER_SEC = 2_000;
const TARGET_P99_MS = 1_000;
/** Every n-th delivery's signature is verified by the receiver with the standardwebhooks library. */
const VERIFY_EVERY = 50;
const BUILD_HINT = 'build first (npx tsc -b)';

/** Wall-clock milliseconds with sub-millisecond precision, comparable between threads. */
const nowMs = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------------------
// The receiver thread: POST /e/<n> answered 204; arrivals reported to the main thread every 20 ms.

function receiverThread() {
  const secrets = new Map();
  let arrivals = [];
  let verified = 0;
  let badSignatures = 0;
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const at = nowMs();
      const id = request.headers['webhook-id'];
      arrivals.push([id, request.url, at]);
      if (arrivals.length % VERIFY_EVERY === 0 && secrets.has(request.url)) {
        try {
          new Webhook(secrets.get(request.url)).verify(
            Buffer.concat(chunks).toString('utf8'),
            request.headers,
          );
          verified++;
        } catch {
          badSignatures++;
        }
      }
      response.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  const flush = () => {
    if (arrivals.length > 0) parentPort.postMessage({ arrivals });
    arrivals = [];
  };
  setInterval(flush, 20);
  parentPort.on('message', (message) => {
    if (message.secrets) for (const [path, secret] of message.secrets) secrets.set(path, secret);
    if (message.report) {
      flush();
      parentPort.postMessage({ report: { verified, badSignatures } });
    }
  });
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
}

class ReceiverClient {
  constructor() {
    this.worker = new Worker(new URL(import.meta.url), { workerData: { role: 'receiver' } });
    /** `${webhook-id} ${path}` → arrival time: a repeat is a duplicate delivery. */
    this.arrived = new Map();
    this.duplicates = 0;
    this.listeners = new Set();
    this.worker.on('message', (message) => {
      if (message.arrivals) {
        for (const [id, path, at] of message.arrivals) {
          const key = `${id} ${path}`;
          if (this.arrived.has(key)) this.duplicates++;
          else this.arrived.set(key, at);
        }
      }
      for (const listener of this.listeners) listener(message);
    });
  }

  next(test) {
    return new Promise((resolve) => {
      const listener = (message) => {
        if (!test(message)) return;
        this.listeners.delete(listener);
        resolve(message);
      };
      this.listeners.add(listener);
    });
  }

  async start() {
    const { port } = await this.next((message) => message.port !== undefined);
    return `http://127.0.0.1:${port}`;
  }

  setSecrets(secrets) {
    this.worker.postMessage({ secrets });
  }

  /** Resolves once `count` distinct deliveries arrived; throws after `timeoutMs`. */
  async until(count, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (this.arrived.size < count) {
      if (Date.now() > deadline) {
        throw new BenchError(`only ${this.arrived.size} of ${count} deliveries arrived in ${timeoutMs} ms`);
      }
      await sleep(10);
    }
  }

  async report() {
    const reply = this.next((message) => message.report !== undefined);
    this.worker.postMessage({ report: true });
    return (await reply).report;
  }

  close() {
    return this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------------------
// The platform in this process.

async function startPlatform(options, dataDir, receiverUrl) {
  const load = (path) => importBuilt(path, BUILD_HINT);
  const [{ buildApp }, { loadConfig }, { openStore, migrate }] = await Promise.all([
    load('packages/server/dist/app.js'),
    load('packages/server/dist/config.js'),
    load('packages/server/dist/store/database.js'),
  ]);
  let pgSchema = null;
  if (options.engine === 'postgres') pgSchema = await freshPgSchema(options.pgUrl);
  const adminKey = `sk_${randomBytes(32).toString('base64url')}`;
  const config = loadConfig({
    PERSONA_HOST: '127.0.0.1',
    PERSONA_PORT: '0',
    PERSONA_DATA_DIR: dataDir,
    PERSONA_LOG_LEVEL: 'warn',
    PERSONA_BOOTSTRAP_KEY: adminKey,
    PERSONA_RATE_LIMIT_KEY: RATE_LIMIT,
    PERSONA_RATE_LIMIT_PROJECT: RATE_LIMIT,
    // The receiver listens on 127.0.0.1, which only an operator-trusted host may be.
    PERSONA_OUTBOUND_TRUSTED_HOSTS: '127.0.0.1',
    ...(pgSchema ? { PERSONA_DATABASE_URL: pgSchema.url } : {}),
  });
  const store = openStore(config.databaseUrl);
  await migrate(store);
  const platform = await buildApp(config, store, {
    // The default per-project limit (500/s) would be the measurement: lift it.
    webhooks: {
      projectRateLimit: { perSecond: 1e9, burst: 1e9 },
      maxInFlight: Math.max(64, options.endpoints),
    },
  });
  await platform.tenancy.bootstrap(config.bootstrapKey);
  await platform.app.listen({ host: '127.0.0.1', port: 0 });
  const baseUrl = `http://127.0.0.1:${platform.app.server.address().port}`;

  const org = await api(baseUrl, 'POST', '/v1/organizations', adminKey, { name: 'bench-org' }, 201);
  const project = await api(
    baseUrl,
    'POST',
    `/v1/organizations/${org.id}/projects`,
    adminKey,
    { name: 'bench' },
    201,
  );
  const secrets = [];
  for (let n = 0; n < options.endpoints; n++) {
    const path = `/e/${n}`;
    const made = await api(
      baseUrl,
      'POST',
      `/v1/projects/${project.id}/webhooks`,
      adminKey,
      { url: `${receiverUrl}${path}` },
      201,
    );
    secrets.push([path, made.secret]);
  }
  const enqueue = async (type, data) => {
    const id = await store.db
      .transaction()
      .execute((trx) => platform.webhooks.enqueue(trx, { projectId: project.id, type, data }));
    platform.webhooks.notify();
    return id;
  };
  return {
    enqueue,
    secrets,
    async close() {
      await platform.app.close();
      await pgSchema?.drop();
    },
  };
}

async function freshPgSchema(baseUrl) {
  const schema = `bench_webhooks_${process.pid}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.end();
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The runs.

/** Enqueues `events` back to back; deliveries/s from the first enqueue to the last arrival. */
async function throughputRun(platform, receiver, options, already) {
  const expected = already + options.events * options.endpoints;
  const started = nowMs();
  for (let n = 0; n < options.events; n++) {
    await platform.enqueue('verification.approved', { session_id: `vrf_${n}`, status: 'approved' });
  }
  const enqueuedSeconds = (nowMs() - started) / 1000;
  await receiver.until(expected, 120_000);
  const last = Math.max(...[...receiver.arrived.values()].slice(already));
  const seconds = (last - started) / 1000;
  const deliveries = options.events * options.endpoints;
  return {
    events: options.events,
    deliveries,
    enqueueSeconds: round(enqueuedSeconds, 3),
    eventsEnqueuedPerSec: round(options.events / enqueuedSeconds),
    seconds: round(seconds, 3),
    deliveriesPerSec: round(deliveries / seconds),
  };
}

/** Offers `rate` deliveries/s (events at rate/endpoints per second) for `seconds`; enqueue→arrival latency. */
async function latencyRun(platform, receiver, options, rate, already) {
  const eventsPerSec = rate / options.endpoints;
  const total = Math.max(1, Math.round(eventsPerSec * options.seconds));
  const interval = 1000 / eventsPerSec;
  const enqueuedAt = new Map();
  const started = nowMs();
  for (let n = 0; n < total; n++) {
    const due = started + n * interval;
    const wait = due - nowMs();
    if (wait > 1) await sleep(wait);
    const at = nowMs();
    enqueuedAt.set(await platform.enqueue('verification.processing', { session_id: `vrf_l${n}` }), at);
  }
  const offeredSeconds = (nowMs() - started) / 1000;
  await receiver.until(already + total * options.endpoints, 120_000);
  const histogram = createHistogram();
  for (const [key, at] of receiver.arrived) {
    const sent = enqueuedAt.get(key.slice(0, key.indexOf(' ')));
    if (sent !== undefined) histogram.record(Math.max(1, Math.round((at - sent) * 1000)));
  }
  return {
    offeredDeliveriesPerSec: round((total * options.endpoints) / offeredSeconds),
    events: total,
    deliveries: histogram.count,
    latencyMs: { ...percentiles(histogram, [50, 95, 99], 1000), max: round(histogram.max / 1000, 3) },
  };
}

async function main() {
  const options = parseOptions(USAGE, OPTIONS);
  const env = environment();
  const startedAt = new Date();
  const receiver = new ReceiverClient();
  const scratch = await scratchDir('persona-bench-webhooks-');
  let platform = null;
  try {
    const receiverUrl = await receiver.start();
    log(`data in ${scratch.dir} (${scratch.note})`);
    platform = await startPlatform(options, scratch.dir, receiverUrl);
    receiver.setSecrets(platform.secrets);
    log(`warming up: 100 events to ${options.endpoints} endpoints`);
    for (let n = 0; n < 100; n++) await platform.enqueue('webhook.test', { n });
    await receiver.until(100 * options.endpoints, 60_000);

    const cpu = await cpuMeter();
    log(
      `throughput: ${options.events} events back to back, ${options.events * options.endpoints} deliveries`,
    );
    const throughput = await throughputRun(platform, receiver, options, receiver.arrived.size);
    log(`  ${throughput.deliveriesPerSec} deliveries/s`);
    const rate = options.rate || Math.max(options.endpoints, Math.round(throughput.deliveriesPerSec / 2));
    log(`latency: ${rate} deliveries/s offered for ${options.seconds} s`);
    const latency = await latencyRun(platform, receiver, options, rate, receiver.arrived.size);
    log(`  p50 ${latency.latencyMs.p50} ms, p99 ${latency.latencyMs.p99} ms`);
    const cpuUse = await cpu.stop();
    const signatures = await receiver.report();
    if (signatures.badSignatures > 0 || receiver.duplicates > 0) {
      throw new BenchError(
        `${signatures.badSignatures} bad signatures and ${receiver.duplicates} duplicate deliveries`,
      );
    }

    const result = {
      benchmark: 'webhooks',
      ...env,
      config: { ...options, store: scratch.note },
      throughput,
      latency,
      checks: { signaturesVerified: signatures.verified, badSignatures: 0, duplicateDeliveries: 0 },
      // This process runs the platform and the receiver thread: its CPU use covers both.
      ...cpuUse,
      peakRssMiB: ownPeakRssMiB(),
      targets: {
        list: [
          {
            name: 'deliveries/s, enqueued back to back',
            target: `>= ${TARGET_DELIVERIES_PER_SEC}`,
            value: throughput.deliveriesPerSec,
            pass: throughput.deliveriesPerSec >= TARGET_DELIVERIES_PER_SEC,
          },
          {
            name: `p99 enqueue-to-delivery ms at ${latency.offeredDeliveriesPerSec} deliveries/s offered`,
            target: `< ${TARGET_P99_MS}`,
            value: latency.latencyMs.p99,
            pass: latency.latencyMs.p99 < TARGET_P99_MS,
          },
        ],
      },
    };
    result.targets.allPass = result.targets.list.every((target) => target.pass);
    log(`\ntargets: ${result.targets.allPass ? 'PASS' : 'MISS'}`);
    await publishResult(resultPath('webhooks', startedAt), result);
  } finally {
    await platform?.close();
    await receiver.close();
    await rm(scratch.dir, { recursive: true, force: true });
  }
}

if (isMainThread) await runMain('webhooks', main);
else if (workerData?.role === 'receiver') receiverThread();
