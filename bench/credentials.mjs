#!/usr/bin/env node
// Credential issue and verify throughput through the HTTP API (the real server in its own child process)
// next to the credentials library called directly in this process, in the same run: eddsa-rdfc-2022,
// ecdsa-rdfc-2019, VC-JWT and bbs-2023 over both. bbs-2023 over HTTP: the server issues base proofs with a
// KeyStore-held BLS12-381 G2 key, this process derives a disclosure with the library (as a holder would),
// and the server verifies the derived credential.
//
//   npx tsc -b && node bench/credentials.mjs [--duration 5] [--warmup 2] [--connections 16] [--library-duration 3]
//
// Progress goes to stderr; the result JSON goes to stdout and to bench/results/. See bench/README.md.

import os from 'node:os';
import { join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import {
  BenchError,
  environment,
  importBuilt,
  log,
  machineCpuSeconds,
  median,
  ownPeakRssMiB,
  parseOptions,
  percentiles,
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
  RATE_LIMIT,
  SERVER_MAIN,
  withServerRun,
} from './server.mjs';

const BUILD_HINT = 'build first (npx tsc -b)';
/** A Fastify server that only echoes the body: what HTTP alone allows here (see http-floor-server.mjs). */
const HTTP_FLOOR_MAIN = join(import.meta.dirname, 'http-floor-server.mjs');

const TARGETS = { eddsaVerifyPerSec: 800, vcJwtVerifyPerSec: 8_000, maxApiOverhead: 0.3, maxStatusCost: 0.1 };

const USAGE = `usage: node bench/credentials.mjs [options]
  --duration <s>           measured seconds per HTTP target (default 5)
  --warmup <s>             warm-up seconds before every HTTP target (default 2)
  --connections <n>        concurrent HTTP connections (default 16)
  --runs <n>               measured runs per HTTP target, all targets in turn per round (default 2)
  --library-duration <s>   seconds per library operation, after a 1 s warm-up (default 3)
  --help`;

const OPTIONS = {
  duration: { default: '5', min: 1, max: 600, integer: true },
  warmup: { default: '2', min: 0, max: 60, integer: true },
  connections: { default: '16', min: 1, max: 1000, integer: true },
  runs: { default: '2', min: 1, max: 10, integer: true },
  'library-duration': { default: '3', min: 1, max: 600, integer: true },
};

/** The unsigned credential every issue sends, without its `issuer` (see `credentialOf`). */
const CREDENTIAL = {
  '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
  type: ['VerifiableCredential', 'ExampleDegreeCredential'],
  validFrom: '2024-01-01T00:00:00Z',
  credentialSubject: {
    id: 'did:example:alice',
    degree: { type: 'ExampleBachelorDegree', name: 'Bachelor of Science and Arts' },
  },
};
/** bbs-2023: what every disclosure carries, and what the benchmark's holder discloses on top. */
const BBS_MANDATORY = ['/issuer', '/validFrom'];
const BBS_SELECTIVE = ['/credentialSubject/degree/name'];
const VC_JWT_PREFIX = 'data:application/vc+jwt,';
/** The same credential with a status entry, verified with and without its status check. */
const STATUS_CHECKED = 'eddsa-rdfc-2022 verify, status-checked';
const STATUS_UNCHECKED = 'eddsa-rdfc-2022 verify, status credential unchecked';

// ---------------------------------------------------------------------------------------------------
// Setup through the API

/** An organization, a project, a developer key (issue and verify) and the four issuers. */
async function createTenant(baseUrl, adminKey) {
  const { projectId, secret } = await createProject(baseUrl, adminKey, 'developer');
  const issuer = (body) => api(baseUrl, 'POST', `/v1/projects/${projectId}/issuers`, secret, body, 201);
  return {
    projectId,
    secret,
    ed25519: await issuer({ name: 'ed25519', didMethod: 'did:key', suites: ['eddsa-rdfc-2022', 'vc+jwt'] }),
    p256: await issuer({ name: 'p256', didMethod: 'did:key', suites: ['ecdsa-rdfc-2019'] }),
    withStatus: await issuer({
      name: 'ed25519-status',
      didMethod: 'did:key',
      suites: ['eddsa-rdfc-2022'],
      statusPurposes: ['revocation'],
    }),
    bbs: await issuer({ name: 'bls12-381', didMethod: 'did:key', suites: ['bbs-2023'] }),
  };
}

/** The credential every issue sends, naming its issuer's DID. */
const credentialOf = (issuer) => ({ ...CREDENTIAL, issuer: issuer.did });
const issueBody = (issuer, options) => ({ credential: credentialOf(issuer), options });
const verifyBody = (verifiableCredential) => ({ verifiableCredential });

/**
 * One HTTP target: a fixed POST and the one status code every response must have; `connections`, when
 * given, replaces --connections for it.
 */
function httpTarget(tenant, name, path, body, expectedStatus, connections) {
  return {
    name,
    path,
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${tenant.secret}`, 'content-type': 'application/json' },
    expectedStatus,
    ...(connections === undefined ? {} : { connections }),
  };
}

/**
 * bbs-2023 requests cost ~0.05–0.1 s of server CPU each: with 16 in flight on one thread, none would
 * complete within a short warm-up. Four keep the server just as busy.
 */
const BBS_CONNECTIONS = 4;

/** Issues one credential through the API, for the verify targets and the library baseline. */
async function issueOnce(baseUrl, tenant, issuer, options) {
  const path = `/v1/issuers/${issuer.id}/credentials/issue`;
  const { verifiableCredential } = await api(
    baseUrl,
    'POST',
    path,
    tenant.secret,
    issueBody(issuer, options),
    201,
  );
  return verifiableCredential;
}

/** The credential must verify over HTTP before it is measured; the status one must have been checked. */
async function checkVerifies(baseUrl, tenant, credential, withStatus) {
  const path = `/v1/projects/${tenant.projectId}/verifier/credentials/verify`;
  const answer = await api(baseUrl, 'POST', path, tenant.secret, verifyBody(credential), 200);
  if (answer.verified !== true) throw new BenchError(`${path} did not verify: ${JSON.stringify(answer)}`);
  if (withStatus && !(answer.checks.includes('status') && answer.credentialStatus?.length === 1)) {
    throw new BenchError(
      `the status credential was verified without its status check: ${JSON.stringify(answer)}`,
    );
  }
}

/**
 * The bbs-2023 inputs: a base proof issued over HTTP (for the derive target) and a disclosure derived here
 * with the library as a holder would (for the verify target).
 */
async function issueBbs(baseUrl, tenant) {
  const base = await issueOnce(baseUrl, tenant, tenant.bbs, { mandatoryPointers: BBS_MANDATORY });
  const { credentials: vc } = await loadLibraries();
  const { documentLoader } = libraryResolution(vc);
  const derived = await vc.deriveCredential({
    credential: base,
    selectivePointers: BBS_SELECTIVE,
    documentLoader,
  });
  return { base, derived };
}

/** The status list a credential's first entry names, fetched once (the library baseline checks against it). */
async function fetchStatusList(credential) {
  const [entry] = [credential.credentialStatus].flat();
  const response = await fetch(entry.statusListCredential);
  if (response.status !== 200)
    throw new BenchError(`${entry.statusListCredential} answered ${response.status}`);
  return response.json();
}

/** Issues the verify inputs through the API and builds every HTTP target. */
async function prepareHttp(baseUrl, tenant) {
  const eddsa = await issueOnce(baseUrl, tenant, tenant.ed25519, { cryptosuite: 'eddsa-rdfc-2022' });
  const ecdsa = await issueOnce(baseUrl, tenant, tenant.p256, { cryptosuite: 'ecdsa-rdfc-2019' });
  const jwt = await issueOnce(baseUrl, tenant, tenant.ed25519, { format: 'application/vc+jwt' });
  const withStatus = await issueOnce(baseUrl, tenant, tenant.withStatus, {});
  const bbs = await issueBbs(baseUrl, tenant);
  for (const credential of [eddsa, ecdsa, jwt, bbs.derived])
    await checkVerifies(baseUrl, tenant, credential, false);
  await checkVerifies(baseUrl, tenant, withStatus, true);
  const issuePath = (issuer) => `/v1/issuers/${issuer.id}/credentials/issue`;
  const verifyPath = `/v1/projects/${tenant.projectId}/verifier/credentials/verify`;
  const target = (...args) => httpTarget(tenant, ...args);
  return {
    credentials: { eddsa, ecdsa, jwt, withStatus, statusList: await fetchStatusList(withStatus) },
    /** For the HTTP floor server: a body the size of the VC-JWT requests, echoed back. */
    floorTarget: target('http floor (echo)', '/floor', verifyBody(jwt), 201),
    targets: [
      target(
        'eddsa-rdfc-2022 issue',
        issuePath(tenant.ed25519),
        issueBody(tenant.ed25519, { cryptosuite: 'eddsa-rdfc-2022' }),
        201,
      ),
      target('eddsa-rdfc-2022 verify', verifyPath, verifyBody(eddsa), 200),
      target(STATUS_CHECKED, verifyPath, verifyBody(withStatus), 200),
      target(
        'ecdsa-rdfc-2019 issue',
        issuePath(tenant.p256),
        issueBody(tenant.p256, { cryptosuite: 'ecdsa-rdfc-2019' }),
        201,
      ),
      target('ecdsa-rdfc-2019 verify', verifyPath, verifyBody(ecdsa), 200),
      target(
        'vc-jwt issue',
        issuePath(tenant.ed25519),
        issueBody(tenant.ed25519, { format: 'application/vc+jwt' }),
        201,
      ),
      target('vc-jwt verify', verifyPath, verifyBody(jwt), 200),
      target(
        'bbs-2023 issue (base proof)',
        issuePath(tenant.bbs),
        issueBody(tenant.bbs, { mandatoryPointers: BBS_MANDATORY }),
        201,
        BBS_CONNECTIONS,
      ),
      target(
        'bbs-2023 derive',
        `/v1/projects/${tenant.projectId}/holder/credentials/derive`,
        { verifiableCredential: bbs.base, options: { selectivePointers: BBS_SELECTIVE } },
        201,
        BBS_CONNECTIONS,
      ),
      target('bbs-2023 verify (derived)', verifyPath, verifyBody(bbs.derived), 200, BBS_CONNECTIONS),
    ],
  };
}

// ---------------------------------------------------------------------------------------------------
// HTTP load

/** CPU the server, this process and the rest of the machine used between `start()` and `stop()`. */
async function cpuWindow(pid) {
  const before = {
    own: process.cpuUsage(),
    server: await processCpuSeconds(pid),
    machine: await machineCpuSeconds(),
  };
  const started = performance.now();
  return async () => {
    const seconds = (performance.now() - started) / 1000;
    const own = process.cpuUsage(before.own);
    const serverAfter = await processCpuSeconds(pid);
    const machineAfter = await machineCpuSeconds();
    const bench = (own.user + own.system) / 1e6 / seconds;
    const server =
      before.server === null || serverAfter === null ? null : (serverAfter - before.server) / seconds;
    const machine =
      before.machine === null || machineAfter === null
        ? null
        : (machineAfter.processes - before.machine.processes) / seconds;
    return {
      serverCpuCores: server === null ? null : round(server),
      benchCpuCores: round(bench),
      otherCpuCores:
        machine === null || server === null ? null : round(Math.max(0, machine - server - bench)),
    };
  };
}

/** One autocannon run of `target`; latency percentiles from a µs histogram of the expected responses. */
async function load(server, target, seconds, connections) {
  const latency = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  const instance = autocannon({
    url: `${server.baseUrl}${target.path}`,
    method: 'POST',
    headers: target.headers,
    body: target.body,
    connections: target.connections ?? connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
  });
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode === target.expectedStatus) latency.record(Math.max(1, Math.round(responseTimeMs * 1000)));
  });
  const stopCpu = await cpuWindow(server.child.pid);
  const result = await instance;
  const cpu = await stopCpu();
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
  );
  return {
    name: target.name,
    perSec: round(result.requests.mean, 0),
    latencyMs: percentiles(latency, [50, 99], 1000),
    totalRequests: result.requests.total,
    expectedStatus: target.expectedStatus,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    ...cpu,
  };
}

/** Every response must have the expected status: anything else makes the measurement meaningless. */
function check(run, phase) {
  const expected = run.statusCodes[run.expectedStatus] ?? 0;
  if (expected !== run.totalRequests || run.errors > 0 || run.totalRequests === 0) {
    throw new BenchError(
      `${phase} of ${run.name}: ${run.totalRequests - expected} responses other than ${run.expectedStatus} and ` +
        `${run.errors} errors (${run.timeouts} timeouts) of ${run.totalRequests}; status codes ${JSON.stringify(run.statusCodes)}`,
    );
  }
}

async function measureHttp(server, target, options) {
  if (options.warmup > 0) check(await load(server, target, options.warmup, options.connections), 'warm-up');
  const run = await load(server, target, options.duration, options.connections);
  check(run, 'measured run');
  log(
    `  http     ${run.name.padEnd(40)} ${String(run.perSec).padStart(6)}/s  p50 ${run.latencyMs.p50} ms  ` +
      `p99 ${run.latencyMs.p99} ms  (CPU cores: server ${run.serverCpuCores}, load generator ${run.benchCpuCores}, ` +
      `other ${run.otherCpuCores})`,
  );
  return run;
}

/** Per target over its runs: req/s best (noise only slows a run down) and median, best p50/p99. */
function summarizeHttp(runs) {
  const names = [...new Set(runs.map((run) => run.name))];
  return names.map((name) => {
    const own = runs.filter((run) => run.name === name);
    const values = (pick) => own.map(pick);
    return {
      name,
      runs: own.length,
      perSec: {
        best: Math.max(...values((run) => run.perSec)),
        median: round(median(values((run) => run.perSec)), 0),
      },
      latencyMs: {
        p50: Math.min(...values((run) => run.latencyMs.p50)),
        p99: Math.min(...values((run) => run.latencyMs.p99)),
      },
      serverCpuCores: round(median(values((run) => run.serverCpuCores ?? 0))),
    };
  });
}

// ---------------------------------------------------------------------------------------------------
// The library in this process

/** The library's own did:key resolution, in-process: the document loader and the VC-JWT key resolver. */
function libraryResolution(credentials) {
  const resolver = credentials.createDidResolver();
  const documentLoader = credentials.createDocumentLoader({
    resolveDidUrl: async (url) => {
      const { contentStream } = await resolver.dereference(url);
      if (contentStream === null) throw new BenchError(`${url} did not resolve`);
      return contentStream;
    },
  });
  const resolveKey = credentials.assertionKeyResolver((did) =>
    resolver.resolve(did, { accept: credentials.DID_LD_JSON }),
  );
  return { documentLoader, resolveKey };
}

/** A fresh did:key issuer with a raw-key signer (the server's keys stay in its key store). */
async function rawIssuer(lib, algorithm) {
  const { publicKey, secretKey } = await lib.crypto.signatureScheme(algorithm).generateKeyPair();
  const multibase = lib.crypto.encodePublicKeyMultibase(algorithm, publicKey);
  const did = `did:key:${multibase}`;
  return { did, id: `${did}#${multibase}`, publicKey, secretKey };
}

/** An issued or derived credential must carry a proof. */
function hasProof(name) {
  return (result) => {
    if (!result?.proof) throw new BenchError(`library ${name} returned no proof`);
  };
}

/** A verification result must be `verified: true`; anything else is a broken measurement. */
function verified(name) {
  return (result) => {
    if (result?.verified !== true) throw new BenchError(`library ${name}: ${JSON.stringify(result?.errors)}`);
  };
}

/** The library operations, each `{ name, run, check }` on the same inputs as the HTTP targets. */
async function libraryOperations(lib, httpCredentials) {
  const { credentials: vc, crypto } = lib;
  const { documentLoader, resolveKey } = libraryResolution(vc);
  const ed = await rawIssuer(lib, 'Ed25519');
  const p256 = await rawIssuer(lib, 'P-256');
  const edSigner = vc.createRawKeySigner({ id: ed.id, algorithm: 'Ed25519', secretKey: ed.secretKey });
  const p256Signer = vc.createRawKeySigner({ id: p256.id, algorithm: 'P-256', secretKey: p256.secretKey });
  const edScheme = crypto.signatureScheme('Ed25519');
  const jwsSigner = vc.createJwsSigner({
    kid: ed.id,
    algorithm: 'Ed25519',
    sign: (message) => edScheme.sign(ed.secretKey, message),
  });
  const issue = (suite, signer, issuer) => () =>
    vc.issueCredential({ credential: credentialOf(issuer), suite, signer, documentLoader });
  const verify = (credential) => () => vc.verifyCredential({ credential, documentLoader });
  const jws = httpCredentials.jwt.id.slice(VC_JWT_PREFIX.length);
  // The list answers as one object, as the server's cache does: its proof is verified once.
  const checkStatus = vc.createStatusChecker({
    documentLoader,
    loadStatusListCredential: async () => httpCredentials.statusList,
  });
  const verifyWithStatus = async () => {
    const result = await vc.verifyCredential({ credential: httpCredentials.withStatus, documentLoader });
    const [status] = await checkStatus(httpCredentials.withStatus);
    if (status?.status !== false) throw new BenchError(`library status check: ${JSON.stringify(status)}`);
    return result;
  };
  return [
    {
      name: 'eddsa-rdfc-2022 issue',
      run: issue('eddsa-rdfc-2022', edSigner, ed),
      check: hasProof('eddsa issue'),
    },
    { name: 'eddsa-rdfc-2022 verify', run: verify(httpCredentials.eddsa), check: verified('eddsa verify') },
    {
      name: STATUS_UNCHECKED,
      run: verify(httpCredentials.withStatus),
      check: verified('status credential verify'),
    },
    { name: STATUS_CHECKED, run: verifyWithStatus, check: verified('status-checked verify') },
    {
      name: 'ecdsa-rdfc-2019 issue',
      run: issue('ecdsa-rdfc-2019', p256Signer, p256),
      check: hasProof('ecdsa issue'),
    },
    { name: 'ecdsa-rdfc-2019 verify', run: verify(httpCredentials.ecdsa), check: verified('ecdsa verify') },
    {
      name: 'vc-jwt issue',
      run: () => vc.issueVcJwt({ credential: credentialOf(ed), signer: jwsSigner }),
      check: (result) => {
        if (typeof result !== 'string') throw new BenchError('library vc-jwt issue returned no JWS');
      },
    },
    {
      name: 'vc-jwt verify',
      run: () => vc.verifyVcJwt(jws, { resolveKey }),
      check: (result) => {
        if (!result?.credential) throw new BenchError('library vc-jwt verify returned no credential');
      },
    },
  ];
}

/** bbs-2023, library only: issue a base proof, derive a disclosure, verify the derived credential. */
async function bbsOperations(lib) {
  const { credentials: vc } = lib;
  const { documentLoader } = libraryResolution(vc);
  const issuer = await rawIssuer(lib, 'BLS12-381-G2');
  const signer = await vc.createBbsSigner({
    id: issuer.id,
    secretKey: issuer.secretKey,
    publicKey: issuer.publicKey,
  });
  const issue = () =>
    vc.issueCredential({
      credential: credentialOf(issuer),
      suite: 'bbs-2023',
      signer,
      documentLoader,
      options: { mandatoryPointers: BBS_MANDATORY },
    });
  const base = await issue();
  const derive = () =>
    vc.deriveCredential({ credential: base, selectivePointers: BBS_SELECTIVE, documentLoader });
  const derived = await derive();
  return [
    { name: 'bbs-2023 issue (base proof)', run: issue, check: hasProof('bbs-2023 issue') },
    { name: 'bbs-2023 derive', run: derive, check: hasProof('bbs-2023 derive') },
    {
      name: 'bbs-2023 verify (derived)',
      run: () => vc.verifyCredential({ credential: derived, documentLoader }),
      check: verified('bbs-2023 verify'),
    },
  ];
}

/** Sequential awaited calls for `seconds` (after a 1 s warm-up); every result is checked, untimed. */
async function measureLibrary(operation, seconds) {
  const latency = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  const until = async (ms, record) => {
    const end = performance.now() + ms;
    let count = 0;
    do {
      const started = performance.now();
      const result = await operation.run();
      if (record) latency.record(Math.max(1, Math.round((performance.now() - started) * 1000)));
      operation.check(result);
      count++;
    } while (performance.now() < end);
    return count;
  };
  await until(1_000, false);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const ops = await until(seconds * 1000, true);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const run = {
    name: operation.name,
    perSec: round(ops / elapsed, 1),
    ops,
    latencyMs: percentiles(latency, [50, 99], 1000),
    cpuCores: round((cpu.user + cpu.system) / 1e6 / elapsed),
  };
  log(
    `  library  ${run.name.padEnd(40)} ${String(run.perSec).padStart(6)}/s  p50 ${run.latencyMs.p50} ms  ` +
      `p99 ${run.latencyMs.p99} ms  (CPU cores: ${run.cpuCores})`,
  );
  return run;
}

// ---------------------------------------------------------------------------------------------------
// Comparison and targets

/**
 * Per operation: HTTP (best run) and library per second, and overhead = 1 − http/library. With the HTTP
 * floor (`floorPerSec`, an echo server on the same framework), `leastOneThreadOverhead` is the overhead a
 * server would have that did nothing but HTTP and the library's work, one after the other on one thread:
 * its rate is 1 / (1/library + 1/floor), so the overhead is library / (library + floor). It bounds what an
 * operation that runs on the event loop (VC-JWT) can reach; Data Integrity runs on worker threads and can
 * beat it.
 */
function compare(httpSummary, libraryRuns, floorPerSec) {
  return libraryRuns.flatMap((library) => {
    const http = httpSummary.find((row) => row.name === library.name);
    if (http === undefined) return [];
    return {
      name: library.name,
      httpPerSec: http.perSec.best,
      libraryPerSec: library.perSec,
      overhead: round(1 - http.perSec.best / library.perSec, 3),
      leastOneThreadOverhead: round(library.perSec / (library.perSec + floorPerSec), 3),
    };
  });
}

/**
 * The status check's cost is measured on one credential verified with and without it, in the library (the
 * server always checks status). A credential with an entry is a larger document to canonicalize, so the HTTP
 * status-checked verify against the plain credential's is reported too, but it is not the check's cost.
 */
function judge(httpSummary, comparison, libraryRuns, floorPerSec) {
  const perSec = (name) => httpSummary.find((row) => row.name === name).perSec.best;
  const libraryPerSec = (name) => libraryRuns.find((row) => row.name === name).perSec;
  const unchecked = perSec('eddsa-rdfc-2022 verify');
  const checked = libraryPerSec(STATUS_CHECKED);
  const statusCredentialUnchecked = libraryPerSec(STATUS_UNCHECKED);
  const worst = comparison.reduce((a, b) => (b.overhead > a.overhead ? b : a));
  const statusCost = round(1 - checked / statusCredentialUnchecked, 3);
  const targets = {
    eddsaVerifyHttpPerSec: {
      target: `>= ${TARGETS.eddsaVerifyPerSec}`,
      value: unchecked,
      pass: unchecked >= TARGETS.eddsaVerifyPerSec,
    },
    vcJwtVerifyHttpPerSec: {
      target: `>= ${TARGETS.vcJwtVerifyPerSec}`,
      value: perSec('vc-jwt verify'),
      pass: perSec('vc-jwt verify') >= TARGETS.vcJwtVerifyPerSec,
    },
    apiOverhead: {
      target: `<= ${TARGETS.maxApiOverhead} for every operation (value: the worst, ${worst.name})`,
      value: worst.overhead,
      pass: comparison.every((row) => row.overhead <= TARGETS.maxApiOverhead),
      failing: comparison.filter((row) => row.overhead > TARGETS.maxApiOverhead).map((row) => row.name),
      httpFloorPerSec: floorPerSec,
      unreachableOnOneThread: comparison
        .filter((row) => row.leastOneThreadOverhead > TARGETS.maxApiOverhead)
        .map((row) => row.name),
    },
    statusCheckedVsUnchecked: {
      target: `<= ${TARGETS.maxStatusCost} (1 − status-checked/unchecked verify of one credential, library, list cached)`,
      value: statusCost,
      checkedPerSec: checked,
      uncheckedPerSec: statusCredentialUnchecked,
      httpStatusCheckedPerSec: perSec(STATUS_CHECKED),
      httpPlainCredentialPerSec: unchecked,
      pass: statusCost <= TARGETS.maxStatusCost,
    },
  };
  targets.allPass = Object.values(targets).every((target) => target.pass);
  return targets;
}

// ---------------------------------------------------------------------------------------------------

async function loadLibraries() {
  return {
    credentials: await importBuilt('packages/credentials/dist/index.js', BUILD_HINT),
    crypto: await importBuilt('packages/crypto/dist/index.js', BUILD_HINT),
  };
}

function config(options) {
  return {
    durationSeconds: options.duration,
    warmupSeconds: options.warmup,
    connections: options.connections,
    runsPerHttpTarget: options.runs,
    libraryDurationSeconds: options.libraryDuration,
    libraryWarmupSeconds: 1,
    http:
      'autocannon, each target in turn per round, a warm-up before every run, the same request body every time; ' +
      'issue answers 201, verify 200; judged on the best run of each target',
    library:
      'sequential awaited calls in the benchmark process, document loader with bundled contexts and in-process did:key resolution; ' +
      'verify takes the very credential issued over HTTP, issue the same unsigned credential with a raw key of its own',
    bbs2023:
      'HTTP: base proofs signed in the server KeyStore, verify of a credential derived here with the library; ' +
      'library: a raw-key issuer of its own, issue, derive and verify of the derived credential',
    server: {
      process:
        'separate child process (node packages/server/dist/main.js), SQLite in a fresh temporary directory',
      logLevel: 'warn',
      rateLimits: RATE_LIMIT,
    },
  };
}

async function main() {
  const options = parseOptions(USAGE, OPTIONS);
  requireBuilt(SERVER_MAIN, BUILD_HINT);
  const startedAt = new Date();
  const env = environment();
  const lib = await loadLibraries();
  const budgetMs =
    (11 * options.runs * (options.warmup + options.duration) + 14 * (options.libraryDuration + 1) + 120) *
    1000;
  await withServerRun({ prefix: 'persona-bench-', budgetMs }, async (run) => {
    log(
      `credentials: node ${process.version}, ${os.availableParallelism()} CPUs, ${options.connections} connections, ` +
        `${options.warmup} s warm-up + ${options.duration} s per HTTP target, ${options.libraryDuration} s per library op`,
    );
    const server = await run.start();
    const tenant = await createTenant(server.baseUrl, run.bootstrapKey);
    const prepared = await prepareHttp(server.baseUrl, tenant);
    const httpRuns = [];
    for (let lap = 0; lap < options.runs; lap++) {
      for (const target of prepared.targets) httpRuns.push(await measureHttp(server, target, options));
    }
    const httpSummary = summarizeHttp(httpRuns);
    const serverPeakRss = await peakRssMiB(server.child.pid);
    const serverExit = await run.stop();

    log('  the HTTP floor: an echo route on the same framework, nothing else (bench/http-floor-server.mjs)');
    const floorServer = await run.start({ main: HTTP_FLOOR_MAIN });
    const floorRuns = [];
    for (let lap = 0; lap < options.runs; lap++) {
      floorRuns.push(await measureHttp(floorServer, prepared.floorTarget, options));
    }
    await run.stop();
    const floorPerSec = Math.max(...floorRuns.map((floorRun) => floorRun.perSec));

    const libraryRuns = [];
    for (const operation of await libraryOperations(lib, prepared.credentials)) {
      libraryRuns.push(await measureLibrary(operation, options.libraryDuration));
    }
    log('  bbs-2023 in the library (issue, derive, verify of the derived credential)');
    const bbsRuns = [];
    for (const operation of await bbsOperations(lib)) {
      bbsRuns.push(await measureLibrary(operation, options.libraryDuration));
    }

    const comparison = compare(httpSummary, [...libraryRuns, ...bbsRuns], floorPerSec);
    const targets = judge(httpSummary, comparison, libraryRuns, floorPerSec);
    const result = {
      benchmark: 'credentials',
      timestamp: new Date().toISOString(),
      ...env,
      config: config(options),
      http: httpRuns,
      httpSummary,
      httpFloor: floorRuns,
      library: libraryRuns,
      bbs2023Library: bbsRuns,
      comparison,
      server: { peakRssMiB: serverPeakRss, exit: serverExit },
      peakRssMiB: ownPeakRssMiB(),
      targets,
    };
    for (const row of comparison) {
      log(
        `  ${row.name.padEnd(24)} http ${row.httpPerSec}/s  library ${row.libraryPerSec}/s  overhead ${row.overhead}  ` +
          `(least on one thread, with the ${floorPerSec}/s HTTP floor: ${row.leastOneThreadOverhead})`,
      );
    }
    const mark = (target) => (target.pass ? 'PASS' : 'MISS');
    log(
      `targets: eddsa verify ${mark(targets.eddsaVerifyHttpPerSec)}, vc-jwt verify ${mark(targets.vcJwtVerifyHttpPerSec)}, ` +
        `overhead ${mark(targets.apiOverhead)}, status ${mark(targets.statusCheckedVsUnchecked)}`,
    );
    await publishResult(resultPath('credentials', startedAt), result);
  });
}

await runMain('credentials', main);
