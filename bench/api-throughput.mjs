#!/usr/bin/env node
// API throughput: an authenticated `GET /v1/projects/{id}` (viewer API key) against the unauthenticated
// `GET /healthz` baseline, in the same run, on the real server in its own child process.
//
//   npm run bench                                   # tsc -b, then this file with the defaults
//   node bench/api-throughput.mjs [--duration 10] [--warmup 2] [--connections 32] [--runs 2]
//   node bench/api-throughput.mjs --profile         # CPU profile of the server under the authenticated load
//
// Progress goes to stderr; the result JSON goes to stdout and to bench/results/. See bench/README.md.

import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { formatSummary, summarizeCpuProfile } from './cpuprofile-summary.mjs';
import {
  BenchError,
  environment,
  fileTimestamp,
  log,
  machineCpuSeconds,
  median,
  parseOptions,
  percentiles,
  publishResult,
  RESULTS_DIR,
  requireBuilt,
  resultPath,
  round,
  runMain,
} from './lib.mjs';
import {
  api,
  createProject,
  peakRssMiB,
  processCpuSeconds,
  RATE_LIMIT,
  SERVER_MAIN,
  startServer,
  stopServer,
} from './server.mjs';

const TARGETS = { minAuthReqPerSec: 10_000, maxAuthP99Ms: 20, minAuthToHealthz: 0.7 };

const USAGE = `usage: node bench/api-throughput.mjs [options]
  --duration <s>       measured seconds per run (default 10)
  --warmup <s>         warm-up seconds before every measured run (default 2)
  --connections <n>    concurrent connections (default 32)
  --runs <n>           measured runs per target, interleaved healthz/auth (default 2: ABAB)
  --profile            profile the server (node --cpu-prof) under one authenticated run instead;
                       writes the .cpuprofile and its summary to bench/results/
  --profile-target <t> authenticated (default) or healthz, with --profile
  --help`;

const OPTIONS = {
  duration: { default: '10', min: 1, max: 600, integer: true },
  warmup: { default: '2', min: 0, max: 60, integer: true },
  connections: { default: '32', min: 1, max: 1000, integer: true },
  runs: { default: '2', min: 1, max: 10, integer: true },
  profile: { type: 'boolean' },
  'profile-target': { default: 'authenticated', choices: ['authenticated', 'healthz'] },
};

// ---------------------------------------------------------------------------------------------------
// Setup through the API

async function createTenant(baseUrl, adminKey) {
  const { projectId, secret } = await createProject(baseUrl, adminKey, 'viewer');
  // The measured request must be the real thing: 200 with the project, and 401 without the key.
  const got = await api(baseUrl, 'GET', `/v1/projects/${projectId}`, secret, undefined, 200);
  if (got.id !== projectId) throw new BenchError(`GET /v1/projects/${projectId} returned ${got.id}`);
  const anonymous = await fetch(`${baseUrl}/v1/projects/${projectId}`, {
    signal: AbortSignal.timeout(10_000),
  });
  await anonymous.arrayBuffer();
  if (anonymous.status !== 401) {
    throw new BenchError(`GET /v1/projects/{id} without a key answered ${anonymous.status}, expected 401`);
  }
  return { projectId: projectId, secret: secret };
}

// ---------------------------------------------------------------------------------------------------
// Load

/** One autocannon run. Latency percentiles come from our own µs histogram (autocannon's are whole ms). */
async function load(server, target, seconds, connections) {
  const latency = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  const instance = autocannon({
    url: `${server.baseUrl}${target.path}`,
    method: 'GET',
    headers: target.headers,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
  });
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode >= 200 && statusCode < 300) latency.record(Math.max(1, Math.round(responseTimeMs * 1000)));
  });
  const cpuBefore = process.cpuUsage();
  const serverCpuBefore = await processCpuSeconds(server.child.pid);
  const machineBefore = await machineCpuSeconds();
  const started = process.hrtime.bigint();
  const result = await instance;
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const serverCpuAfter = await processCpuSeconds(server.child.pid);
  const machineAfter = await machineCpuSeconds();
  const cpu = process.cpuUsage(cpuBefore);
  const serverCpuCores =
    serverCpuBefore === null || serverCpuAfter === null
      ? null
      : (serverCpuAfter - serverCpuBefore) / wallSeconds;
  const benchCpuCores = (cpu.user + cpu.system) / 1e6 / wallSeconds;
  const machine =
    machineBefore === null || machineAfter === null
      ? null
      : {
          processes: (machineAfter.processes - machineBefore.processes) / wallSeconds,
          interrupts: (machineAfter.interrupts - machineBefore.interrupts) / wallSeconds,
        };
  const ms = (us) => round(us / 1000, 3);
  return {
    target: target.name,
    reqPerSec: round(result.requests.mean, 0),
    reqPerSecStddev: round(result.requests.stddev, 0),
    latencyMs: {
      ...percentiles(latency, [50, 90, 99], 1000),
      max: ms(latency.max),
      mean: ms(latency.mean),
    },
    autocannonLatencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99 },
    totalRequests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
    ),
    durationSeconds: result.duration,
    serverCpuCores: serverCpuCores === null ? null : round(serverCpuCores),
    benchCpuCores: round(benchCpuCores),
    // CPU the rest of the machine used meanwhile: other work on a shared machine competes for the 2 cores.
    otherCpuCores:
      machine === null || serverCpuCores === null
        ? null
        : round(Math.max(0, machine.processes - serverCpuCores - benchCpuCores)),
    interruptCpuCores: machine === null ? null : round(machine.interrupts),
    windowUs: { startUs: Number(started / 1000n), endUs: Number(process.hrtime.bigint() / 1000n) },
  };
}

/** Every response must be a 2xx: a benchmark of 401s or 429s measures nothing worth knowing. */
function check(run, phase) {
  if (run.non2xx > 0 || run.errors > 0 || run.totalRequests === 0) {
    throw new BenchError(
      `${phase} of ${run.target}: ${run.non2xx} non-2xx responses and ${run.errors} errors ` +
        `(${run.timeouts} timeouts) of ${run.totalRequests}; status codes ${JSON.stringify(run.statusCodes)}`,
    );
  }
}

async function measure(server, target, options) {
  if (options.warmup > 0) {
    check(await load(server, target, options.warmup, options.connections), 'warm-up');
  }
  const run = await load(server, target, options.duration, options.connections);
  check(run, 'measured run');
  log(
    `  ${target.name.padEnd(13)} ${String(run.reqPerSec).padStart(7)} req/s  ` +
      `p50 ${run.latencyMs.p50} ms  p90 ${run.latencyMs.p90} ms  p99 ${run.latencyMs.p99} ms  ` +
      `(CPU cores: server ${run.serverCpuCores}, load generator ${run.benchCpuCores}, other processes ${run.otherCpuCores}, ` +
      `interrupts ${run.interruptCpuCores})`,
  );
  return run;
}

function summarize(runs) {
  const total = (key) => runs.reduce((sum, run) => sum + run[key], 0);
  const latency = (p) => ({
    best: Math.min(...runs.map((run) => run.latencyMs[p])),
    median: round(median(runs.map((run) => run.latencyMs[p])), 3),
  });
  return {
    runs: runs.length,
    reqPerSec: {
      best: Math.max(...runs.map((run) => run.reqPerSec)),
      median: round(median(runs.map((run) => run.reqPerSec)), 0),
    },
    latencyMs: { p50: latency('p50'), p90: latency('p90'), p99: latency('p99') },
    totalRequests: total('totalRequests'),
    non2xx: total('non2xx'),
    errors: total('errors'),
  };
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const options = parseOptions(USAGE, OPTIONS);
  requireBuilt(SERVER_MAIN, 'build first (npx tsc -b, or use npm run bench)');
  const startedAt = new Date();
  const profileName = `api-throughput-${fileTimestamp(startedAt)}.server.cpuprofile`;
  await mkdir(RESULTS_DIR, { recursive: true });

  const dataDir = await mkdtemp(join(os.tmpdir(), 'persona-bench-'));
  const bootstrapKey = `sk_${randomBytes(32).toString('base64url')}`;
  let server = null;
  let serverExit = null;

  // Bounded in time: everything, including start and stop, must fit in this budget.
  const perTarget = options.profile ? 1 : options.runs * 2;
  const budgetMs = (perTarget * (options.warmup + options.duration) + 120) * 1000;
  const watchdog = setTimeout(() => {
    log(`benchmark exceeded its time budget of ${budgetMs / 1000} s; stopping`);
    if (server) server.child.kill('SIGKILL');
    rm(dataDir, { recursive: true, force: true }).finally(() => process.exit(1));
  }, budgetMs);
  watchdog.unref();
  // Interrupted (Ctrl-C): stop the server and remove the temporary directory before leaving.
  const interrupted = (signal) => {
    log(`${signal}: stopping`);
    const stopping = server ? stopServer(server).catch(() => {}) : Promise.resolve();
    stopping
      .then(() => rm(dataDir, { recursive: true, force: true }))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    log(
      `api-throughput: node ${process.version}, ${os.availableParallelism()} CPUs, ` +
        `${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s per run` +
        (options.profile
          ? `, profiling the server under ${options.profileTarget}`
          : `, ${options.runs}× ABAB`),
    );
    const env = environment();
    const nodeArgs = options.profile
      ? ['--cpu-prof', `--cpu-prof-dir=${RESULTS_DIR}`, `--cpu-prof-name=${profileName}`]
      : [];
    server = await startServer({ dataDir, bootstrapKey, nodeArgs });
    const tenant = await createTenant(server.baseUrl, bootstrapKey);
    const targets = {
      healthz: { name: 'healthz', path: '/healthz', headers: {} },
      authenticated: {
        name: 'authenticated',
        path: `/v1/projects/${tenant.projectId}`,
        headers: { authorization: `Bearer ${tenant.secret}` },
      },
    };

    const runs = [];
    if (options.profile) {
      runs.push({ ...(await measure(server, targets[options.profileTarget], options)), order: 1 });
    } else {
      for (let pair = 0; pair < options.runs; pair++) {
        for (const target of [targets.healthz, targets.authenticated]) {
          runs.push({ ...(await measure(server, target, options)), order: runs.length + 1 });
        }
      }
    }

    const peakRss = await peakRssMiB(server.child.pid);
    serverExit = await stopServer(server);
    server = null;

    const byTarget = (name) => runs.filter((run) => run.target === name);
    const summary = {};
    for (const name of ['healthz', 'authenticated']) {
      if (byTarget(name).length > 0) summary[name] = summarize(byTarget(name));
    }
    const auth = summary.authenticated;
    const health = summary.healthz;
    const ratio =
      auth && health
        ? {
            best: round(auth.reqPerSec.best / health.reqPerSec.best, 3),
            median: round(auth.reqPerSec.median / health.reqPerSec.median, 3),
          }
        : null;

    const result = {
      benchmark: 'api-throughput',
      timestamp: new Date().toISOString(),
      ...env,
      config: {
        durationSeconds: options.duration,
        warmupSeconds: options.warmup,
        connections: options.connections,
        pipelining: 1,
        runsPerTarget: options.profile ? 1 : options.runs,
        order: options.profile
          ? `${options.profileTarget} only (profiling)`
          : 'healthz, authenticated, alternating',
        authenticatedRequest: 'GET /v1/projects/{id} with a viewer project API key (Bearer)',
        baselineRequest: 'GET /healthz, no authentication',
        server: {
          process: 'separate child process (node packages/server/dist/main.js)',
          database: 'SQLite in a fresh temporary directory',
          logLevel: 'warn',
          rateLimits: `PERSONA_RATE_LIMIT_KEY and PERSONA_RATE_LIMIT_PROJECT = ${RATE_LIMIT}: the limiter runs on every request but never refuses, so this measures the request path, not the limit`,
          cpuProfiler: options.profile,
        },
        latencySource:
          'per-response µs histogram of 2xx responses (autocannonLatencyMs: autocannon, whole ms)',
      },
      runs: runs.map(({ windowUs, ...run }) => run),
      summary: { ...summary, authenticatedToHealthzRatio: ratio },
      server: { peakRssMiB: peakRss, exit: serverExit },
    };

    if (options.profile) {
      result.targets = { skipped: 'profiled run: the CPU profiler slows the server, so no target is judged' };
      const file = join(RESULTS_DIR, profileName);
      const found = (await readdir(RESULTS_DIR)).includes(profileName);
      if (!found) throw new BenchError(`the server exited without writing ${file}`);
      const profile = JSON.parse(await readFile(file, 'utf8'));
      const measured = runs[0].windowUs;
      const profileSummary = summarizeCpuProfile(profile, { top: 25, windowUs: measured });
      await writeFile(
        file.replace(/\.cpuprofile$/, '.summary.json'),
        `${JSON.stringify(profileSummary, null, 2)}\n`,
      );
      result.profile = { file: `bench/results/${profileName}`, summary: profileSummary };
      log(`\n${formatSummary(profileSummary)}\n`);
    } else {
      const authRps = auth.reqPerSec;
      const authP99 = auth.latencyMs.p99;
      result.targets = {
        basis:
          'best of the runs (on a shared machine noise only slows a run down); median shown for comparison',
        authReqPerSec: {
          target: `>= ${TARGETS.minAuthReqPerSec}`,
          value: authRps.best,
          median: authRps.median,
          pass: authRps.best >= TARGETS.minAuthReqPerSec,
        },
        authP99Ms: {
          target: `< ${TARGETS.maxAuthP99Ms}`,
          value: authP99.best,
          median: authP99.median,
          pass: authP99.best < TARGETS.maxAuthP99Ms,
        },
        authToHealthz: {
          target: `>= ${TARGETS.minAuthToHealthz}`,
          value: ratio.best,
          median: ratio.median,
          pass: ratio.best >= TARGETS.minAuthToHealthz,
        },
      };
      result.targets.allPass =
        result.targets.authReqPerSec.pass &&
        result.targets.authP99Ms.pass &&
        result.targets.authToHealthz.pass;
    }

    if (!options.profile) {
      const t = result.targets;
      log(
        `\nhealthz ${health.reqPerSec.best} req/s, authenticated ${auth.reqPerSec.best} req/s ` +
          `(p99 ${auth.latencyMs.p99.best} ms), ratio ${ratio.best}; peak server RSS ${peakRss} MiB\n` +
          `targets: req/s ${t.authReqPerSec.pass ? 'PASS' : 'MISS'}, p99 ${t.authP99Ms.pass ? 'PASS' : 'MISS'}, ` +
          `vs healthz ${t.authToHealthz.pass ? 'PASS' : 'MISS'}`,
      );
    }
    await publishResult(resultPath('api-throughput', startedAt, options.profile ? '.profiled' : ''), result);
  } finally {
    if (server) {
      await stopServer(server).catch(() => {});
      if (server.stderr.text) log(`server stderr:\n${server.stderr.text}`);
    }
    await rm(dataDir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
}

await runMain('api-throughput', main);
