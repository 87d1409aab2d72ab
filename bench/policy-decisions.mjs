#!/usr/bin/env node
// Vault access decisions (issue 8): AccessPolicy.decide() per second in this process, with all four Cedar
// evaluators, and its latency per decision (p50/p95/p99): every decision evaluated (no memo), the memo
// cold (first pass over varied requests) and warm (second pass). Then POST /policy/simulate through HTTP
// against the real server in a child process, with autocannon. Target on 2 cores: >= 3,000 decisions/s
// with p99 < 5 ms for the decision itself. See bench/README.md "policy-decisions.mjs".
//
//   node bench/policy-decisions.mjs [--requests 20000] [--seconds 5] [--connections 10]

import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import {
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
} from './lib.mjs';
import { api, createProject, peakRssMiB, processCpuSeconds, withServerRun } from './server.mjs';

const USAGE = `usage: node bench/policy-decisions.mjs [options]
  --requests N     distinct varied access requests decided in each in-process pass (default 20000)
  --seconds N      seconds of the HTTP run, after a 2 s warm-up (default 5)
  --connections N  concurrent HTTP connections (default 10)
  --help`;

const OPTIONS = {
  requests: { default: '20000', min: 100, max: 1_000_000, integer: true },
  seconds: { default: '5', min: 1, max: 600, integer: true },
  connections: { default: '10', min: 1, max: 1000, integer: true },
};

const TARGET_DECISIONS_PER_SEC = 3_000;
const TARGET_P99_MS = 5;
const BUILD_HINT = 'build first (npx tsc -b)';
const ACCESS = 'packages/server/dist/modules/policy/access/index.js';
const ACCESS_POLICY = 'packages/server/dist/modules/policy/access/access-policy.js';
const SCORE = 'packages/server/dist/modules/policy/access/score.js';

/** A small deterministic generator (mulberry32), so that every run decides the same requests. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACTIONS = ['read', 'read', 'read', 'list', 'list', 'write', 'write', 'delete', 'admin'];
const ROLES = ['read', 'write', 'write', 'admin', 'owner', 'owner'];
const COUNTRIES = ['DE', 'DE', 'FR', 'US', 'GB', null];
const METHODS = [['pwd'], ['pwd', 'otp', 'mfa'], ['hwk', 'user', 'mfa'], ['swk', 'user', 'mfa'], ['otp']];
const DEVICES = [
  { registered: true, fingerprintPresent: true },
  { registered: true, fingerprintPresent: true },
  { registered: false, fingerprintPresent: true },
  { registered: false, fingerprintPresent: false },
];
const WEEK_START = Date.parse('2025-03-03T00:00:00Z');

/** Requests as the vaults service would derive them: every field varies, as in real traffic. */
function variedRequests(count, seed) {
  const next = random(seed);
  const pick = (list) => list[Math.floor(next() * list.length)];
  const upTo = (n) => Math.floor(next() * (n + 1));
  return Array.from({ length: count }, () => {
    const lastMinute = next() < 0.05 ? 30 + upTo(20) : upTo(10);
    return {
      action: pick(ACTIONS),
      role: pick(ROLES),
      // Any minute of a week.
      at: new Date(WEEK_START + upTo(7 * 24 * 60) * 60_000),
      device: pick(DEVICES),
      network: { country: pick(COUNTRIES) },
      authentication: { methods: pick(METHODS), ageSeconds: next() < 0.1 ? 50_000 : upTo(3_600) },
      recent: { lastMinute, lastHour: lastMinute + upTo(200), deniedLastHour: next() < 0.8 ? 0 : upTo(8) },
      proofs: { verified: next() < 0.9 ? 0 : upTo(3), unverified: next() < 0.9 ? 0 : 1 },
      guardiansAvailable: next() < 0.5,
    };
  });
}

/** One pass: every request decided once, each decision timed on its own. */
function pass(policy, templates, requests) {
  const latency = createHistogram({ lowest: 1, highest: 60_000_000_000, figures: 3 });
  const outcomes = {};
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < requests.length; i++) {
    const template = templates[i % templates.length];
    const before = process.hrtime.bigint();
    const decision = policy.decide(template, requests[i]);
    latency.record(Math.max(1, Number(process.hrtime.bigint() - before)));
    outcomes[decision.outcome] = (outcomes[decision.outcome] ?? 0) + 1;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    decisions: requests.length,
    decisionsPerSec: round(requests.length / seconds, 0),
    // On a shared machine the wall clock includes time other processes had the core; CPU time does not.
    decisionsPerCpuSecond: round(requests.length / cpuSeconds, 0),
    cpuCores: round(cpuSeconds / seconds),
    latencyMs: { ...percentiles(latency, [50, 95, 99], 1e6, 4), max: round(latency.max / 1e6, 3) },
    outcomes,
  };
}

async function inProcess(options) {
  const { AccessPolicy, DEFAULT_TRUST_TEMPLATE, parseTrustTemplate } = await importBuilt(ACCESS, BUILD_HINT);
  // Three templates, as different vaults would have.
  const templates = [
    DEFAULT_TRUST_TEMPLATE,
    parseTrustTemplate({
      countries: { allowed: ['DE', 'FR', 'GB'] },
      businessHours: { timeZone: 'Europe/Berlin' },
    }),
    parseTrustTemplate({
      rule: { kind: 'any', watchdogVeto: false },
      evaluators: { strict: { allowAt: 70 } },
    }),
  ];
  const requests = variedRequests(options.requests, 8);
  const warmup = variedRequests(2_000, 1);
  // How many of the decisions the memo can answer: the distinct Cedar contexts among them (the MFA
  // counterfactual of a step-up adds a few more).
  const { evaluatorContext } = await importBuilt(ACCESS_POLICY, BUILD_HINT);
  const { trustScore } = await importBuilt(SCORE, BUILD_HINT);
  const distinctContexts = new Set(
    requests.map((request, i) => {
      const template = templates[i % templates.length];
      return JSON.stringify(evaluatorContext(template, request, trustScore(template, request)));
    }),
  ).size;

  const loadStarted = performance.now();
  const uncachedPolicy = AccessPolicy.load({ cacheSize: 0 });
  const loadMs = round(performance.now() - loadStarted, 1);
  // The JIT warms up on other requests than those measured.
  pass(uncachedPolicy, templates, warmup);

  const cpu = await cpuMeter();
  const uncached = pass(uncachedPolicy, templates, requests);
  const memoized = AccessPolicy.load();
  const cold = pass(memoized, templates, requests);
  const warm = pass(memoized, templates, requests);
  const usage = await cpu.stop();
  for (const [name, run] of Object.entries({ uncached, cold, warm })) {
    log(
      `  ${name.padEnd(9)} ${String(run.decisionsPerSec).padStart(8)} decisions/s  p50 ${run.latencyMs.p50} ms  ` +
        `p95 ${run.latencyMs.p95} ms  p99 ${run.latencyMs.p99} ms  max ${run.latencyMs.max} ms  ` +
        `(${run.decisionsPerCpuSecond}/CPU-s, ${run.cpuCores} cores)`,
    );
  }
  log(`  ${distinctContexts} distinct evaluator contexts among ${requests.length} requests`);
  return { loadMs, distinctContexts, uncached, cold, warm, ...usage };
}

/** Simulate bodies cycling through varied requests, as JSON. */
function simulateBodies(count) {
  return variedRequests(count, 99).map((request) => ({
    template: { countries: { allowed: ['DE', 'FR', 'GB'] } },
    request: {
      action: request.action,
      role: request.role,
      at: request.at.toISOString(),
      country: request.network.country,
      device: request.device,
      authentication: request.authentication,
      recent: request.recent,
      proofs: request.proofs,
      guardiansAvailable: request.guardiansAvailable,
    },
  }));
}

async function overHttp(options) {
  return withServerRun(
    { prefix: 'persona-bench-policy-', budgetMs: (options.seconds + 120) * 1000 },
    async (run) => {
      const server = await run.start();
      const { projectId, secret } = await createProject(server.baseUrl, run.bootstrapKey, 'developer');
      const path = `/v1/projects/${projectId}/policy/simulate`;
      const bodies = simulateBodies(1_000).map((body) => JSON.stringify(body));
      // Setup check: one simulation answers a decision.
      const first = await api(server.baseUrl, 'POST', path, secret, JSON.parse(bodies[0]), 200);
      if (first.votes?.length !== 4) throw new Error(`the simulation answered ${JSON.stringify(first)}`);

      const load = async (seconds) => {
        const latency = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
        let i = 0;
        const instance = autocannon({
          url: `${server.baseUrl}${path}`,
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          connections: options.connections,
          duration: seconds,
          timeout: 10,
          requests: [{ setupRequest: (request) => ({ ...request, body: bodies[i++ % bodies.length] }) }],
        });
        instance.on('response', (_client, status, _bytes, ms) => {
          if (status === 200) latency.record(Math.max(1, Math.round(ms * 1000)));
        });
        const result = await instance;
        return { result, latency };
      };
      await load(2);
      const cpuBefore = await processCpuSeconds(server.child.pid);
      const started = performance.now();
      const { result, latency } = await load(options.seconds);
      const wall = (performance.now() - started) / 1000;
      const cpuAfter = await processCpuSeconds(server.child.pid);
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(
          `${result.non2xx} non-2xx responses and ${result.errors} errors of ${result.requests.total}`,
        );
      }
      const http = {
        reqPerSec: round(result.requests.mean, 0),
        latencyMs: { ...percentiles(latency, [50, 95, 99], 1000), max: round(latency.max / 1000, 3) },
        totalRequests: result.requests.total,
        serverCpuCores: cpuBefore === null || cpuAfter === null ? null : round((cpuAfter - cpuBefore) / wall),
        serverPeakRssMiB: await peakRssMiB(server.child.pid),
      };
      log(
        `  simulate  ${String(http.reqPerSec).padStart(8)} req/s        p50 ${http.latencyMs.p50} ms  ` +
          `p95 ${http.latencyMs.p95} ms  p99 ${http.latencyMs.p99} ms  (server CPU cores ${http.serverCpuCores})`,
      );
      return http;
    },
  );
}

function target(name, value, goal, pass) {
  return { name, target: goal, value, pass };
}

async function main() {
  const options = parseOptions(USAGE, OPTIONS);
  const env = environment();
  const startedAt = new Date();
  log(`policy-decisions: node ${process.version}; in-process passes of ${options.requests} varied requests`);
  const decisions = await inProcess(options);
  log(`policy-decisions: POST /policy/simulate, ${options.connections} connections, ${options.seconds} s`);
  const http = await overHttp(options);

  const judged = [
    ['uncached (every decision evaluated by Cedar)', decisions.uncached],
    ['memo cold (first pass)', decisions.cold],
  ];
  const targets = judged.flatMap(([name, run]) => [
    target(
      `${name}: decisions/s`,
      run.decisionsPerSec,
      `>= ${TARGET_DECISIONS_PER_SEC}`,
      run.decisionsPerSec >= TARGET_DECISIONS_PER_SEC,
    ),
    target(`${name}: p99 ms`, run.latencyMs.p99, `< ${TARGET_P99_MS}`, run.latencyMs.p99 < TARGET_P99_MS),
  ]);
  const result = {
    benchmark: 'policy-decisions',
    timestamp: new Date().toISOString(),
    ...env,
    config: {
      requests: options.requests,
      templates: 3,
      httpSeconds: options.seconds,
      httpConnections: options.connections,
      inProcess:
        'AccessPolicy.decide in this process, one thread; each decision timed alone (hrtime); a deny that may ' +
        'become a step-up evaluates the MFA counterfactual too',
      http: 'POST /v1/projects/{id}/policy/simulate with a developer key and an inline template, 1,000 varied bodies, server in a child process',
    },
    policyLoadMs: decisions.loadMs,
    distinctEvaluatorContexts: decisions.distinctContexts,
    inProcess: {
      uncached: decisions.uncached,
      memoCold: decisions.cold,
      memoWarm: decisions.warm,
      cpuCores: decisions.cpuCores,
      otherCpuCores: decisions.otherCpuCores,
    },
    http,
    peakRssMiB: ownPeakRssMiB(),
    targets: { list: targets, allPass: targets.every((t) => t.pass) },
  };
  await publishResult(resultPath('policy-decisions', startedAt), result);
}

await runMain('policy-decisions', main);
