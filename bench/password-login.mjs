#!/usr/bin/env node
// Password logins: `POST /p/{projectId}/auth/login` (Argon2id with OWASP parameters, a session created and
// audited per login) on the real server in its own child process, against the baseline measured in the
// same run: Argon2id verifications per second in this process with the same parameters and concurrency.
//
//   node bench/password-login.mjs [--duration 10] [--warmup 2] [--connections 4] [--users 8]
//
// Progress goes to stderr; the result JSON goes to stdout and to bench/results/. See bench/README.md.

import os from 'node:os';
import { createHistogram } from 'node:perf_hooks';
import { hash, verify } from '@node-rs/argon2';
import {
  BenchError,
  cpuMeter,
  environment,
  log,
  ownPeakRssMiB,
  parseOptions,
  percentiles,
  publishResult,
  requireBuilt,
  resultPath,
  round,
  runMain,
} from './lib.mjs';
import { api, peakRssMiB, processCpuSeconds, SERVER_MAIN, withServerRun } from './server.mjs';

/** The target: password logins per second per core the server uses. */
const TARGET_PER_CORE = 30;
/** What the server hashes with (packages/server/src/modules/identity/passwords.ts: OWASP_ARGON2). */
const OWASP = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const PASSWORD = 'bench-lantern-meadow-42';
const BUILD_HINT = 'run `npx tsc -b` first';

const USAGE = `usage: node bench/password-login.mjs [options]
  --duration <s>      measured seconds, for the HTTP logins and for the baseline (default 10)
  --warmup <s>        warm-up seconds before each (default 2)
  --connections <n>   concurrent logins in flight, over HTTP and in the baseline (default 4)
  --users <n>         users the logins rotate over (default 8)
  --help`;

const OPTIONS = {
  duration: { default: '10', min: 1, max: 600, integer: true },
  warmup: { default: '2', min: 0, max: 60, integer: true },
  connections: { default: '4', min: 1, max: 256, integer: true },
  users: { default: '8', min: 1, max: 1000, integer: true },
};

/** Runs `operation` from `concurrency` loops for `seconds`; returns completions and a latency histogram. */
async function closedLoop(concurrency, seconds, operation) {
  const latency = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = worker; performance.now() < deadline; i += concurrency) {
        const t0 = performance.now();
        await operation(i);
        latency.record(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        done++;
      }
    }),
  );
  return { done, seconds: (performance.now() - started) / 1000, latency };
}

async function setUp(baseUrl, adminKey, users) {
  const org = await api(baseUrl, 'POST', '/v1/organizations', adminKey, { name: 'bench-org' }, 201);
  const project = await api(
    baseUrl,
    'POST',
    `/v1/organizations/${org.id}/projects`,
    adminKey,
    { name: 'bench' },
    201,
  );
  const usernames = [];
  for (let i = 0; i < users; i++) {
    const user = await api(
      baseUrl,
      'POST',
      `/v1/projects/${project.id}/users`,
      adminKey,
      { username: `bench-user-${i}`, password: PASSWORD },
      201,
    );
    usernames.push(user.username);
  }
  return { projectId: project.id, usernames };
}

async function login(baseUrl, projectId, username) {
  const response = await fetch(`${baseUrl}/p/${projectId}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identifier: username, password: PASSWORD }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.json();
  // Measuring refusals would be meaningless: every login must open a session.
  if (response.status !== 200 || body.status !== 'signed_in') {
    throw new BenchError(`login answered ${response.status}: ${JSON.stringify(body)}`);
  }
}

async function measureHttp(server, setup, options) {
  const operation = (i) =>
    login(server.baseUrl, setup.projectId, setup.usernames[i % setup.usernames.length]);
  if (options.warmup > 0) await closedLoop(options.connections, options.warmup, operation);
  const cpuBefore = await processCpuSeconds(server.child.pid);
  const machine = await cpuMeter();
  const run = await closedLoop(options.connections, options.duration, operation);
  const cpuAfter = await processCpuSeconds(server.child.pid);
  const serverCpuCores =
    cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / run.seconds;
  const loginsPerSec = run.done / run.seconds;
  return {
    logins: run.done,
    loginsPerSec: round(loginsPerSec, 1),
    serverCpuCores: serverCpuCores === null ? null : round(serverCpuCores),
    loginsPerSecPerServerCore: serverCpuCores ? round(loginsPerSec / serverCpuCores, 1) : null,
    latencyMs: percentiles(run.latency, [50, 95, 99], 1000),
    benchCpu: await machine.stop(),
  };
}

async function measureBaseline(options) {
  const phc = await hash(PASSWORD, OWASP);
  const operation = async () => {
    if (!(await verify(phc, PASSWORD))) throw new BenchError('the baseline verification failed');
  };
  if (options.warmup > 0) await closedLoop(options.connections, options.warmup, operation);
  const cpu = await cpuMeter();
  const run = await closedLoop(options.connections, options.duration, operation);
  const { cpuCores } = await cpu.stop();
  const perSec = run.done / run.seconds;
  return {
    verifications: run.done,
    verifiesPerSec: round(perSec, 1),
    cpuCores,
    verifiesPerSecPerCore: cpuCores > 0 ? round(perSec / cpuCores, 1) : null,
    latencyMs: percentiles(run.latency, [50, 95, 99], 1000),
  };
}

async function main() {
  const options = parseOptions(USAGE, OPTIONS);
  requireBuilt(SERVER_MAIN, BUILD_HINT);
  const startedAt = new Date();
  const env = environment();
  const budgetMs = (2 * (options.warmup + options.duration) + 120 + options.users) * 1000;
  await withServerRun({ prefix: 'persona-bench-', budgetMs }, async (run) => {
    log(
      `password-login: node ${process.version}, ${os.availableParallelism()} CPUs, ${options.connections} ` +
        `concurrent, ${options.warmup} s warm-up + ${options.duration} s each, Argon2id m=${OWASP.memoryCost} ` +
        `t=${OWASP.timeCost} p=${OWASP.parallelism}`,
    );
    const server = await run.start();
    const setup = await setUp(server.baseUrl, run.bootstrapKey, options.users);
    log('  HTTP logins');
    const http = await measureHttp(server, setup, options);
    const serverPeakRss = await peakRssMiB(server.child.pid);
    const serverExit = await run.stop();
    log('  baseline: Argon2id verifications in this process');
    const baseline = await measureBaseline(options);

    const perCore = http.loginsPerSecPerServerCore;
    const targets = {
      loginsPerSecPerCore: {
        target: `>= ${TARGET_PER_CORE}`,
        value: perCore,
        pass: perCore !== null && perCore >= TARGET_PER_CORE,
      },
    };
    targets.allPass = targets.loginsPerSecPerCore.pass;
    const result = {
      benchmark: 'password-login',
      timestamp: new Date().toISOString(),
      ...env,
      config: { ...options, argon2: OWASP },
      http,
      baseline,
      httpToBaseline: round(http.loginsPerSec / baseline.verifiesPerSec),
      server: { peakRssMiB: serverPeakRss, exit: serverExit },
      peakRssMiB: ownPeakRssMiB(),
      targets,
    };
    log(
      `  http ${http.loginsPerSec}/s (${perCore}/s per server core, p99 ${http.latencyMs.p99} ms)  ` +
        `baseline ${baseline.verifiesPerSec}/s (${baseline.verifiesPerSecPerCore}/s per core)`,
    );
    log(`target: logins per core ${targets.allPass ? 'PASS' : 'MISS'}`);
    await publishResult(resultPath('password-login', startedAt), result);
  });
}

await runMain('password-login', main);
