#!/usr/bin/env node
// HPKE envelope throughput: seal + open of one single-recipient envelope (packages/crypto), 1 KiB and 1 MiB,
// for X-Wing on node:crypto (the default suite), DHKEM(X25519) (the classical baseline) and
// @hpke/hybridkem-x-wing (pure-JS X-Wing, the second baseline), interleaved in one run.
//
//   npx tsc -b packages/crypto && node bench/crypto-envelope.mjs [--duration 3] [--warmup 1] [--runs 3]
//
// Progress goes to stderr; the result JSON goes to stdout and to bench/results/. See bench/README.md.

import { createHistogram } from 'node:perf_hooks';
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
  resultPath,
  round,
  runMain,
} from './lib.mjs';

const CRYPTO_DIST = 'packages/crypto/dist/index.js';
const TARGETS = { minXWingSealOpen1KiBPerSec: 10_000 };
const SIZES = [
  { name: '1KiB', bytes: 1024 },
  { name: '1MiB', bytes: 1024 * 1024 },
];

const USAGE = `usage: node bench/crypto-envelope.mjs [options]
  --duration <s>   measured seconds per run (default 3)
  --warmup <s>     warm-up seconds before every measured run (default 1)
  --runs <n>       measured runs per variant and size, interleaved (default 3)
  --help`;

/** Sequential seal + open for `seconds`; every open is checked for the right length. */
async function loop(crypto, variant, keyPair, message, seconds, histogram) {
  const options = { backend: variant.backend };
  const deadline = performance.now() + seconds * 1000;
  let ops = 0;
  const started = performance.now();
  while (performance.now() < deadline) {
    const t0 = process.hrtime.bigint();
    const sealed = await crypto.sealEnvelope(keyPair, message, options);
    const opened = await crypto.openEnvelope(keyPair, sealed, options);
    histogram?.record(process.hrtime.bigint() - t0);
    if (opened.length !== message.length)
      throw new BenchError(`${variant.name}: open returned the wrong length`);
    ops++;
  }
  return { ops, seconds: (performance.now() - started) / 1000 };
}

/** The native primitives one X-Wing seal + open needs, timed alone: the floor under the envelope's cost. */
function primitiveFloor() {
  const crypto = process.getBuiltinModule('node:crypto');
  const time = (fn) => {
    for (let i = 0; i < 200; i++) fn();
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < 500) {
      fn();
      n++;
    }
    return ((performance.now() - started) * 1000) / n;
  };
  try {
    const mlKem = crypto.generateKeyPairSync('ml-kem-768');
    const { ciphertext } = crypto.encapsulate(mlKem.publicKey);
    const x = crypto.generateKeyPairSync('x25519');
    const us = {
      mlKem768Encapsulate: time(() => crypto.encapsulate(mlKem.publicKey)),
      mlKem768Decapsulate: time(() => crypto.decapsulate(mlKem.privateKey, ciphertext)),
      x25519KeyGen: time(() => crypto.generateKeyPairSync('x25519')),
      x25519Dh: time(() => crypto.diffieHellman({ privateKey: x.privateKey, publicKey: x.publicKey })),
    };
    // Seal: ML-KEM encapsulate + ephemeral X25519 key + 1 DH; open: ML-KEM decapsulate + 1 DH.
    const perSealOpen = us.mlKem768Encapsulate + us.mlKem768Decapsulate + us.x25519KeyGen + 2 * us.x25519Dh;
    return {
      note: 'node:crypto alone, no HPKE: ML-KEM encaps + decaps + X25519 keygen + 2 X25519 DH per seal+open',
      microsecondsPerOp: Object.fromEntries(Object.entries(us).map(([k, v]) => [k, round(v)])),
      microsecondsPerSealOpen: round(perSealOpen),
      maxSealOpenPerSec: Math.round(1e6 / perSealOpen),
    };
  } catch (error) {
    return { skipped: `node:crypto lacks ML-KEM-768 here (${error.message})` };
  }
}

async function main() {
  const options = parseOptions(USAGE, {
    duration: { default: '3', min: 0.2, max: 600 },
    warmup: { default: '1', min: 0, max: 60 },
    runs: { default: '3', min: 1, max: 20, integer: true },
  });
  const crypto = await importBuilt(CRYPTO_DIST, 'run npx tsc -b packages/crypto');

  const nativeXWing = crypto.envelopeSuite('X-Wing', 'native').backend === 'native';
  const variants = [
    { name: 'X-Wing (node:crypto)', suite: 'X-Wing', backend: 'native' },
    { name: 'DHKEM-X25519', suite: 'DHKEM-X25519', backend: 'native' },
  ];
  if (nativeXWing) variants.push({ name: 'X-Wing (@hpke/hybridkem-x-wing)', suite: 'X-Wing', backend: 'js' });
  else variants[0].name = 'X-Wing (@hpke/hybridkem-x-wing; node:crypto lacks ML-KEM)';

  const startedAt = new Date();
  const result = {
    benchmark: 'crypto-envelope',
    startedAt: startedAt.toISOString(),
    ...environment(),
    openssl: process.versions.openssl,
    config: {
      ...options,
      operation: 'sealEnvelope + openEnvelope, single recipient, sequential, one thread',
    },
    variants: variants.map(({ name, suite, backend }) => ({
      name,
      suite,
      backend: crypto.envelopeSuite(suite, backend).backend,
    })),
    runs: [],
  };

  const keyPairs = new Map();
  for (const variant of variants) {
    const keyPair = await crypto.generateEnvelopeKeyPair(variant.suite, { backend: variant.backend });
    // Check the variant really round-trips before timing it.
    const probe = crypto.randomBytes(64);
    const backend = { backend: variant.backend };
    const opened = await crypto.openEnvelope(
      keyPair,
      await crypto.sealEnvelope(keyPair, probe, backend),
      backend,
    );
    if (!crypto.constantTimeEqual(opened, probe)) throw new BenchError(`${variant.name} does not round-trip`);
    keyPairs.set(variant, keyPair);
  }

  for (const size of SIZES) {
    const message = crypto.randomBytes(size.bytes);
    for (let run = 1; run <= options.runs; run++) {
      for (const variant of variants) {
        const keyPair = keyPairs.get(variant);
        if (options.warmup > 0) await loop(crypto, variant, keyPair, message, options.warmup);
        const histogram = createHistogram();
        const cpu = await cpuMeter();
        const { ops, seconds } = await loop(crypto, variant, keyPair, message, options.duration, histogram);
        const { cpuCores, otherCpuCores } = await cpu.stop();
        const entry = {
          variant: variant.name,
          size: size.name,
          run,
          ops,
          seconds: round(seconds, 3),
          sealOpenPerSec: round(ops / seconds, 1),
          mibPerSec: round((ops * size.bytes) / seconds / 1024 / 1024, 1),
          latencyMs: { ...percentiles(histogram, [50, 95, 99], 1e6), max: round(histogram.max / 1e6, 3) },
          cpuCores,
          otherCpuCores,
        };
        result.runs.push(entry);
        log(
          `  ${size.name.padEnd(5)} ${variant.name.padEnd(34)} ${String(entry.sealOpenPerSec).padStart(9)} seal+open/s` +
            `  p50 ${entry.latencyMs.p50} ms  p99 ${entry.latencyMs.p99} ms` +
            `  (CPU cores: bench ${entry.cpuCores}, other processes ${entry.otherCpuCores ?? '?'})`,
        );
      }
    }
  }

  result.summary = {};
  for (const size of SIZES) {
    result.summary[size.name] = {};
    for (const variant of variants) {
      const runs = result.runs.filter((entry) => entry.variant === variant.name && entry.size === size.name);
      const rates = runs.map((entry) => entry.sealOpenPerSec);
      result.summary[size.name][variant.name] = {
        sealOpenPerSec: { best: Math.max(...rates), median: round(median(rates), 1) },
        p50Ms: { best: Math.min(...runs.map((entry) => entry.latencyMs.p50)) },
        p99Ms: { best: Math.min(...runs.map((entry) => entry.latencyMs.p99)) },
      };
    }
  }
  const xwing1k = result.summary['1KiB'][variants[0].name].sealOpenPerSec;
  const js1k = nativeXWing ? result.summary['1KiB'][variants[2].name].sealOpenPerSec : undefined;
  const classical1k = result.summary['1KiB'][variants[1].name].sealOpenPerSec;
  result.comparison = {
    xwingNativeVsJs1KiB: js1k ? round(xwing1k.best / js1k.best) : null,
    xwingNativeVsDhkem1KiB: round(xwing1k.best / classical1k.best),
  };
  result.primitiveFloor = nativeXWing ? primitiveFloor() : { skipped: 'no native ML-KEM' };
  result.peakRssMiB = ownPeakRssMiB();
  result.targets = {
    basis: 'best of the runs (on a shared machine noise only slows a run down); median shown for comparison',
    xwingSealOpen1KiBPerSec: {
      target: `>= ${TARGETS.minXWingSealOpen1KiBPerSec}`,
      value: xwing1k.best,
      median: xwing1k.median,
      pass: xwing1k.best >= TARGETS.minXWingSealOpen1KiBPerSec,
    },
  };
  result.targets.allPass = result.targets.xwingSealOpen1KiBPerSec.pass;

  log(
    `\nX-Wing seal+open 1 KiB: ${xwing1k.best}/s (target >= ${TARGETS.minXWingSealOpen1KiBPerSec}: ` +
      `${result.targets.allPass ? 'PASS' : 'MISS'}); native primitives alone allow ` +
      `${result.primitiveFloor.maxSealOpenPerSec ?? '?'}/s`,
  );
  await publishResult(resultPath('crypto-envelope', startedAt), result);
}

await runMain('crypto-envelope', main);
