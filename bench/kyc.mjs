#!/usr/bin/env node
// Verification sessions end to end through the API, with the built-in local provider: create a session
// (API key) → read it with the client token → upload a sealed document and the sealed MRZ fields → submit →
// wait for the decision (one `?wait=` read). Measures approved sessions/s and the create→approved latency,
// with the same client's plain session creation (one authenticated write) as the baseline in the same run.
//
//   node bench/kyc.mjs [--duration 15] [--warmup 3] [--concurrency 64]
//
// Progress goes to stderr; the result JSON goes to stdout and to bench/results/. See bench/README.md.

import { createHistogram, performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import {
  BenchError,
  environment,
  importBuilt,
  log,
  parseOptions,
  percentiles,
  publishResult,
  resultPath,
  round,
  runMain,
} from './lib.mjs';
import { api, createProject, peakRssMiB, processCpuSeconds, RATE_LIMIT, withServerRun } from './server.mjs';

const TARGETS = { minSessionsPerSec: 300 };

const USAGE = `usage: node bench/kyc.mjs [options]
  --duration <s>      measured seconds (default 15)
  --warmup <s>        warm-up seconds (default 3)
  --concurrency <n>   sessions in flight (default 64)
  --help`;

const OPTIONS = {
  duration: { default: '15', min: 1, max: 600, integer: true },
  warmup: { default: '3', min: 0, max: 60, integer: true },
  concurrency: { default: '64', min: 1, max: 1000, integer: true },
};

const { fromBase64Url, sealDetached, toBase64Url } = await importBuilt(
  'packages/crypto/dist/index.js',
  'run `npx tsc -b` first',
);

/** ICAO 9303 check digit: weights 7, 3, 1; `<` is 0, letters 10–35. */
function checkDigit(value) {
  const charValue = (c) => (c === '<' ? 0 : /\d/.test(c) ? Number(c) : c.charCodeAt(0) - 55);
  return [...value].reduce((sum, c, i) => sum + charValue(c) * [7, 3, 1][i % 3], 0) % 10;
}

/** The ICAO "Utopia" specimen passport with an expiry in 2035, check digits recomputed. */
function specimenMrz() {
  const parts = [
    `L898902C3${checkDigit('L898902C3')}`,
    `740812${checkDigit('740812')}`,
    `350415${checkDigit('350415')}`,
  ];
  const optional = `ZE184226B<<<<<${checkDigit('ZE184226B<<<<<')}`;
  const line2 = `${parts[0]}UTO${parts[1]}F${parts[2]}${optional}${checkDigit(`${parts.join('')}${optional}`)}`;
  return ['P<UTOERIKSSON<<ANNA<MARIA'.padEnd(44, '<'), line2];
}

const FIELDS = new TextEncoder().encode(
  JSON.stringify({ mrz: specimenMrz(), firstName: 'Anna Maria', lastName: 'Eriksson' }),
);
/** A small stand-in for a document photo: the local provider does not look at images. */
const SCAN = new Uint8Array(2048).fill(0xab);

/**
 * One API call over the run's keep-alive pool. undici's `request` rather than `fetch`: the client shares
 * the two cores with the server, and `fetch` (WHATWG streams and headers over the same undici) costs it
 * about three times the CPU per request.
 */
async function call(pool, method, path, token, body) {
  const response = await pool.request({
    method,
    path,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  if (response.statusCode >= 300) {
    throw new BenchError(`${method} ${path} answered ${response.statusCode}: ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

const encoder = new TextEncoder();
const aad = (sessionId, attempt, kind) =>
  encoder.encode(`personachain kyc document v1\n${sessionId}\n${attempt}\n${kind}`);

/** One whole verification as a capture client and its project do it; returns ms from create to approved. */
async function verification(pool, projectId, key) {
  const started = performance.now();
  const created = await call(pool, 'POST', `/v1/projects/${projectId}/verifications`, key, {
    subject: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    checks: [{ type: 'document' }, { type: 'age', minimumAge: 18 }],
  });
  const token = created.clientToken;
  const session = await call(pool, 'GET', '/v1/verification-client/session', token);
  const recipient = { suite: 'X-Wing', publicKey: fromBase64Url(session.encryptionKey.publicKey) };
  for (const [kind, bytes, contentType] of [
    ['document-front', SCAN, 'image/jpeg'],
    ['fields', FIELDS, 'application/json'],
  ]) {
    const sealed = await sealDetached(recipient, bytes, { aad: aad(session.id, session.attempt, kind) });
    await call(pool, 'PUT', `/v1/verification-client/documents/${kind}`, token, {
      contentType,
      sealedKey: toBase64Url(sealed.sealedKey),
      ciphertext: toBase64Url(sealed.ciphertext),
    });
  }
  await call(pool, 'POST', '/v1/verification-client/submit', token);
  // One waiting read instead of polling: it answers when the platform is done with the session.
  for (;;) {
    const got = await call(pool, 'GET', `/v1/projects/${projectId}/verifications/${session.id}?wait=30`, key);
    if (got.status === 'approved') return performance.now() - started;
    if (!['submitted', 'processing'].includes(got.status)) {
      throw new BenchError(`session ${session.id} ended ${got.status} (${got.statusReason})`);
    }
  }
}

/** Runs `task` with `concurrency` in flight for warm-up + duration; counts and times the measured ones. */
async function load({ concurrency, warmup, duration }, task) {
  const histogram = createHistogram();
  const measureFrom = performance.now() + warmup * 1000;
  const stopAt = measureFrom + duration * 1000;
  let completed = 0;
  let completedInRun = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < stopAt) {
        const began = performance.now();
        const ms = await task();
        completedInRun++;
        if (began >= measureFrom && performance.now() <= stopAt) {
          completed++;
          histogram.record(Math.max(1, Math.round(ms * 1e6)));
        }
      }
    }),
  );
  return {
    perSec: round(completed / duration, 1),
    completed,
    /** Warm-up included: what the CPU measured over the whole run was spent on. */
    completedInRun,
    latencyMs: percentiles(histogram, [50, 95, 99], 1e6),
  };
}

async function main() {
  const options = parseOptions(USAGE, OPTIONS);
  const env = environment();
  const result = await withServerRun({ prefix: 'persona-bench-kyc-', budgetMs: 15 * 60_000 }, async (run) => {
    const server = await run.start({ extraEnv: { PERSONA_RATE_LIMIT_PUBLIC: RATE_LIMIT } });
    const baseUrl = server.baseUrl;
    const { projectId, secret } = await createProject(baseUrl, run.bootstrapKey, 'developer');
    await api(
      baseUrl,
      'POST',
      `/v1/projects/${projectId}/verification-providers`,
      run.bootstrapKey,
      { kind: 'local', name: 'bench' },
      201,
    );
    // Retention 0: the worker also destroys every decided session's documents during the run.
    await api(
      baseUrl,
      'PATCH',
      `/v1/projects/${projectId}/verification-settings`,
      run.bootstrapKey,
      { retentionSeconds: 0 },
      200,
    );

    const pool = new Pool(baseUrl, { connections: options.concurrency });
    try {
      log(`baseline: session creation alone, ${options.concurrency} in flight, ${options.duration} s`);
      const baseline = await load(options, async () => {
        const started = performance.now();
        await call(pool, 'POST', `/v1/projects/${projectId}/verifications`, secret, {
          subject: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
          checks: [{ type: 'document' }],
        });
        return performance.now() - started;
      });
      log(`  ${baseline.perSec} creates/s`);

      log(
        `end to end: create → upload ×2 → submit → approved, ${options.concurrency} in flight, ${options.duration} s`,
      );
      const serverCpuBefore = await processCpuSeconds(server.child.pid);
      const clientCpuBefore = process.cpuUsage();
      const measured = await load(options, () => verification(pool, projectId, secret));
      const clientCpu = process.cpuUsage(clientCpuBefore);
      const serverCpuAfter = await processCpuSeconds(server.child.pid);
      log(`  ${measured.perSec} approved sessions/s, p95 ${measured.latencyMs.p95} ms`);
      const sessionsRun = Math.max(1, measured.completedInRun);
      return {
        baseline: {
          name: 'session create only',
          createsPerSec: baseline.perSec,
          latencyMs: baseline.latencyMs,
        },
        endToEnd: {
          sessionsPerSec: measured.perSec,
          completed: measured.completed,
          latencyMs: measured.latencyMs,
          serverCpuMsPerSession: round(((serverCpuAfter - serverCpuBefore) * 1000) / sessionsRun, 2),
          clientCpuMsPerSession: round((clientCpu.user + clientCpu.system) / 1000 / sessionsRun, 2),
          ratioToBaseline: round(measured.perSec / baseline.perSec, 3),
        },
        serverPeakRssMiB: await peakRssMiB(server.child.pid),
      };
    } finally {
      await pool.close();
    }
  });
  const targets = {
    sessionsPerSec: {
      target: `>= ${TARGETS.minSessionsPerSec}`,
      met: result.endToEnd.sessionsPerSec >= TARGETS.minSessionsPerSec,
    },
  };
  await publishResult(resultPath('kyc', new Date()), {
    benchmark: 'kyc',
    options,
    environment: env,
    ...result,
    targets,
  });
}

await runMain('kyc', main);
