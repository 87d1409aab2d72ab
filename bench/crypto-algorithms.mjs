#!/usr/bin/env node
// Per-algorithm throughput of packages/crypto: key generation, sign/verify, encapsulate/decapsulate and
// key agreement for every algorithm, on the native (node:crypto) and the noble backend in the same run,
// plus the native/noble ratio for ML-DSA-65 verify (target >= 10x on Node 24).
//
//   npx tsc -b packages/crypto && node bench/crypto-algorithms.mjs [--duration 0.5] [--warmup 0.1] [--ratio-runs 3]
//
// Progress goes to stderr; the result JSON goes to stdout and to bench/results/. See bench/README.md.

import { createHistogram } from 'node:perf_hooks';
import {
  BenchError,
  environment,
  importBuilt,
  log,
  median,
  ownPeakRssMiB,
  parseOptions,
  publishResult,
  resultPath,
  round,
  runMain,
} from './lib.mjs';

const CRYPTO_DIST = 'packages/crypto/dist/index.js';
const TARGETS = { minMlDsa65VerifyNativeToNoble: 10 };
const BACKENDS = ['native', 'noble'];

const USAGE = `usage: node bench/crypto-algorithms.mjs [options]
  --duration <s>     measured seconds per operation, algorithm and backend (default 0.5); an operation
                     slower than that (SLH-DSA signing, Falcon key generation) still runs once
  --warmup <s>       warm-up seconds before every measurement (default 0.1)
  --ratio-runs <n>   extra interleaved native/noble runs of ML-DSA-65 verify for the target (default 3)
  --only <text>      measure only algorithms whose name contains <text> (case-insensitive)
  --help`;

/** Runs `operation` sequentially for `seconds` (at least once) and returns ops/s and latency. */
async function measure(operation, seconds, warmup) {
  if (warmup > 0) {
    const until = performance.now() + warmup * 1000;
    do await operation();
    while (performance.now() < until);
  }
  const histogram = createHistogram();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let ops = 0;
  do {
    const t0 = process.hrtime.bigint();
    await operation();
    histogram.record(process.hrtime.bigint() - t0);
    ops++;
  } while (performance.now() < deadline);
  const elapsed = (performance.now() - started) / 1000;
  return {
    opsPerSec: round(ops / elapsed, 1),
    ops,
    p50Us: round(histogram.percentile(50) / 1e3, 1),
    p99Us: round(histogram.percentile(99) / 1e3, 1),
  };
}

/**
 * The operations of one algorithm on one backend, each checked once before it is timed, so that a
 * broken backend fails the benchmark instead of producing a fast number.
 */
async function signatureOperations(crypto, algorithm, backend) {
  const scheme = crypto.signatureScheme(algorithm, backend);
  const message = crypto.randomBytes(64);
  const pair = await scheme.generateKeyPair();
  const signature = await scheme.sign(pair.secretKey, message);
  if (!(await scheme.verify(pair.publicKey, message, signature))) {
    throw new BenchError(`${algorithm} on ${scheme.backend}: a fresh signature does not verify`);
  }
  return {
    backend: scheme.backend,
    operations: {
      keygen: () => scheme.generateKeyPair(),
      sign: () => scheme.sign(pair.secretKey, message),
      verify: () => scheme.verify(pair.publicKey, message, signature),
    },
  };
}

async function kemOperations(crypto, algorithm, backend) {
  const kem = crypto.kemScheme(algorithm, backend);
  const pair = await kem.generateKeyPair();
  const { sharedSecret, ciphertext } = await kem.encapsulate(pair.publicKey);
  if (!crypto.constantTimeEqual(await kem.decapsulate(pair.secretKey, ciphertext), sharedSecret)) {
    throw new BenchError(`${algorithm} on ${kem.backend}: decapsulation disagrees with encapsulation`);
  }
  return {
    backend: kem.backend,
    operations: {
      keygen: () => kem.generateKeyPair(),
      encapsulate: () => kem.encapsulate(pair.publicKey),
      decapsulate: () => kem.decapsulate(pair.secretKey, ciphertext),
    },
  };
}

async function agreementOperations(crypto, algorithm, backend) {
  const agreement = crypto.keyAgreement(algorithm, backend);
  const a = await agreement.generateKeyPair();
  const b = await agreement.generateKeyPair();
  const ab = await agreement.deriveSharedSecret(a.secretKey, b.publicKey);
  if (!crypto.constantTimeEqual(ab, await agreement.deriveSharedSecret(b.secretKey, a.publicKey))) {
    throw new BenchError(`${algorithm} on ${agreement.backend}: the two sides disagree`);
  }
  return {
    backend: agreement.backend,
    operations: {
      keygen: () => agreement.generateKeyPair(),
      agree: () => agreement.deriveSharedSecret(a.secretKey, b.publicKey),
    },
  };
}

async function main() {
  const options = parseOptions(USAGE, {
    duration: { default: '0.5', min: 0.05, max: 600 },
    warmup: { default: '0.1', min: 0, max: 60 },
    'ratio-runs': { default: '3', min: 1, max: 20, integer: true },
    only: {},
  });
  options.only = options.only?.toLowerCase();
  const crypto = await importBuilt(CRYPTO_DIST, 'run npx tsc -b packages/crypto');

  const families = [
    ...crypto.signatureAlgorithms.map((algorithm) => ({
      kind: 'signature',
      algorithm,
      build: signatureOperations,
    })),
    ...crypto.kemAlgorithms.map((algorithm) => ({ kind: 'kem', algorithm, build: kemOperations })),
    ...crypto.keyAgreementAlgorithms.map((algorithm) => ({
      kind: 'agreement',
      algorithm,
      build: agreementOperations,
    })),
  ].filter(({ algorithm }) => !options.only || algorithm.toLowerCase().includes(options.only));

  const startedAt = new Date();
  const result = {
    benchmark: 'crypto-algorithms',
    startedAt: startedAt.toISOString(),
    ...environment(),
    openssl: process.versions.openssl,
    config: { ...options, operation: 'one operation at a time, awaited, one thread; 64-byte messages' },
    results: [],
  };

  log(
    `${'algorithm'.padEnd(20)} ${'backend'.padEnd(7)} ${'operation'.padEnd(12)} ${'ops/s'.padStart(10)}  p50`,
  );
  for (const family of families) {
    for (const requested of BACKENDS) {
      const { backend, operations } = await family.build(crypto, family.algorithm, requested);
      // A native request for an algorithm OpenSSL lacks runs on noble: measured once, under noble.
      if (requested === 'native' && backend !== 'native') {
        result.results.push({
          kind: family.kind,
          algorithm: family.algorithm,
          backend: 'native',
          unavailable: true,
        });
        log(`${family.algorithm.padEnd(20)} native  (node:crypto lacks it: noble only)`);
        continue;
      }
      for (const [operation, run] of Object.entries(operations)) {
        const measured = await measure(run, options.duration, options.warmup);
        result.results.push({
          kind: family.kind,
          algorithm: family.algorithm,
          backend,
          operation,
          ...measured,
        });
        log(
          `${family.algorithm.padEnd(20)} ${backend.padEnd(7)} ${operation.padEnd(12)} ${String(measured.opsPerSec).padStart(10)}  ${measured.p50Us} µs`,
        );
      }
    }
  }

  // The target: ML-DSA-65 verify, native vs noble, in interleaved runs so that a noisy interval hurts
  // one run, not one backend.
  const ratio = { runs: [] };
  if (!options.only || 'ml-dsa-65'.includes(options.only)) {
    const native = await signatureOperations(crypto, 'ML-DSA-65', 'native');
    const noble = await signatureOperations(crypto, 'ML-DSA-65', 'noble');
    if (native.backend === 'native') {
      for (let run = 1; run <= options.ratioRuns; run++) {
        const nativeRun = await measure(
          native.operations.verify,
          Math.max(options.duration, 1),
          options.warmup,
        );
        const nobleRun = await measure(
          noble.operations.verify,
          Math.max(options.duration, 1),
          options.warmup,
        );
        ratio.runs.push({
          run,
          nativeOpsPerSec: nativeRun.opsPerSec,
          nobleOpsPerSec: nobleRun.opsPerSec,
          ratio: round(nativeRun.opsPerSec / nobleRun.opsPerSec),
        });
        log(`ML-DSA-65 verify run ${run}: native ${nativeRun.opsPerSec}/s, noble ${nobleRun.opsPerSec}/s`);
      }
    }
  }
  result.mlDsa65Verify = ratio;
  const best = (key) => Math.max(...ratio.runs.map((run) => run[key]));
  const value = ratio.runs.length ? round(best('nativeOpsPerSec') / best('nobleOpsPerSec')) : null;
  result.targets = {
    basis:
      'best native run over best noble run (noise only ever slows a run down); median of per-run ratios shown too',
    mlDsa65VerifyNativeToNoble: {
      target: `>= ${TARGETS.minMlDsa65VerifyNativeToNoble}`,
      value,
      median: ratio.runs.length ? round(median(ratio.runs.map((run) => run.ratio))) : null,
      pass: value !== null && value >= TARGETS.minMlDsa65VerifyNativeToNoble,
    },
  };
  result.targets.allPass = result.targets.mlDsa65VerifyNativeToNoble.pass;
  result.peakRssMiB = ownPeakRssMiB();
  log(
    `\nML-DSA-65 verify native/noble: ${value ?? 'not measured'}x (target >= ${TARGETS.minMlDsa65VerifyNativeToNoble}: ` +
      `${result.targets.allPass ? 'PASS' : 'MISS'})`,
  );
  await publishResult(resultPath('crypto-algorithms', startedAt), result);
}

await runMain('crypto-algorithms', main);
