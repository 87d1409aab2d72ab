import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '@personachain/crypto';
import {
  hashLeaf,
  noteVerifier,
  openNote,
  parseCheckpoint,
  rootOf,
  tilesForSize,
  treeRoot,
  verifyConsistency,
} from '@personachain/ledger';
import { afterAll, describe, expect, it } from 'vitest';
import { openKeyStore } from '../src/modules/keys/service.js';
import { LedgerRepo } from '../src/modules/ledger/repo.js';
import { LedgerService } from '../src/modules/ledger/service.js';
import { migrate, openStore } from '../src/store/database.js';

const APPENDER = new URL('./fixtures/ledger-appender.mjs', import.meta.url).pathname;
const ORIGIN = 'crash.test/ledger';
const ROUNDS = 20;

/** Runs the appender until it has acknowledged some entries, SIGKILLs it at a random moment, returns its acks. */
function runAndKill(
  path: string,
  masterHex: string,
): Promise<{ acks: Map<number, string>; verifierKey: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [APPENDER, path, ORIGIN, masterHex], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks = new Map<number, string>();
    let buffered = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    let verifierKey = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() as string; // a line cut by the kill was never acknowledged
      for (const line of lines) {
        if (line.startsWith('ready ')) {
          verifierKey = line.slice('ready '.length);
          killTimer = setTimeout(() => child.kill('SIGKILL'), 30 + Math.random() * 250);
          continue;
        }
        const [index, hash] = line.split(' ');
        acks.set(Number(index), hash as string);
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(killTimer);
      if (signal !== 'SIGKILL') reject(new Error(`appender exited on its own: ${stderr}`));
      else resolve({ acks, verifierKey });
    });
  });
}

describe('ledger crash safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'persona-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`keeps every acknowledged entry and a consistent signed tree across ${ROUNDS} SIGKILLs`, async () => {
    const path = join(dir, 'ledger.db');
    const master = randomBytes(32);
    const masterHex = Buffer.from(master).toString('hex');
    let verifierKey: string | undefined;
    const acknowledged = new Map<number, string>();
    let previous = { size: 0, root: rootOf([]) };

    for (let round = 0; round < ROUNDS; round++) {
      const run = await runAndKill(path, masterHex);
      // The log keeps its checkpoint key across restarts.
      verifierKey ??= run.verifierKey;
      expect(run.verifierKey).toBe(verifierKey);
      for (const [index, hash] of run.acks) {
        // An index is never handed out twice, not even across crashes.
        expect(acknowledged.get(index) ?? hash).toBe(hash);
        acknowledged.set(index, hash);
      }

      const store = openStore(`sqlite:${path}`);
      try {
        await migrate(store);
        const repo = new LedgerRepo(store.db, store.engine);
        const state = await repo.getState();
        const checkpoint = parseCheckpoint(
          (await openNote(state?.checkpoint as string, [noteVerifier(verifierKey)])).text,
        );

        // Every acknowledged entry is there, unchanged.
        const entries = await repo.readEntries(0, checkpoint.size);
        expect(entries.length).toBe(checkpoint.size);
        for (const [index, hash] of acknowledged) {
          expect(index).toBeLessThan(checkpoint.size);
          expect(Buffer.from(hashLeaf(entries[index] as Uint8Array)).toString('hex')).toBe(hash);
        }
        // The signed root is the root of the stored entries and of the stored tiles: no torn tile.
        expect(Buffer.from(rootOf(entries.map(hashLeaf)))).toEqual(Buffer.from(checkpoint.root));
        expect(Buffer.from(await treeRoot(checkpoint.size, repo))).toEqual(Buffer.from(checkpoint.root));
        await repo.readTiles(tilesForSize(checkpoint.size));
        // And it extends the previous round's tree.
        if (previous.size > 0 && checkpoint.size > previous.size) {
          const ledger = await LedgerService.open(store, {
            origin: ORIGIN,
            defaultOrigin: ORIGIN,
            keys: openKeyStore(store, master),
          });
          const proof = await ledger.consistencyProof(previous.size, checkpoint.size);
          await ledger.close();
          verifyConsistency(previous.size, checkpoint.size, proof.hashes, previous.root, checkpoint.root);
        }
        expect(checkpoint.size).toBeGreaterThanOrEqual(previous.size);
        previous = { size: checkpoint.size, root: checkpoint.root };
      } finally {
        await store.close();
      }
    }
    // Each round acknowledged hundreds of entries before its kill (about 700 on a 2-core machine).
    expect(acknowledged.size).toBeGreaterThan(ROUNDS * 20);
  }, 120_000);
});
