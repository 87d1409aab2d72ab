// The real server in a child process, for the benchmarks that load it over HTTP: start on a free port with a
// clean PERSONA_* environment, wait for /healthz, read its CPU and peak memory, stop it, and call its API.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { BenchError, log, REPO_ROOT, round, sleep } from './lib.mjs';

export const SERVER_MAIN = join(REPO_ROOT, 'packages/server/dist/main.js');
export const HOST = '127.0.0.1';
/** Far above anything one client can send: the limiter still runs on every request, but never refuses. */
export const RATE_LIMIT = '1000000/s:1000000';

/** Keeps the last `limit` characters of a stream, for error reports. */
function tail(stream, limit = 16_384) {
  const state = { text: '' };
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    state.text = (state.text + chunk).slice(-limit);
  });
  return state;
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Linux: user+system CPU seconds of a process, from /proc/<pid>/stat. */
export async function processCpuSeconds(pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/** Linux: the peak resident set size (VmHWM) of a process, in MiB. */
export async function peakRssMiB(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    return Number.isFinite(kib) ? round(kib / 1024, 1) : null;
  } catch {
    return null;
  }
}

/**
 * Starts the server on a fresh data dir with rate limits that never refuse, and waits until /healthz answers
 * 200 (the server logs at warn, so there is no "listening" line to read: at info, Fastify logs two lines per
 * request and the benchmark would measure logging to a pipe). `nodeArgs` go to node (e.g. --cpu-prof);
 * `extraEnv` adds PERSONA_* settings of the benchmark's own (e.g. PERSONA_SERVER_TIMING); `main` replaces
 * the server's entry script (e.g. bench/minimal-hashing-server.mjs).
 */
export async function startServer({
  dataDir,
  bootstrapKey,
  nodeArgs = [],
  extraEnv = {},
  main = SERVER_MAIN,
}) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('PERSONA_')),
    );
    Object.assign(env, {
      PERSONA_HOST: HOST,
      PERSONA_PORT: String(port),
      PERSONA_DATA_DIR: dataDir,
      PERSONA_LOG_LEVEL: 'warn',
      PERSONA_BOOTSTRAP_KEY: bootstrapKey,
      PERSONA_RATE_LIMIT_KEY: RATE_LIMIT,
      PERSONA_RATE_LIMIT_PROJECT: RATE_LIMIT,
      ...extraEnv,
    });
    const child = spawn(process.execPath, [...nodeArgs, main], {
      cwd: dataDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = tail(child.stdout);
    const stderr = tail(child.stderr);
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let exit = null;
    exited.then((value) => {
      exit = value;
    });
    const server = { child, port, baseUrl: `http://${HOST}:${port}`, stdout, stderr, exited };

    const deadline = Date.now() + 30_000;
    while (exit === null && Date.now() < deadline) {
      try {
        const response = await fetch(`${server.baseUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
        if (response.status === 200) return server;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    if (exit === null) {
      await stopServer(server);
      throw new BenchError(`the server did not answer /healthz within 30 s\n${stderr.text}${stdout.text}`);
    }
    if (/EADDRINUSE/.test(stderr.text + stdout.text) && attempt < 3) {
      log(`port ${port} was taken meanwhile; retrying with another`);
      continue;
    }
    throw new BenchError(
      `the server exited during start (code ${exit.code}, signal ${exit.signal})\n${stderr.text}${stdout.text}`,
    );
  }
}

/** SIGTERM, then wait for the exit (SIGKILL after 15 s). Returns the exit code and signal. */
export async function stopServer(server) {
  const { child, exited } = server;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const killer = setTimeout(() => {
    log('the server did not exit 15 s after SIGTERM; sending SIGKILL');
    child.kill('SIGKILL');
  }, 15_000);
  const result = await exited;
  clearTimeout(killer);
  return result;
}

/**
 * One benchmark's run against the server: a fresh data directory (`prefix` names it) and bootstrap key, a watchdog
 * that kills the server, removes the directory and exits once `budgetMs` has passed, and on the way out (however
 * `body` ends) the server stopped, its stderr logged and the directory removed. `body(run)` starts and stops the
 * server with `run.start(startServer options)` and `run.stop()`, as often as it needs.
 */
export async function withServerRun({ prefix, budgetMs }, body) {
  const dataDir = await mkdtemp(join(os.tmpdir(), prefix));
  const bootstrapKey = `sk_${randomBytes(32).toString('base64url')}`;
  let server = null;
  const watchdog = setTimeout(() => {
    log(`benchmark exceeded its time budget of ${budgetMs / 1000} s; stopping`);
    server?.child.kill('SIGKILL');
    rm(dataDir, { recursive: true, force: true }).finally(() => process.exit(1));
  }, budgetMs);
  watchdog.unref();
  const run = {
    dataDir,
    bootstrapKey,
    async start(options = {}) {
      server = await startServer({ dataDir, bootstrapKey, ...options });
      return server;
    },
    async stop() {
      const exit = await stopServer(server);
      server = null;
      return exit;
    },
  };
  try {
    return await body(run);
  } finally {
    if (server) {
      await stopServer(server).catch(() => {});
      if (server.stderr.text) log(`server stderr:\n${server.stderr.text}`);
    }
    await rm(dataDir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
}

/** One API call during setup; anything but `expectedStatus` ends the benchmark with the answer. */
export async function api(baseUrl, method, path, token, body, expectedStatus) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status !== expectedStatus) {
    throw new BenchError(
      `${method} ${path} answered ${response.status}, expected ${expectedStatus}: ${text}`,
    );
  }
  return JSON.parse(text);
}

/** An organization, a project in it and an API key of `role` on it, through the API: `{ projectId, secret }`. */
export async function createProject(baseUrl, adminKey, role) {
  const org = await api(baseUrl, 'POST', '/v1/organizations', adminKey, { name: 'bench-org' }, 201);
  const project = await api(
    baseUrl,
    'POST',
    `/v1/organizations/${org.id}/projects`,
    adminKey,
    { name: 'bench-project' },
    201,
  );
  const key = await api(
    baseUrl,
    'POST',
    `/v1/projects/${project.id}/api-keys`,
    adminKey,
    { name: `bench-${role}`, role },
    201,
  );
  if (typeof key.secret !== 'string') throw new BenchError('the created API key has no secret');
  return { projectId: project.id, secret: key.secret };
}
