#!/usr/bin/env node
// Vault items end to end through the API, with the SDK's client-side crypto in this process: 4 KiB item
// puts (sealed to the member with HPKE X-Wing, one hybrid-signed manifest per commit) and gets (opened
// and checked against the verified manifest), every one of them an access decision by the four
// evaluators and a ledger entry. The baseline in the same run is a plain authenticated read of the
// vault's metadata (API key, no member session, no crypto, no decision).
//
//   node bench/vaults.mjs [--duration 10] [--warmup 2] [--vaults 8] [--batch 16] [--concurrency 32]
//
// Progress goes to stderr; the result JSON goes to stdout and to bench/results/. See bench/README.md.

import { createHistogram, performance } from 'node:perf_hooks';
import {
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

const TARGETS = { minPutsPerSec: 1500, minGetsPerSec: 1500 };

const USAGE = `usage: node bench/vaults.mjs [options]
  --duration <s>      measured seconds per phase (default 10)
  --warmup <s>        warm-up seconds per phase (default 2)
  --vaults <n>        vaults, one writing member each (default 8)
  --batch <n>         items per commit in the batched put phase (default 16)
  --concurrency <n>   gets in flight (default 32)
  --items <n>         distinct items per vault (default 64)
  --help`;

const OPTIONS = {
  duration: { default: '10', min: 1, max: 600, integer: true },
  warmup: { default: '2', min: 0, max: 60, integer: true },
  vaults: { default: '8', min: 1, max: 256, integer: true },
  batch: { default: '16', min: 1, max: 64, integer: true },
  concurrency: { default: '32', min: 1, max: 1000, integer: true },
  items: { default: '64', min: 1, max: 5000, integer: true },
};

const { VaultClient } = await importBuilt('packages/sdk/dist/index.js', 'run `npx tsc -b` first');
const { MemberKeys, newItemId } = await importBuilt(
  'packages/vaults/dist/index.js',
  'run `npx tsc -b` first',
);

const ITEM = new Uint8Array(4096).map((_, i) => (i * 31) & 0xff);
const FINGERPRINT = 'bench-device-fingerprint-hash-0001';

/**
 * The members here are services writing and reading thousands of times a minute: the template lifts the
 * velocity limits that would otherwise (rightly) make the watchdog veto them. Everything else is default.
 */
const TEMPLATE = { velocity: { perMinute: 100_000, perHour: 1_000_000 } };

/** Runs `task` with `concurrency` in flight for warm-up + duration; counts units and times the calls. */
async function load({ concurrency, warmup, duration }, task) {
  const histogram = createHistogram();
  const measureFrom = performance.now() + warmup * 1000;
  const stopAt = measureFrom + duration * 1000;
  let units = 0;
  let calls = 0;
  let allUnits = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < stopAt) {
        const began = performance.now();
        const done = await task(worker);
        const ended = performance.now();
        allUnits += done;
        if (began >= measureFrom && ended <= stopAt) {
          units += done;
          calls++;
          histogram.record(Math.max(1, Math.round((ended - began) * 1e6)));
        }
      }
    }),
  );
  return {
    perSec: round(units / duration, 1),
    calls,
    latencyMs: percentiles(histogram, [50, 95, 99], 1e6),
    allUnits,
  };
}

async function measure(server, options, name, task) {
  const cpuBefore = await processCpuSeconds(server.child.pid);
  const clientBefore = process.cpuUsage();
  const { allUnits, ...result } = await load(options, task);
  const client = process.cpuUsage(clientBefore);
  const cpuAfter = await processCpuSeconds(server.child.pid);
  const units = Math.max(1, result.perSec * options.duration);
  log(`  ${name}: ${result.perSec}/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms`);
  return {
    ...result,
    serverCpuMsPerUnit: round(((cpuAfter - cpuBefore) * 1000) / units, 3),
    // This process over warm-up and measurement alike, per unit done in either: the SDK's crypto and HTTP.
    clientCpuMsPerUnit: round((client.user + client.system) / 1000 / Math.max(1, allUnits), 3),
  };
}

async function main() {
  const options = parseOptions(USAGE, OPTIONS);
  const env = environment();
  const result = await withServerRun(
    { prefix: 'persona-bench-vaults-', budgetMs: 15 * 60_000 },
    async (run) => {
      const server = await run.start({ extraEnv: { PERSONA_RATE_LIMIT_PUBLIC: RATE_LIMIT } });
      const baseUrl = server.baseUrl;
      const { projectId, secret } = await createProject(baseUrl, run.bootstrapKey, 'admin');
      const context = {
        deviceFingerprint: FINGERPRINT,
        authentication: { methods: ['pwd', 'otp'], authenticatedAt: new Date().toISOString() },
      };

      log(`setup: ${options.vaults} vaults, ${options.items} items of 4 KiB each`);
      const vaults = [];
      for (let v = 0; v < options.vaults; v++) {
        const subject = `did:example:bench-member-${v}`;
        await api(
          baseUrl,
          'POST',
          `/v1/projects/${projectId}/vault-devices`,
          secret,
          { subject, fingerprintHash: FINGERPRINT },
          201,
        );
        const client = await VaultClient.create({
          baseUrl,
          apiKey: secret,
          projectId,
          member: { subject, keys: await MemberKeys.generate() },
          context,
          template: TEMPLATE,
        });
        const itemIds = Array.from({ length: options.items }, () => newItemId());
        for (let i = 0; i < itemIds.length; i += 64) {
          await client.put(itemIds.slice(i, i + 64).map((itemId) => ({ itemId, data: ITEM })));
        }
        vaults.push({ client, itemIds, next: 0 });
      }
      const nextItems = (vault, count) =>
        Array.from({ length: count }, () => vault.itemIds[vault.next++ % vault.itemIds.length]);

      log('baseline: GET /vaults/{id} (API key only: no session, no crypto, no decision)');
      const baseline = await measure(server, options, 'metadata reads', async (worker) => {
        const vault = vaults[worker % vaults.length];
        await api(
          baseUrl,
          'GET',
          `/v1/projects/${projectId}/vaults/${vault.client.vaultId}`,
          secret,
          undefined,
          200,
        );
        return 1;
      });

      // Commits to one vault are a chain: one writer per vault, so the writers are the vaults.
      const writers = { ...options, concurrency: options.vaults };
      log(`puts: one 4 KiB item per commit, ${options.vaults} writers`);
      const single = await measure(server, writers, 'single-item commits', async (worker) => {
        const vault = vaults[worker];
        await vault.client.put(nextItems(vault, 1).map((itemId) => ({ itemId, data: ITEM })));
        return 1;
      });
      log(`puts: ${options.batch} items of 4 KiB per commit, ${options.vaults} writers`);
      const batched = await measure(server, writers, 'batched items', async (worker) => {
        const vault = vaults[worker];
        await vault.client.put(nextItems(vault, options.batch).map((itemId) => ({ itemId, data: ITEM })));
        return options.batch;
      });

      log(`gets: ${options.concurrency} in flight over ${options.vaults} vaults`);
      const gets = await measure(server, options, 'gets', async (worker) => {
        const vault = vaults[worker % vaults.length];
        const data = await vault.client.get(nextItems(vault, 1)[0]);
        if (data.length !== ITEM.length) throw new Error('a get returned the wrong item');
        return 1;
      });

      return {
        baseline: { name: 'GET vault metadata (API key only)', ...baseline },
        puts: {
          singleItemCommits: single,
          batchedCommits: { itemsPerCommit: options.batch, ...batched },
        },
        gets: { ...gets, ratioToBaseline: round(gets.perSec / baseline.perSec, 3) },
        serverPeakRssMiB: await peakRssMiB(server.child.pid),
      };
    },
  );
  const bestPuts = Math.max(result.puts.singleItemCommits.perSec, result.puts.batchedCommits.perSec);
  const targets = {
    putsPerSec: {
      target: `>= ${TARGETS.minPutsPerSec}`,
      value: bestPuts,
      met: bestPuts >= TARGETS.minPutsPerSec,
    },
    getsPerSec: {
      target: `>= ${TARGETS.minGetsPerSec}`,
      value: result.gets.perSec,
      met: result.gets.perSec >= TARGETS.minGetsPerSec,
    },
  };
  await publishResult(resultPath('vaults', new Date()), {
    benchmark: 'vaults',
    options,
    environment: env,
    ...result,
    targets,
  });
}

await runMain('vaults', main);
