// What the benchmarks in bench/ share: option parsing, statistics, the machine they ran on, CPU
// accounting, and the result file. Every benchmark prints progress on stderr and its result JSON on
// stdout and to bench/results/ (see bench/README.md).

import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const RESULTS_DIR = join(REPO_ROOT, 'bench/results');

/** A broken measurement (setup failed, a wrong answer): reported without a stack, exit 1. */
export class BenchError extends Error {}

export const log = (message) => process.stderr.write(`${message}\n`);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const round = (value, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `{ p50, p95, … }` of a node:perf_hooks histogram, each divided by `divisor` (e.g. 1e6: ns → ms). */
export function percentiles(histogram, which, divisor, digits = 3) {
  return Object.fromEntries(which.map((p) => [`p${p}`, round(histogram.percentile(p) / divisor, digits)]));
}

const camelCase = (name) => name.replace(/-(\w)/g, (_, letter) => letter.toUpperCase());

function usageError(message, usage) {
  process.stderr.write(`${message}${usage ? `\n${usage}` : ''}\n`);
  process.exit(2);
}

function checkedNumber(name, raw, { min, max, integer }) {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    usageError(`--${name} must be a number from ${min} to ${max} (got "${raw}")`);
  }
  return integer ? Math.round(value) : value;
}

function checkedChoice(name, raw, choices) {
  if (!choices.includes(raw)) {
    const list = `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
    usageError(`--${name} must be ${list} (got "${raw}")`);
  }
  return raw;
}

/**
 * Parses the command line by `spec`: `{ name: { type?, default?, min?, max?, integer?, choices? } }`.
 * An option with `min`/`max` is a number in that range (`integer`: rounded); one with `choices` must be
 * one of them; `type: 'boolean'` is a flag. `--help` prints `usage` and exits 0; a bad option prints
 * why and exits 2. Returns the values under camelCase names (`--ratio-runs` → `ratioRuns`).
 */
export function parseOptions(usage, spec) {
  const options = { help: { type: 'boolean', default: false } };
  for (const [name, { type = 'string', default: fallback }] of Object.entries(spec)) {
    options[name] = { type, default: fallback ?? (type === 'boolean' ? false : undefined) };
  }
  let values;
  try {
    ({ values } = parseArgs({ options }));
  } catch (error) {
    usageError(error.message, usage);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const parsed = {};
  for (const [name, rule] of Object.entries(spec)) {
    let value = values[name];
    if (rule.min !== undefined) value = checkedNumber(name, value, rule);
    else if (rule.choices) value = checkedChoice(name, value, rule.choices);
    parsed[camelCase(name)] = value;
  }
  return parsed;
}

/** The machine and runtime a result was measured on; call it at the start (load average). */
export function environment() {
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: { count: os.availableParallelism(), model: os.cpus()[0]?.model ?? 'unknown' },
    loadAverageAtStart: os.loadavg().map((value) => round(value)),
  };
}

/** This process's peak resident set size so far, in MiB. */
export const ownPeakRssMiB = () => round(process.resourceUsage().maxRSS / 1024, 1);

/** Linux: CPU seconds of the whole machine from /proc/stat: busy in processes, and in interrupts. */
export async function machineCpuSeconds() {
  try {
    const stat = await readFile('/proc/stat', 'utf8');
    const [user, nice, system, , , irq, softirq, steal] = stat
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    // Loopback TCP is processed in softirq time, which no process is charged with.
    return { processes: (user + nice + system + steal) / 100, interrupts: (irq + softirq) / 100 };
  } catch {
    return null;
  }
}

/**
 * Starts measuring CPU; `stop()` returns the cores this process used (1.0 = one core busy all the time)
 * and the cores the rest of the machine used meanwhile, interrupts included (null where /proc is absent).
 * On a 2-core machine, other work near 1 core means the measurement shared the machine.
 */
export async function cpuMeter() {
  const machineBefore = await machineCpuSeconds();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  return {
    async stop() {
      const own = process.cpuUsage(ownBefore);
      const seconds = (performance.now() - started) / 1000;
      const machineAfter = await machineCpuSeconds();
      const ownSeconds = (own.user + own.system) / 1e6;
      const busy = (m) => m.processes + m.interrupts;
      return {
        cpuCores: round(ownSeconds / seconds),
        otherCpuCores:
          machineBefore === null || machineAfter === null
            ? null
            : round(Math.max(0, busy(machineAfter) - busy(machineBefore) - ownSeconds) / seconds),
      };
    },
  };
}

/**
 * Linux: the file system holding `path`, from /proc/self/mounts (the longest mount point that is a
 * prefix of its real path); null elsewhere. Tells whether a "disk" benchmark really ran on a disk.
 */
export function filesystemOf(path) {
  try {
    const real = realpathSync(path);
    let best = null;
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [source, target, type] = line.split(' ');
      if (!target) continue;
      const mountPoint = target.replace(/\\040/g, ' ');
      const inside = real === mountPoint || real.startsWith(mountPoint === sep ? sep : mountPoint + sep);
      if (inside && (!best || mountPoint.length > best.mountPoint.length)) {
        best = { source, type, mountPoint };
      }
    }
    return best;
  } catch {
    return null;
  }
}

/** Throws a BenchError naming `hint` when a built file the benchmark needs is missing. */
export function requireBuilt(file, hint) {
  if (!existsSync(file)) throw new BenchError(`${file} is missing: ${hint}`);
}

/** Imports a built module by its path in the repository, or throws a BenchError naming `hint`. */
export function importBuilt(path, hint) {
  const file = join(REPO_ROOT, path);
  requireBuilt(file, hint);
  return import(pathToFileURL(file).href);
}

/** A file-name-safe timestamp: 2026-11-21T07-22-17-000Z. */
export const fileTimestamp = (date) => date.toISOString().replace(/[:.]/g, '-');

/** bench/results/<benchmark>-<timestamp><suffix>.json */
export const resultPath = (benchmark, date, suffix = '') =>
  join(RESULTS_DIR, `${benchmark}-${fileTimestamp(date)}${suffix}.json`);

/** Writes the result JSON to `file`, says so on stderr, and prints the JSON on stdout. */
export async function publishResult(file, result) {
  const json = JSON.stringify(result, null, 2);
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(file, `${json}\n`);
  log(`wrote ${file}\n`);
  process.stdout.write(`${json}\n`);
}

/** Runs a benchmark's main: a failure is reported as `<name>: FAILED: …` with exit code 1. */
export async function runMain(name, main) {
  try {
    await main();
  } catch (error) {
    log(`${name}: FAILED: ${error instanceof BenchError ? error.message : error.stack}`);
    process.exitCode = 1;
  }
}
