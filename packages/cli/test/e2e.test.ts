import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type RunningServer, startServer } from '@personachain/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI, runCli } from './run-cli.js';

const ADMIN_KEY = `sk_${randomBytes(32).toString('base64url')}`;

let dataDir: string;
let server: RunningServer;

/** `persona …` against the real server; `key` defaults to the platform admin key. */
const persona = (args: string[], key = ADMIN_KEY) =>
  runCli([...args, '--url', server.url], { PERSONA_API_KEY: key });

async function personaJson<T>(args: string[]): Promise<T> {
  const result = await persona([...args, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  assertBuilt();
  dataDir = await mkdtemp(join(tmpdir(), 'persona-cli-e2e-'));
  server = await startServer(
    loadConfig({
      PERSONA_DATA_DIR: dataDir,
      PERSONA_HOST: '127.0.0.1',
      PERSONA_PORT: '0',
      PERSONA_BOOTSTRAP_KEY: ADMIN_KEY,
      PERSONA_LOG_LEVEL: 'silent',
    }),
  );
});

afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('against the real server', () => {
  it('manages organizations, projects and API keys, and a revoked key stops working', async () => {
    const org = await personaJson<{ id: string; name: string }>(['org', 'create', 'Acme Corp']);
    expect(org).toMatchObject({ id: expect.stringMatching(/^org_/), name: 'Acme Corp' });

    const project = await personaJson<{ id: string; orgId: string }>([
      'project',
      'create',
      org.id,
      'Web app',
    ]);
    expect(project).toMatchObject({ id: expect.stringMatching(/^prj_/), orgId: org.id });

    const key = await personaJson<{ id: string; secret: string; role: string; scopes: string[] }>([
      'apikey',
      'create',
      project.id,
      '--name',
      'ci',
      '--role',
      'developer',
      '--scope',
      'projects:read',
    ]);
    expect(key).toMatchObject({
      id: expect.stringMatching(/^key_/),
      role: 'developer',
      scopes: ['projects:read'],
    });
    expect(key.secret).toMatch(/^sk_/);

    const orgs = await persona(['org', 'list']);
    expect(orgs.code).toBe(0);
    expect(orgs.stdout).toMatch(new RegExp(`^ID +NAME +CREATED\n${org.id}  Acme Corp  \\S+\n$`));

    const projects = await personaJson<{ data: Array<{ id: string }> }>(['project', 'list', org.id]);
    expect(projects.data.map((p) => p.id)).toEqual([project.id]);

    const keys = await personaJson<{ data: Array<Record<string, unknown>>; nextCursor: null }>([
      'apikey',
      'list',
      project.id,
    ]);
    expect(keys.nextCursor).toBeNull();
    expect(keys.data.map((k) => k.id)).toEqual([key.id]);
    expect(keys.data[0]).not.toHaveProperty('secret');

    const withNewKey = await persona(['project', 'get', project.id], key.secret);
    expect(withNewKey.code).toBe(0);
    expect(withNewKey.stdout).toContain(`id:            ${project.id}\n`);

    const revoked = await persona(['apikey', 'revoke', project.id, key.id]);
    expect(revoked).toEqual({ code: 0, stdout: `revoked API key ${key.id}\n`, stderr: '' });

    const refused = await persona(['project', 'get', project.id], key.secret);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^persona: Unauthorized: .+\n {2}HTTP 401, request id \S+\n$/);

    expect((await persona(['apikey', 'list', project.id])).stdout).toMatch(/ revoked /);
  });

  it('prints the server’s problem details for a request it refuses', async () => {
    const result = await persona(['org', 'get', `org_${'0'.repeat(32)}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^persona: Not found: .*org_0{32}.*\n {2}HTTP 404, request id \S+\n$/);
  });

  // Last in this block: it retires the admin key the tests above use.
  it('rotates the platform admin key: create a new one, revoke the old, never the last', async () => {
    const {
      data: [bootstrap],
    } = await personaJson<{ data: Array<{ id: string }> }>(['platform-key', 'list']);
    const last = await persona(['platform-key', 'revoke', bootstrap?.id as string]);
    expect(last.code).toBe(1);
    expect(last.stderr).toMatch(/^persona: Conflict: This is the last working platform key/);

    const fresh = await personaJson<{ id: string; secret: string }>([
      'platform-key',
      'create',
      '--name',
      'ops',
    ]);
    expect(fresh.secret).toMatch(/^sk_/);
    const revoked = await persona(['platform-key', 'revoke', bootstrap?.id as string], fresh.secret);
    expect(revoked.code).toBe(0);
    expect((await persona(['org', 'list'])).code).toBe(1);
    expect((await persona(['org', 'list'], fresh.secret)).code).toBe(0);
    expect((await persona(['platform-key', 'list'], fresh.secret)).stdout).toMatch(/ revoked /);
  });
});

describe('migrate', () => {
  it('applies the migrations once, then reports the database up to date', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'persona-cli-migrate-'));
    try {
      const first = await runCli(['migrate', '--json'], { PERSONA_DATA_DIR: dir });
      expect(first.code).toBe(0);
      const { applied } = JSON.parse(first.stdout) as { applied: string[] };
      expect(applied.length).toBeGreaterThan(0);

      const second = await runCli(['migrate'], { PERSONA_DATA_DIR: dir });
      expect(second).toEqual({ code: 0, stdout: 'database is up to date\n', stderr: '' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 naming the variable when the configuration is wrong', async () => {
    const result = await runCli(['migrate'], { PERSONA_DATABASE_URL: 'mysql://db' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^persona: PERSONA_DATABASE_URL .+\n$/);
  });
});

describe('serve', () => {
  it('exits 2 naming the variable when the configuration is wrong', async () => {
    const result = await runCli(['serve'], { PERSONA_PORT: '99999' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^persona: PERSONA_PORT .*99999.*\n$/);
  });

  it('runs the server until SIGTERM, printing the generated admin key on first start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'persona-cli-serve-'));
    const port = await freePort();
    const env = {
      ...process.env,
      PERSONA_DATA_DIR: dir,
      PERSONA_PORT: String(port),
      PERSONA_LOG_LEVEL: 'silent',
    };
    const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      let stdout = '';
      const key = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          const match = /\b(sk_[A-Za-z0-9_-]{43,})\b/.exec(stdout);
          if (match?.[1]) resolve(match[1]);
        });
        void exited.then((code) => reject(new Error(`persona serve exited (${code}) before printing a key`)));
      });

      const listed = await runCli(['org', 'list', '--url', `http://127.0.0.1:${port}`], {
        PERSONA_API_KEY: key,
      });
      expect(listed).toEqual({ code: 0, stdout: 'no organizations\n', stderr: '' });

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}
