#!/usr/bin/env node
// Summarises a V8 .cpuprofile (as written by `node --cpu-prof`): the functions with the most self time,
// and the time per "package" — a node_modules package, one of our own source files, a Node.js core
// module, WebAssembly, or V8's pseudo-nodes (GC, idle, program).
//
//   node bench/cpuprofile-summary.mjs <file.cpuprofile> [--top 25] [--json]
//
// Also imported by bench/api-throughput.mjs (`--profile`).

import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const PSEUDO = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);

/** Which package a profile node's script belongs to. */
export function packageOf(url, functionName, repoRoot = REPO_ROOT) {
  if (!url) return PSEUDO.has(functionName) ? functionName : '(native: V8 builtins, C++)';
  if (url.startsWith('node:')) return url;
  if (url.startsWith('wasm://')) return 'wasm';
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = fileURLToPath(url);
    } catch {
      return url;
    }
  }
  const marker = '/node_modules/';
  const at = path.lastIndexOf(marker);
  if (at !== -1) {
    const parts = path.slice(at + marker.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (path.startsWith(repoRoot)) return relative(repoRoot, path);
  return path;
}

function shortUrl(url, repoRoot) {
  if (!url) return '';
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = fileURLToPath(url);
    } catch {
      return url;
    }
  }
  const at = path.lastIndexOf('/node_modules/');
  if (at !== -1) return path.slice(at + '/node_modules/'.length);
  if (path.startsWith(repoRoot)) return relative(repoRoot, path);
  return path;
}

/** Node.js core and V8/native frames: their time is charged to whoever called them (`attributed`). */
const isRuntime = (pkg) => pkg.startsWith('node:') || pkg.startsWith('(native');

const round = (value, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * @param profile a parsed .cpuprofile
 * @param options.top how many functions / packages to list
 * @param options.windowUs optional {startUs, endUs} on the profile's clock (CLOCK_MONOTONIC µs, the same
 *   clock as process.hrtime in any process on Linux): only samples inside it are counted
 */
export function summarizeCpuProfile(profile, { top = 25, windowUs = null, repoRoot = REPO_ROOT } = {}) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Each sample stands for the interval until the next sample (as Chrome DevTools counts it).
  const { samples, timeDeltas } = profile;
  const times = new Array(samples.length);
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i];
    times[i] = t;
  }
  let windowNote = 'whole profile';
  let from = Number.NEGATIVE_INFINITY;
  let to = Number.POSITIVE_INFINITY;
  if (windowUs && windowUs.startUs >= profile.startTime && windowUs.endUs <= profile.endTime + 1e6) {
    from = windowUs.startUs;
    to = windowUs.endUs;
    windowNote = `samples inside the measured window only (${round((to - from) / 1e6, 2)} s)`;
  } else if (windowUs) {
    windowNote = 'whole profile (the measured window did not fall inside the profile clock range)';
  }

  const selfByFunction = new Map();
  const selfByPackage = new Map();
  const attributedByPackage = new Map();
  const inclusiveByPackage = new Map();
  const packageCache = new Map();
  const pkgOf = (node) => {
    let pkg = packageCache.get(node.id);
    if (pkg === undefined) {
      pkg = packageOf(node.callFrame.url, node.callFrame.functionName, repoRoot);
      packageCache.set(node.id, pkg);
    }
    return pkg;
  };
  let total = 0;
  let idle = 0;
  for (let i = 0; i < samples.length; i++) {
    if (times[i] < from || times[i] > to) continue;
    const dt = i + 1 < samples.length ? times[i + 1] - times[i] : (timeDeltas[i] ?? 0);
    if (dt <= 0) continue;
    const leaf = nodes.get(samples[i]);
    if (!leaf) continue;
    total += dt;
    const frame = leaf.callFrame;
    if (frame.functionName === '(idle)') idle += dt;

    const name = frame.functionName || '(anonymous)';
    const where = frame.url ? `${shortUrl(frame.url, repoRoot)}:${frame.lineNumber + 1}` : '';
    const key = where ? `${name} ${where}` : name;
    const entry = selfByFunction.get(key) ?? { function: name, location: where, package: pkgOf(leaf), us: 0 };
    entry.us += dt;
    selfByFunction.set(key, entry);

    const leafPkg = pkgOf(leaf);
    selfByPackage.set(leafPkg, (selfByPackage.get(leafPkg) ?? 0) + dt);
    const seen = new Set();
    let charged = null;
    for (let id = leaf.id; id !== undefined; id = parent.get(id)) {
      const node = nodes.get(id);
      if (node.callFrame.functionName === '(root)') continue;
      const pkg = pkgOf(node);
      seen.add(pkg);
      if (charged === null && !isRuntime(pkg)) charged = pkg;
    }
    charged ??= leafPkg;
    attributedByPackage.set(charged, (attributedByPackage.get(charged) ?? 0) + dt);
    for (const pkg of seen) inclusiveByPackage.set(pkg, (inclusiveByPackage.get(pkg) ?? 0) + dt);
  }

  const busy = total - idle;
  const pct = (us) => (busy > 0 ? round((100 * us) / busy) : 0);
  return {
    window: windowNote,
    sampledMs: round(total / 1000, 0),
    idleMs: round(idle / 1000, 0),
    busyMs: round(busy / 1000, 0),
    note:
      'percentages are of busy (non-idle) time. inclusive: a sample counts once for every package on its stack. ' +
      'self: the package of the leaf frame. attributed: the leaf, or if it is Node.js core or native code, ' +
      'the nearest package or source file of ours below it on the stack (who caused the work); sums to 100%. ' +
      "Caveat: V8's sampler interrupts the thread with a signal, and on a VM signals tend to land as a system " +
      'call returns, so functions that make system calls (socket writes, SQLite file locks) are over-counted: ' +
      'cross-check large native shares with `perf` (see bench/README.md).',
    topSelfFunctions: [...selfByFunction.values()]
      .filter((entry) => entry.function !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((entry) => ({
        function: entry.function,
        location: entry.location,
        package: entry.package,
        selfMs: round(entry.us / 1000),
        selfPct: pct(entry.us),
      })),
    packages: [...inclusiveByPackage.keys(), ...selfByPackage.keys()]
      .filter((pkg, index, all) => all.indexOf(pkg) === index && pkg !== '(idle)')
      .map((pkg) => ({
        package: pkg,
        inclusiveMs: round((inclusiveByPackage.get(pkg) ?? 0) / 1000),
        inclusivePct: pct(inclusiveByPackage.get(pkg) ?? 0),
        selfMs: round((selfByPackage.get(pkg) ?? 0) / 1000),
        selfPct: pct(selfByPackage.get(pkg) ?? 0),
        attributedMs: round((attributedByPackage.get(pkg) ?? 0) / 1000),
        attributedPct: pct(attributedByPackage.get(pkg) ?? 0),
      }))
      .sort((a, b) => b.inclusiveMs - a.inclusiveMs),
  };
}

/** A plain-text rendering of a summary, for the terminal. */
export function formatSummary(summary) {
  const lines = [
    `CPU profile: ${summary.window}; sampled ${summary.sampledMs} ms, idle ${summary.idleMs} ms, busy ${summary.busyMs} ms`,
    '',
    'Top self time (% of busy):',
  ];
  for (const f of summary.topSelfFunctions) {
    lines.push(
      `  ${String(f.selfPct).padStart(5)}%  ${String(f.selfMs).padStart(8)} ms  ${f.function}  ${f.location}`,
    );
  }
  const row = (p) =>
    `  ${String(p.inclusivePct).padStart(9)}% ${String(p.selfPct).padStart(5)}% ${String(p.attributedPct).padStart(10)}%  ${p.package}`;
  const top = summary.topSelfFunctions.length;
  lines.push('', `Per package, top ${top} by inclusive time (% of busy):`, '  inclusive   self  attributed');
  for (const p of summary.packages.slice(0, top)) lines.push(row(p));
  lines.push('', `Per package, top ${top} by attributed time (% of busy):`, '  inclusive   self  attributed');
  const byAttributed = [...summary.packages].sort((a, b) => b.attributedMs - a.attributedMs);
  for (const p of byAttributed.slice(0, top)) lines.push(row(p));
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) {
    process.stderr.write('usage: node bench/cpuprofile-summary.mjs <file.cpuprofile> [--top N] [--json]\n');
    process.exit(2);
  }
  const profile = JSON.parse(await readFile(positionals[0], 'utf8'));
  const summary = summarizeCpuProfile(profile, { top: Number(values.top) });
  process.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`);
}
