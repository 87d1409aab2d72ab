#!/usr/bin/env node
// The ephemeral-store node (issue 6): single-node PUT and GET of 1 KiB over HTTP next to Redis SET/GET of
// 1 KiB through ioredis at the same concurrency, memory per stored 1 KiB item, and sweep cost with
// 1,000,000 live entries. See bench/README.md "ephemeral-node.mjs" for the method.
//
// Sections run in order and each adds its part to the result; a section is a function
// `(options, context) => Promise<object>` in SECTIONS, so another one (e.g. quorum PUT on a 3-node
// cluster) is added by writing its function and listing its name.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import {
  BenchError,
  cpuMeter,
  environment,
  importBuilt,
  log,
  median,
  ownPeakRssMiB,
  parseOptions,
  percentiles,
  publishResult,
  REPO_ROOT,
  requireBuilt,
  resultPath,
  round,
  runMain,
} from './lib.mjs';

const USAGE = `usage: node bench/ephemeral-node.mjs [options]
  --sections LIST     comma list of: http, redis, memory, quorum (default: all)
  --seconds N         measured seconds per HTTP/Redis run (default 10)
  --warmup N          unmeasured warm-up seconds before each run (default 2)
  --connections N     concurrent clients for HTTP and Redis alike (default 50)
  --items N           items for the memory and sweep measurement (default 1000000)
  --redis-url URL     Redis for the baseline (default redis://127.0.0.1:6379)`;

const VALUE_BYTES = 1024;
const CLI_MAIN = `${REPO_ROOT}packages/cli/dist/main.js`;
const BUILD_HINT = 'run "npx tsc -b packages/cli" first';

const ms = (us) => round(us / 1000, 3);

function latencySummary(histogram) {
  return { ...percentiles(histogram, [50, 95, 99], 1000), max: ms(histogram.max) };
}

// The node under test: `persona node start` in its own process, as a user runs it.

async function startNode() {
  requireBuilt(CLI_MAIN, BUILD_HINT);
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('PERSONA_') && !name.startsWith('REPRAM_'),
    ),
  );
  const child = spawn(process.execPath, [CLI_MAIN, 'node', 'start'], {
    env: { ...env, PERSONA_NODE_HOST: '127.0.0.1', REPRAM_HTTP_PORT: '0', REPRAM_RATE_LIMIT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new BenchError(`node did not start: ${output}`)), 15_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new BenchError(`node exited with ${code}: ${output}`)));
  });
  return { child, url };
}

async function stopNode(node) {
  const exited = new Promise((resolve) => node.child.once('exit', resolve));
  node.child.kill('SIGTERM');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function peakRssMiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
  return Number.isFinite(kib) && kib > 0 ? round(kib / 1024, 1) : null;
}

/** One autocannon run; latency from our own µs histogram of 2xx responses (autocannon's are whole ms). */
async function httpRun({ url, method, path, body, seconds, connections, expect }) {
  const latency = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  let unexpected = 0;
  const instance = autocannon({
    url,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: [{ method, body, setupRequest: (request) => ({ ...request, path: path() }) }],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode === expect) latency.record(Math.max(1, Math.round(responseTimeMs * 1000)));
    else unexpected++;
  });
  const result = await instance;
  if (unexpected > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new BenchError(`${method}: ${unexpected} responses other than ${expect}, ${result.errors} errors`);
  }
  return {
    opsPerSec: round(result.requests.total / result.duration, 0),
    latencyMs: latencySummary(latency),
    totalRequests: result.requests.total,
  };
}

async function httpSection(options, context) {
  const node = await startNode();
  log(`node at ${node.url} (pid ${node.child.pid})`);
  const value = randomBytes(VALUE_BYTES);
  let written = 0;
  const putPath = () => `/v1/data/bench/${written++}`;
  try {
    const base = { url: node.url, connections: options.connections };
    await httpRun({
      ...base,
      method: 'PUT',
      body: value,
      path: putPath,
      seconds: options.warmup,
      expect: 201,
    });
    const put = await httpRun({
      ...base,
      method: 'PUT',
      body: value,
      path: putPath,
      seconds: options.seconds,
      expect: 201,
    });
    log(`PUT 1 KiB: ${put.opsPerSec}/s  p50 ${put.latencyMs.p50} ms  p99 ${put.latencyMs.p99} ms`);
    const keys = written;
    let read = 0;
    // Read back keys that exist, walking all of them (a 404 would end the run as a broken measurement).
    const getPath = () => `/v1/data/bench/${read++ % keys}`;
    await httpRun({ ...base, method: 'GET', path: getPath, seconds: options.warmup, expect: 200 });
    const get = await httpRun({
      ...base,
      method: 'GET',
      path: getPath,
      seconds: options.seconds,
      expect: 200,
    });
    log(`GET 1 KiB: ${get.opsPerSec}/s  p50 ${get.latencyMs.p50} ms  p99 ${get.latencyMs.p99} ms`);
    context.nodeItems = keys;
    return { put, get, storedItems: keys, nodePeakRssMiB: await peakRssMiB(node.child.pid) };
  } finally {
    await stopNode(node);
  }
}

// Redis baseline: the same number of clients, each a connection doing one command at a time (what
// autocannon does with pipelining 1), so both sides get the same concurrency and no pipelining.

const REDIS_KEYS_PER_CLIENT = 10_000;
const redisKey = (client, i) => `persona-bench:ephemeral:${client}:${i}`;

/**
 * Every client runs `command(client, index, i)` back to back for `seconds`; `i` counts that client's
 * commands in this run.
 */
async function redisRun(clients, seconds, command) {
  const latency = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  const meter = await cpuMeter();
  const deadline = performance.now() + seconds * 1000;
  let total = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client, index) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const begin = performance.now();
        await command(client, index, i);
        latency.record(Math.max(1, Math.round((performance.now() - begin) * 1000)));
        total++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  // The client side is one Node process; its CPU use shows when it, not Redis, is the limit.
  const { cpuCores } = await meter.stop();
  return {
    opsPerSec: round(total / elapsed, 0),
    latencyMs: latencySummary(latency),
    totalRequests: total,
    clientCpuCores: cpuCores,
  };
}

async function redisSection(options) {
  const { default: Redis } = await import('ioredis');
  const clients = Array.from(
    { length: options.connections },
    () =>
      new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false }),
  );
  try {
    await Promise.all(clients.map((client) => client.connect()));
  } catch (error) {
    await Promise.all(clients.map((client) => client.quit().catch(() => {})));
    throw new BenchError(`Redis at ${options.redisUrl}: ${error.message}`);
  }
  const value = randomBytes(VALUE_BYTES);
  try {
    // Each client writes its own keys (at most REDIS_KEYS_PER_CLIENT, then overwrites) and reads back
    // only keys it has written, as the HTTP GET run does.
    const written = clients.map(() => 0);
    const set = (client, index) => {
      const slot = written[index] % REDIS_KEYS_PER_CLIENT;
      written[index]++;
      return client.set(redisKey(index, slot), value, 'EX', 3600);
    };
    const get = async (client, index, i) => {
      const key = redisKey(index, i % Math.min(written[index], REDIS_KEYS_PER_CLIENT));
      if ((await client.getBuffer(key)) === null) throw new BenchError(`Redis lost ${key}`);
    };
    await redisRun(clients, options.warmup, set);
    const setRun = await redisRun(clients, options.seconds, set);
    log(
      `Redis SET 1 KiB: ${setRun.opsPerSec}/s  p50 ${setRun.latencyMs.p50} ms  p99 ${setRun.latencyMs.p99} ms`,
    );
    await redisRun(clients, options.warmup, get);
    const getRun = await redisRun(clients, options.seconds, get);
    log(
      `Redis GET 1 KiB: ${getRun.opsPerSec}/s  p50 ${getRun.latencyMs.p50} ms  p99 ${getRun.latencyMs.p99} ms`,
    );
    const info = await clients[0].info('server');
    for (let c = 0; c < options.connections; c++) {
      await clients[0].del(...Array.from({ length: REDIS_KEYS_PER_CLIENT }, (_, i) => redisKey(c, i)));
    }
    return {
      version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      client: `ioredis, ${options.connections} connections, one command in flight each`,
      set: setRun,
      get: getRun,
    };
  } finally {
    await Promise.all(clients.map((client) => client.quit().catch(() => {})));
  }
}

// Memory and sweep: the store in a child process started with --expose-gc, so collections are forced
// before both measurements and nothing else lives in that heap.

async function memoryChild(items, mode) {
  const { MemoryStore } = await importBuilt(
    'packages/node/dist/index.js',
    'run "npx tsc -b packages/node" first',
  );
  const { createHash } = await import('node:crypto');
  const T0 = Date.now();
  let now = T0;
  const value = randomBytes(VALUE_BYTES);
  // Keys as the HTTP layer produces them: flat strings decoded from the request (not concatenations).
  const keyOf = (i) => Buffer.from(`bench/${i.toString(36).padStart(8, '0')}`).toString('utf8');
  const origin = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';
  const expiring = Math.floor(items / 100);
  const SWEEP_ROUNDS = 3;
  const listedOwner = { kind: 'token-sha256', hash: createHash('sha256').update('listed owner').digest() };
  const time = (fn) => {
    const start = process.hrtime.bigint();
    const result = fn();
    return { ms: round(Number(process.hrtime.bigint() - start) / 1e6, 3), result };
  };

  /**
   * Fills a store with `items` 1 KiB values; 1% expire 5 s from T0, the rest spread over the next hour
   * (one expiry bucket per second). `capability(i)` gives each item's owner, as the HTTP layer passes it
   * (a fresh Uint8Array per request). Returns the store and heap+external bytes per item.
   */
  function fill(capability) {
    globalThis.gc();
    globalThis.gc();
    const before = process.memoryUsage();
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => now });
    for (let i = 0; i < items; i++) {
      // Three groups of 1% expire at T0+5 s, +6 s and +7 s; the rest over the next hour.
      const group = Math.floor(i / expiring);
      const expiresAt = group < SWEEP_ROUNDS ? T0 + 5_000 + group * 1000 : T0 + 60_000 + (i % 3_540) * 1000;
      const entry = {
        key: keyOf(i),
        value,
        createdAt: T0,
        expiresAt,
        ttlSeconds: 3600,
        origin,
        capability: capability(i),
      };
      const outcome = store.apply(entry);
      if (outcome !== 'stored') throw new Error(`item ${i}: ${outcome}`);
    }
    globalThis.gc();
    globalThis.gc();
    const after = process.memoryUsage();
    const heap = after.heapUsed - before.heapUsed;
    const external = after.external - before.external;
    const perItem = (heap + external) / items;
    return {
      store,
      memory: {
        heapBytesPerItem: round(heap / items, 1),
        externalBytesPerItem: round(external / items, 1),
        bytesPerItem: round(perItem, 1),
        kibPerItem: round(perItem / 1024, 3),
        rssMiB: round(after.rss / 1048576, 1),
      },
    };
  }

  if (mode === 'token') {
    // Every value with its own write token (what the SDK sends); 1 in 1,000 share one owner, whose key
    // listing is timed.
    const { store, memory } = fill((i) =>
      i % 1000 === 0
        ? listedOwner
        : { kind: 'token-sha256', hash: createHash('sha256').update(String(i)).digest() },
    );
    const listing = time(() => store.ownedKeys(listedOwner, '', ''));
    if (listing.result.length !== items / 1000) throw new Error(`listed ${listing.result.length} keys`);
    return {
      ...memory,
      keyListing: { liveEntries: items, ownerKeys: listing.result.length, ms: listing.ms },
    };
  }

  // Values without a write capability (REPRAM clients), then the sweep with all of them live: nothing
  // due, then 1% due (the store's clock is injected).
  const { store, memory } = fill(() => undefined);
  now = T0 + 1_000;
  const idle = [];
  for (let i = 0; i < 5; i++) {
    now += 100;
    idle.push(time(() => store.sweep()).ms);
  }
  // Expiry is indexed by whole seconds, so entries due at T0+5 s are all swept by T0+6 s.
  const rounds = [];
  for (let sweepRound = 0; sweepRound < SWEEP_ROUNDS; sweepRound++) {
    now = T0 + 6_000 + sweepRound * 1000;
    const due = time(() => store.sweep());
    if (due.result !== expiring) throw new Error(`swept ${due.result}, expected ${expiring}`);
    rounds.push(due.ms);
  }
  const dueMs = median(rounds);
  return {
    ...memory,
    sweep: {
      liveEntries: items,
      noneDueMs: { median: idle.sort((a, b) => a - b)[2], max: Math.max(...idle) },
      onePercentDue: {
        expired: expiring,
        ms: round(dueMs, 3),
        rounds,
        usPerExpired: round((dueMs * 1000) / expiring, 3),
      },
    },
  };
}

/** Runs memoryChild in a fresh process started with --expose-gc, so nothing else lives in its heap. */
async function memoryProcess(items, mode) {
  const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url)], {
    env: { ...process.env, EPHEMERAL_BENCH_MEMORY_CHILD: `${items}:${mode}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new BenchError(`memory child (${mode}) exited with ${code}`);
  return JSON.parse(output);
}

async function memorySection(options) {
  const plain = await memoryProcess(options.items, 'plain');
  const withWriteToken = await memoryProcess(options.items, 'token');
  const result = { items: options.items, valueBytes: VALUE_BYTES, ...plain, withWriteToken };
  log(
    `memory: ${result.bytesPerItem} bytes per 1 KiB item (${result.kibPerItem} KiB), ` +
      `${withWriteToken.bytesPerItem} with a write token each; ` +
      `owner key listing among ${result.items}: ${withWriteToken.keyListing.ms} ms; ` +
      `sweep of ${result.items} live: ${result.sweep.noneDueMs.median} ms with none due, ` +
      `${result.sweep.onePercentDue.ms} ms for ${result.sweep.onePercentDue.expired} due`,
  );
  return result;
}

// Quorum PUT: three nodes running the libp2p cluster (bench/ephemeral-cluster-node.mjs), each in its own
// process, R = 3 (every write on all three, 201 at a majority of 2); 1 KiB PUTs to one node at the same
// concurrency as the single-node run. The second and third node join through the first one's
// `host:httpPort` (REPRAM_PEERS), as a REPRAM deployment would configure them.

const CLUSTER_NODE = `${REPO_ROOT}bench/ephemeral-cluster-node.mjs`;
const FLOOR_NODE = `${REPO_ROOT}bench/ephemeral-floor-node.mjs`;

/** Starts `script` with `env` (no PERSONA_ or REPRAM_ variable of the caller); returns its first stdout line, parsed. */
async function spawnNode(script, label, env) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('PERSONA_') && !name.startsWith('REPRAM_'),
    ),
  );
  const child = spawn(process.execPath, [script], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new BenchError(`${label} did not start`)), 15_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const newline = output.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(output.slice(0, newline));
      }
    });
    child.once('exit', (code) => reject(new BenchError(`${label} exited with ${code}`)));
  });
  return { child, ...JSON.parse(line) };
}

function startClusterNode(index, extraEnv) {
  return spawnNode(CLUSTER_NODE, `cluster node ${index}`, {
    PERSONA_NODE_HOST: '127.0.0.1',
    REPRAM_HTTP_PORT: '0',
    REPRAM_GOSSIP_PORT: '0',
    REPRAM_RATE_LIMIT: '0',
    REPRAM_REPLICATION: '3',
    PERSONA_NODE_LOG_LEVEL: 'silent',
    PERSONA_NODE_DATA_DIR: `${extraEnv.dataDir}/node-${index}`,
    ...(extraEnv.peers ? { REPRAM_PEERS: extraEnv.peers } : {}),
  });
}

/** 1 KiB PUTs to fresh keys on `node` (every answer 201): a warm-up, then the measured run. */
async function quorumPuts(label, node, options, value) {
  let written = 0;
  const base = {
    url: node.url,
    connections: options.connections,
    method: 'PUT',
    body: value,
    path: () => `/v1/data/quorum/${written++}`,
    expect: 201,
  };
  await httpRun({ ...base, seconds: options.warmup });
  const put = await httpRun({ ...base, seconds: options.seconds });
  log(`${label}: ${put.opsPerSec}/s  p50 ${put.latencyMs.p50} ms  p99 ${put.latencyMs.p99} ms`);
  return put;
}

/**
 * The floor (bench/ephemeral-floor-node.mjs): three nodes that do nothing but a quorum PUT on the same
 * libp2p stack, measured with the same load as the cluster. Each dials the ones started before it.
 */
async function measureQuorumFloor(options, value) {
  const nodes = [];
  try {
    for (let index = 0; index < 3; index++) {
      const peers = nodes.map((node) => node.multiaddr).join(',');
      nodes.push(await spawnNode(FLOOR_NODE, `floor node ${index}`, { FLOOR_PEERS: peers }));
    }
    return await quorumPuts('floor (libp2p alone, bench/ephemeral-floor-node.mjs)', nodes[0], options, value);
  } finally {
    await Promise.all(nodes.map((node) => stopNode(node)));
  }
}

async function waitForMesh(nodes) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const counts = await Promise.all(
      nodes.map(async (node) => ((await (await fetch(`${node.url}/v1/topology`)).json()).peers ?? []).length),
    );
    if (counts.every((count) => count === nodes.length - 1)) return;
    if (Date.now() > deadline)
      throw new BenchError(`the cluster did not mesh (peer counts ${counts.join(', ')})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function quorumSection(options) {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dataDir = await mkdtemp(`${tmpdir()}/persona-bench-quorum-`);
  const nodes = [];
  try {
    nodes.push(await startClusterNode(0, { dataDir }));
    const peers = new URL(nodes[0].url).host;
    nodes.push(await startClusterNode(1, { dataDir, peers }), await startClusterNode(2, { dataDir, peers }));
    await waitForMesh(nodes);
    const value = randomBytes(VALUE_BYTES);
    // The measured path must really replicate: a PUT on one node is on all three replicas.
    const probe = await fetch(`${nodes[0].url}/v1/data/probe`, { method: 'PUT', body: value });
    const probeBody = await probe.json();
    if (probe.status !== 201 || probeBody.replicas.total !== 3 || probeBody.replicas.required !== 2) {
      throw new BenchError(`probe PUT answered ${probe.status} ${JSON.stringify(probeBody)}`);
    }
    for (const node of nodes) {
      const got = await fetch(`${node.url}/v1/data/probe`);
      if (!Buffer.from(await got.arrayBuffer()).equals(value))
        throw new BenchError(`probe missing on ${node.url}`);
    }
    log(`3-node cluster: ${nodes.map((node) => node.url).join(', ')}`);
    const put = await quorumPuts('quorum PUT 1 KiB (R=3)', nodes[0], options, value);
    const rss = await Promise.all(nodes.map((node) => peakRssMiB(node.child.pid)));
    await Promise.all(nodes.splice(0).map((node) => stopNode(node)));
    const floor = await measureQuorumFloor(options, value);
    return { put, nodes: 3, replication: 3, required: 2, nodePeakRssMiB: rss, floor };
  } finally {
    await Promise.all(nodes.map((node) => stopNode(node)));
    await rm(dataDir, { recursive: true, force: true });
  }
}

const SECTIONS = { http: httpSection, redis: redisSection, memory: memorySection, quorum: quorumSection };

function targets(result) {
  const list = [];
  const add = (name, target, value, pass) => list.push({ name, target, value, pass });
  if (result.http) {
    add(
      'single-node GET 1 KiB ops/s',
      '>= 20000',
      result.http.get.opsPerSec,
      result.http.get.opsPerSec >= 20_000,
    );
    add(
      'single-node PUT 1 KiB ops/s',
      '>= 15000',
      result.http.put.opsPerSec,
      result.http.put.opsPerSec >= 15_000,
    );
  }
  if (result.quorum) {
    add(
      'quorum PUT 1 KiB ops/s (3 nodes, R=3)',
      '>= 5000',
      result.quorum.put.opsPerSec,
      result.quorum.put.opsPerSec >= 5_000,
    );
    add('quorum PUT p99 ms', '< 25', result.quorum.put.latencyMs.p99, result.quorum.put.latencyMs.p99 < 25);
  }
  if (result.memory) {
    add(
      'bytes per stored 1 KiB item',
      '<= 1331.2 (1.3 KiB)',
      result.memory.bytesPerItem,
      result.memory.bytesPerItem <= 1331.2,
    );
  }
  return { list, allPass: list.every((target) => target.pass) };
}

async function main() {
  const options = parseOptions(USAGE, {
    sections: { default: 'http,redis,memory,quorum' },
    seconds: { default: '10', min: 1, max: 600, integer: true },
    warmup: { default: '2', min: 1, max: 60, integer: true },
    connections: { default: '50', min: 1, max: 1000, integer: true },
    items: { default: '1000000', min: 1000, max: 10_000_000, integer: true },
    'redis-url': { default: 'redis://127.0.0.1:6379' },
  });
  const sections = options.sections.split(',').map((name) => name.trim());
  for (const name of sections) {
    if (!(name in SECTIONS))
      throw new BenchError(`unknown section "${name}" (known: ${Object.keys(SECTIONS).join(', ')})`);
  }
  const started = new Date();
  const result = {
    benchmark: 'ephemeral-node',
    ...environment(),
    note: 'shared machine: the load generator, the node and Redis share the same cores',
    config: {
      seconds: options.seconds,
      warmup: options.warmup,
      connections: options.connections,
      valueBytes: VALUE_BYTES,
      items: options.items,
      http: 'autocannon, pipelining 1; node via `persona node start`, REPRAM_RATE_LIMIT=0, own process',
    },
  };
  const context = {};
  for (const name of sections) {
    log(`--- ${name}`);
    result[name] = await SECTIONS[name](options, context);
  }
  if (result.http && result.redis) {
    result.ratioToRedis = {
      put: round(result.http.put.opsPerSec / result.redis.set.opsPerSec, 3),
      get: round(result.http.get.opsPerSec / result.redis.get.opsPerSec, 3),
    };
  }
  result.benchPeakRssMiB = ownPeakRssMiB();
  result.targets = targets(result);
  await publishResult(resultPath('ephemeral-node', started), result);
}

if (process.env.EPHEMERAL_BENCH_MEMORY_CHILD) {
  const [items, mode] = process.env.EPHEMERAL_BENCH_MEMORY_CHILD.split(':');
  memoryChild(Number(items), mode).then(
    (result) => process.stdout.write(JSON.stringify(result)),
    (error) => {
      process.stderr.write(`${error.stack}\n`);
      process.exit(1);
    },
  );
} else {
  runMain('ephemeral-node', main);
}
