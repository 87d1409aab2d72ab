#!/usr/bin/env node
// OAuth/OIDC provider throughput on the real server in its own child process:
//   grants         POST {issuer}/token, client credentials for the platform API (an EdDSA JWT access token
//                  signed through the KeyStore) — target >= 2,000/s
//   introspection  POST {issuer}/token/introspection of an opaque token — target >= 6,000/s
//   access-token   GET /v1/projects/{id} with a JWT access token (verified locally in the API auth path),
//                  next to the same GET with an API key (the same-run baseline) — target >= 20,000/s
//
//   node bench/oidc.mjs [--duration 10] [--warmup 2] [--connections 32] [--runs 2]
//
// Progress goes to stderr; the result JSON goes to stdout and to bench/results/. See bench/README.md.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import {
  BenchError,
  environment,
  log,
  median,
  parseOptions,
  publishResult,
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
  SERVER_MAIN,
  startServer,
  stopServer,
} from './server.mjs';

const TARGETS = { grantsPerSec: 2_000, introspectionsPerSec: 6_000, accessTokenReqPerSec: 20_000 };
const RESOURCE_SERVER = 'https://rs.bench.test/api';

const USAGE = `usage: node bench/oidc.mjs [options]
  --duration <s>       measured seconds per run (default 10)
  --warmup <s>         warm-up seconds before every measured run (default 2)
  --connections <n>    concurrent connections (default 32)
  --runs <n>           measured runs per target (default 2; the API pair alternates key/token)
  --help`;

const OPTIONS = {
  duration: { default: '10', min: 1, max: 600, integer: true },
  warmup: { default: '2', min: 0, max: 60, integer: true },
  connections: { default: '32', min: 1, max: 1000, integer: true },
  runs: { default: '2', min: 1, max: 10, integer: true },
};

const form = (fields) => new URLSearchParams(fields).toString();

/** A tenant with a viewer API key and a client allowed `projects:read` on the platform API. */
async function setup(baseUrl, adminKey) {
  const { projectId, secret } = await createProject(baseUrl, adminKey, 'viewer');
  const client = await api(
    baseUrl,
    'POST',
    `/v1/projects/${projectId}/oidc-clients`,
    adminKey,
    {
      name: 'bench-client',
      role: 'viewer',
      scopes: ['projects:read', 'read:things'],
      resources: [RESOURCE_SERVER],
    },
    201,
  );
  const issuer = `${baseUrl}/p/${projectId}/oidc`;
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
  const token = async (fields) => {
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ grant_type: 'client_credentials', ...fields }),
    });
    const body = await response.json();
    if (response.status !== 200)
      throw new BenchError(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
    return body.access_token;
  };
  const accessToken = await token({ resource: `${baseUrl}/v1`, scope: 'projects:read' });
  const opaqueToken = await token({ resource: RESOURCE_SERVER, scope: 'read:things' });
  // The measured requests must be the real thing.
  await api(baseUrl, 'GET', `/v1/projects/${projectId}`, accessToken, undefined, 200);
  const introspected = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ token: opaqueToken }),
  }).then((response) => response.json());
  if (introspected.active !== true) throw new BenchError(`introspection: ${JSON.stringify(introspected)}`);
  const formHeaders = { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' };
  return {
    grants: {
      name: 'grants',
      method: 'POST',
      url: `${issuer}/token`,
      headers: formHeaders,
      body: form({ grant_type: 'client_credentials', resource: `${baseUrl}/v1`, scope: 'projects:read' }),
    },
    introspection: {
      name: 'introspection',
      method: 'POST',
      url: `${issuer}/token/introspection`,
      headers: formHeaders,
      body: form({ token: opaqueToken }),
    },
    apiKey: {
      name: 'api-key',
      method: 'GET',
      url: `${baseUrl}/v1/projects/${projectId}`,
      headers: { authorization: `Bearer ${secret}` },
    },
    accessToken: {
      name: 'access-token',
      method: 'GET',
      url: `${baseUrl}/v1/projects/${projectId}`,
      headers: { authorization: `Bearer ${accessToken}` },
    },
  };
}

async function load(server, target, seconds, connections) {
  const cpuBefore = await processCpuSeconds(server.child.pid);
  const result = await autocannon({ ...target, connections, pipelining: 1, duration: seconds, timeout: 10 });
  const cpuAfter = await processCpuSeconds(server.child.pid);
  return {
    target: target.name,
    reqPerSec: round(result.requests.mean, 0),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99 },
    totalRequests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    serverCpuCores:
      cpuBefore === null || cpuAfter === null ? null : round((cpuAfter - cpuBefore) / result.duration),
  };
}

async function measure(server, target, options) {
  if (options.warmup > 0) await load(server, target, options.warmup, options.connections);
  const run = await load(server, target, options.duration, options.connections);
  if (run.non2xx > 0 || run.errors > 0 || run.totalRequests === 0) {
    throw new BenchError(
      `${run.target}: ${run.non2xx} non-2xx and ${run.errors} errors of ${run.totalRequests}`,
    );
  }
  log(
    `  ${run.target.padEnd(14)} ${String(run.reqPerSec).padStart(7)} req/s  p50 ${run.latencyMs.p50} ms  p99 ${run.latencyMs.p99} ms  (server CPU cores ${run.serverCpuCores})`,
  );
  return run;
}

const best = (runs) => Math.max(...runs.map((run) => run.reqPerSec));

async function main() {
  const options = parseOptions(USAGE, OPTIONS);
  requireBuilt(SERVER_MAIN, 'build first (npx tsc -b)');
  const startedAt = new Date();
  const dataDir = await mkdtemp(join(os.tmpdir(), 'persona-bench-oidc-'));
  const bootstrapKey = `sk_${randomBytes(32).toString('base64url')}`;
  let server = null;
  try {
    log(
      `oidc: node ${process.version}, ${os.availableParallelism()} CPUs, ${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s per run, ${options.runs} runs`,
    );
    const env = environment();
    server = await startServer({ dataDir, bootstrapKey });
    const targets = await setup(server.baseUrl, bootstrapKey);
    const runs = [];
    for (let run = 0; run < options.runs; run++) {
      for (const target of [targets.apiKey, targets.accessToken, targets.introspection, targets.grants]) {
        runs.push({ ...(await measure(server, target, options)), order: runs.length + 1 });
      }
    }
    const peakRss = await peakRssMiB(server.child.pid);
    const serverExit = await stopServer(server);
    server = null;

    const of = (name) => runs.filter((run) => run.target === name);
    const summary = Object.fromEntries(
      ['grants', 'introspection', 'api-key', 'access-token'].map((name) => [
        name,
        {
          reqPerSec: { best: best(of(name)), median: round(median(of(name).map((run) => run.reqPerSec)), 0) },
        },
      ]),
    );
    const check = (value, target) => ({ target: `>= ${target}`, value, pass: value >= target });
    const targetsResult = {
      basis: 'best of the runs (on a shared machine noise only slows a run down)',
      grantsPerSec: check(summary.grants.reqPerSec.best, TARGETS.grantsPerSec),
      introspectionsPerSec: check(summary.introspection.reqPerSec.best, TARGETS.introspectionsPerSec),
      accessTokenReqPerSec: check(summary['access-token'].reqPerSec.best, TARGETS.accessTokenReqPerSec),
      accessTokenToApiKey: round(
        summary['access-token'].reqPerSec.best / summary['api-key'].reqPerSec.best,
        3,
      ),
    };
    targetsResult.allPass =
      targetsResult.grantsPerSec.pass &&
      targetsResult.introspectionsPerSec.pass &&
      targetsResult.accessTokenReqPerSec.pass;
    log(
      `\ngrants ${summary.grants.reqPerSec.best}/s, introspection ${summary.introspection.reqPerSec.best}/s, ` +
        `GET with access token ${summary['access-token'].reqPerSec.best}/s vs API key ${summary['api-key'].reqPerSec.best}/s ` +
        `(ratio ${targetsResult.accessTokenToApiKey}); peak server RSS ${peakRss} MiB`,
    );
    await publishResult(resultPath('oidc', startedAt), {
      benchmark: 'oidc',
      timestamp: new Date().toISOString(),
      ...env,
      config: {
        durationSeconds: options.duration,
        warmupSeconds: options.warmup,
        connections: options.connections,
        runsPerTarget: options.runs,
        order: 'api-key, access-token, introspection, grants, repeated',
        requests: {
          grants:
            'POST {issuer}/token grant_type=client_credentials, resource={publicUrl}/v1 (EdDSA JWT via the KeyStore), client_secret_basic',
          introspection:
            'POST {issuer}/token/introspection of an opaque client-credentials token, client_secret_basic',
          'api-key': 'GET /v1/projects/{id} with a viewer API key (baseline)',
          'access-token':
            'GET /v1/projects/{id} with a viewer client\u2019s JWT access token (scope projects:read)',
        },
        server:
          'separate child process, SQLite in a fresh temporary directory, log level warn, rate limits that never refuse',
      },
      runs,
      summary,
      targets: targetsResult,
      server: { peakRssMiB: peakRss, exit: serverExit },
    });
  } finally {
    if (server) await stopServer(server).catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  }
}

await runMain('oidc', main);
