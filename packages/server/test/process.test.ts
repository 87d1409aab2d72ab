import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = new URL('../dist/main.js', import.meta.url).pathname;

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Runs the built server as a user would (node dist/main.js) and waits for it to listen. */
function startProcess(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      PERSONA_DATA_DIR: dataDir,
      PERSONA_PORT: '0',
      PERSONA_HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: match[1], output: () => output });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe.skipIf(!existsSync(MAIN))('the server process (needs `tsc -b`)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'persona-process-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints a generated admin key once, on the first start only, and that key works', async () => {
    const first = await startProcess(dataDir);
    await until(() => first.output().includes('store it now'));
    const key = /Platform admin API key[^\n]*\n\s*\n\s*(sk_[A-Za-z0-9_-]{43})/.exec(first.output())?.[1];
    expect(key).toBeDefined();
    const orgs = await fetch(`${first.url}/v1/organizations`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(orgs.status).toBe(200);
    // The key appears on the terminal banner, never in a JSON log line.
    const logLines = first
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(logLines.join('\n')).not.toContain(key);
    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);

    const second = await startProcess(dataDir);
    expect(second.output()).not.toContain('Platform admin API key');
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
    // Two cold starts of the whole server (migrations on the first): on a slow 2-core machine running the
    // rest of the suite beside it, that took over the default 20 s.
  }, 60_000);

  it('on SIGTERM, finishes the request in flight, refuses new work, and exits 0', async () => {
    const server = await startProcess(mkdtempSync(join(tmpdir(), 'persona-shutdown-')), {
      PERSONA_BOOTSTRAP_KEY: `sk_${'S'.repeat(43)}`,
    });
    const { port } = new URL(server.url);
    // A request whose body is still arriving when the signal comes.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/organizations',
          headers: {
            authorization: `Bearer sk_${'S'.repeat(43)}`,
            'content-type': 'application/json',
            'content-length': 20,
          },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write('{"name":"');
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end('in-flight"}'), 400);
      }, 200);
    });
    const exit = exited(server.child);
    const result = await response;
    expect(result.status).toBe(201);
    expect(JSON.parse(result.body).name).toBe('in-flight');
    const started = Date.now();
    expect(await exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  /** Starts the server with a port that is not a number; resolves with its exit code and what it printed. */
  async function startWithBadPort(
    nodeOptions: string[] = [],
  ): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [...nodeOptions, MAIN], {
      env: { PATH: process.env.PATH, PERSONA_PORT: 'eighty', PERSONA_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    return { code: await exited(child), stderr };
  }

  it('refuses to start on bad configuration, naming the variable, with exit code 2', async () => {
    const { code, stderr } = await startWithBadPort();
    expect(code).toBe(2);
    expect(stderr).toContain('PERSONA_PORT must be an integer');
  });

  it('refuses bad configuration before it loads the server modules', async () => {
    // Loading the server (every module: crypto, JSON-LD, the Cedar wasm, ...) takes seconds on a busy
    // machine; a bad setting must be reported without it. The hook prints every module the process resolves.
    const hook = `import { registerHooks } from 'node:module';
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    process.stderr.write('loaded ' + resolved.url + '\\n');
    return resolved;
  },
});`;
    const { code, stderr } = await startWithBadPort([
      '--import',
      `data:text/javascript,${encodeURIComponent(hook)}`,
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('PERSONA_PORT must be an integer');
    const loaded = stderr.split('\n').filter((line) => line.startsWith('loaded '));
    expect(loaded).toContain(`loaded ${new URL('../dist/config.js', import.meta.url).href}`);
    expect(loaded).not.toContain(`loaded ${new URL('../dist/server.js', import.meta.url).href}`);
  });
});
