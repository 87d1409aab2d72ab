import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyCommitment } from '@personachain/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI, runCli } from './run-cli.js';

beforeAll(assertBuilt);

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('PERSONA_') && !name.startsWith('REPRAM_'),
    ),
  );
  return { ...inherited, ...extra };
}

/** Starts `persona node start`, waits for the URL it prints; `stop()` sends SIGTERM and returns its output. */
async function startNodeCli(env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, 'node', 'start'], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  try {
    const [, url = '', nodeId = ''] = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed; output: ${stdout}`)), 15_000);
      child.stdout.on('data', () => {
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+) \(node id (\S+)\)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    return {
      url,
      nodeId,
      async stop() {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const [code] = await exited;
        return { code, stdout };
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

describe('persona node start', () => {
  it('serves the API under a persistent libp2p identity, attests compliance deletions, stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'persona-node-cli-'));
    const env = {
      REPRAM_HTTP_PORT: '0',
      REPRAM_GOSSIP_PORT: '0',
      PERSONA_NODE_HOST: '127.0.0.1',
      PERSONA_NODE_DATA_DIR: dataDir,
      REPRAM_ENCLAVE: 'cli-test',
    };
    try {
      const node = await startNodeCli(env);
      const health = await (await fetch(`${node.url}/v1/health`)).json();
      expect(health).toMatchObject({ status: 'healthy', enclave: 'cli-test', node_id: node.nodeId });
      expect(node.nodeId).toMatch(/^12D3KooW/);
      expect(statSync(join(dataDir, 'node-key')).mode & 0o777).toBe(0o600);

      const salt = randomBytes(16);
      const token = randomBytes(32);
      const put = await fetch(`${node.url}/v1/data/regulated`, {
        method: 'PUT',
        body: 'ciphertext',
        headers: {
          'x-compliance-salt': salt.toString('base64url'),
          'x-write-capability': `token-sha256=${createHash('sha256').update(token).digest('base64url')}`,
        },
      });
      expect(put.status).toBe(201);
      const deleted = await fetch(`${node.url}/v1/data/regulated`, {
        method: 'DELETE',
        headers: { 'x-write-token': token.toString('base64url') },
      });
      expect(deleted.status).toBe(204);
      const commitment = keyCommitment(salt, 'regulated');
      const listed = (await (await fetch(`${node.url}/v1/attestations/${commitment}`)).json()) as {
        attestations: { nodeId: string; reason: string }[];
      };
      expect(listed.attestations).toEqual([
        expect.objectContaining({ nodeId: node.nodeId, reason: 'deleted', keyCommitment: commitment }),
      ]);
      const stopped = await node.stop();
      expect(stopped.code).toBe(0);
      expect(stopped.stdout).toContain('persona node stopped');

      // The identity and the attestation log survive the restart.
      const again = await startNodeCli(env);
      expect(again.nodeId).toBe(node.nodeId);
      const kept = (await (await fetch(`${again.url}/v1/attestations/${commitment}`)).json()) as {
        attestations: unknown[];
      };
      expect(kept.attestations).toHaveLength(1);
      expect((await again.stop()).code).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    // Two cold starts of the CLI (each may take up to its 15 s): beside the rest of the suite on a slow
    // VM, more than the default 20 s.
  }, 60_000);

  it('refuses an invalid setting, naming the variable', async () => {
    const result = await runCli(['node', 'start'], { REPRAM_MIN_TTL: '900', REPRAM_MAX_TTL: '600' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('REPRAM_MAX_TTL');
  });
});
