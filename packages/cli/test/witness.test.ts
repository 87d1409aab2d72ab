import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WITNESS_VARIABLES } from '@personachain/server';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, CLI, runCli } from './run-cli.js';

// Project vectors V7 (a Go-signed checkpoint; origin example.com/trust-log) from packages/ledger/test.
const V7_VKEY = 'localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6';
const V7_NOTE =
  'example.com/trust-log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n— localhost.localdev/sumdb AAAMZ9pXCvYz9p9Jl5GcnUwdmbZGABi4bPkMmMKG63PFv0QbtrGxt++h3cYu1u5wESxo/6Qo3ooemUUgW1YIOEyYHA0=\n';

beforeAll(assertBuilt);

describe('persona witness', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'persona-cli-witness-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--help documents every variable', async () => {
    const help = await runCli(['witness', '--help']);
    expect(help.code).toBe(0);
    for (const variable of WITNESS_VARIABLES) expect(help.stdout).toContain(variable);
    expect(help.stdout).toContain('--print-key');
  });

  it('--print-key generates the key file (0600) once and prints the same cosigner key each time', async () => {
    const env = { PERSONA_WITNESS_NAME: 'witness.test/cli', PERSONA_WITNESS_DATA_DIR: dir };
    const first = await runCli(['witness', '--print-key'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^witness\.test\/cli\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
    expect(Buffer.from(first.stdout.trim().split('+')[2] ?? '', 'base64')[0]).toBe(0x04);
    expect(statSync(join(dir, 'witness.key')).mode & 0o777).toBe(0o600);
    expect((await runCli(['witness', '--print-key'], env)).stdout).toBe(first.stdout);
  });

  it('exits 2 naming the variable that is wrong', async () => {
    const missing = await runCli(['witness'], { PERSONA_WITNESS_DATA_DIR: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('PERSONA_WITNESS_NAME');
    const badLogs = await runCli(['witness'], {
      PERSONA_WITNESS_NAME: 'witness.test/cli',
      PERSONA_WITNESS_DATA_DIR: dir,
      PERSONA_WITNESS_LOGS: 'nonsense',
    });
    expect(badLogs.code).toBe(2);
    expect(badLogs.stderr).toContain('PERSONA_WITNESS_LOGS');
  });

  it('runs, prints its key, cosigns, and stops on SIGTERM with status 0', async () => {
    const child = spawn(process.execPath, [CLI, 'witness'], {
      env: {
        PATH: process.env.PATH,
        PERSONA_WITNESS_NAME: 'witness.test/cli',
        PERSONA_WITNESS_LOGS: `example.com/trust-log=${V7_VKEY}`,
        PERSONA_WITNESS_DATA_DIR: dir,
        PERSONA_WITNESS_PORT: '0',
        PERSONA_WITNESS_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 15_000;
    while (!/cosigner verifier key: \S+/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`witness did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const url = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    expect(url).toBeDefined();
    const answer = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: `old 0\n\n${V7_NOTE}` });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toMatch(/^— witness\.test\/cli \S+\n$/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // A generated key is announced with a warning, in a JSON log line that does not contain the seed.
    const seed = readFileSync(join(dir, 'witness.key'), 'utf8').trim();
    expect(output).toContain('generated a new witness key');
    expect(output).not.toContain(seed);
  });
});
