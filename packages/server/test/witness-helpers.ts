import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatAddCheckpoint,
  formatCheckpoint,
  generateNoteKey,
  hashLeaf,
  type NoteSigner,
  noteSigner,
  rootOf,
  signNote,
} from '@personachain/ledger';
import { loadWitnessConfig } from '../src/witness/config.js';
import { type RunningWitness, startWitness } from '../src/witness/server.js';

export interface TestWitness extends RunningWitness {
  dataDir: string;
  post(body: string): Promise<{ status: number; body: string; type: string | null }>;
}

/** Starts a witness on 127.0.0.1 (ephemeral port unless given) with a fresh data dir unless given. */
export async function startTestWitness(
  env: Record<string, string>,
  options: { dataDir?: string; now?: () => number } = {},
): Promise<TestWitness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'persona-witness-'));
  const config = loadWitnessConfig({
    PERSONA_WITNESS_NAME: 'witness.test/w1',
    PERSONA_WITNESS_HOST: '127.0.0.1',
    PERSONA_WITNESS_PORT: '0',
    PERSONA_WITNESS_DATA_DIR: dataDir,
    PERSONA_WITNESS_LOG_LEVEL: 'silent',
    ...env,
  });
  const witness = await startWitness(config, options.now ? { now: options.now } : {});
  return {
    ...witness,
    dataDir,
    async post(body) {
      const response = await fetch(`${witness.url}/add-checkpoint`, { method: 'POST', body });
      return {
        status: response.status,
        body: await response.text(),
        type: response.headers.get('content-type'),
      };
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** An in-memory log for driving a witness: entries `entry 0`, `entry 1`, …, signed checkpoints, proofs. */
export class TestLog {
  private constructor(
    readonly origin: string,
    readonly verifierKey: string,
    private readonly signer: NoteSigner,
  ) {}

  static async create(origin: string): Promise<TestLog> {
    const { signerKey, verifierKey } = await generateNoteKey(origin);
    return new TestLog(origin, verifierKey, await noteSigner(signerKey));
  }

  leaves(size: number): Uint8Array[] {
    return Array.from({ length: size }, (_, i) => hashLeaf(new TextEncoder().encode(`entry ${i}`)));
  }

  root(size: number): Uint8Array {
    return rootOf(this.leaves(size));
  }

  checkpointText(size: number, root = this.root(size)): string {
    return formatCheckpoint({ origin: this.origin, size, root, extensions: [] });
  }

  checkpoint(size: number, root = this.root(size), signers: NoteSigner[] = [this.signer]): Promise<string> {
    return signNote(this.checkpointText(size, root), signers);
  }

  /** RFC 9162 §2.1.4.1 SUBPROOF, straight from the definition. */
  proof(from: number, to: number): Uint8Array[] {
    const sub = (m: number, leaves: Uint8Array[], complete: boolean): Uint8Array[] => {
      const n = leaves.length;
      if (m === n) return complete ? [] : [rootOf(leaves)];
      let k = 1;
      while (k * 2 < n) k *= 2;
      if (m <= k) return [...sub(m, leaves.slice(0, k), complete), rootOf(leaves.slice(k))];
      return [...sub(m - k, leaves.slice(k), false), rootOf(leaves.slice(0, k))];
    };
    return from === 0 ? [] : sub(from, this.leaves(to), true);
  }

  /** An add-checkpoint body from `from` to `to` with the right proof. */
  async request(from: number, to: number): Promise<string> {
    return formatAddCheckpoint({
      oldSize: from,
      proof: this.proof(from, to),
      note: await this.checkpoint(to),
    });
  }
}
