import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import {
  appendLeafHashes,
  formatCheckpoint,
  hashLeaf,
  type NoteSigner,
  noteKeyId,
  proveInclusion,
  SIGNATURE_TYPE_ED25519,
  signNote,
  type TileId,
  type TileReader,
  verifierKeyFor,
} from '@personachain/ledger';
import type { DeletionAttestation, NodeSigner } from '../types.js';
import { attestationShapeError, canonicalAttestation } from './payload.js';

export const ATTESTATION_LOG_FILE = 'attestations.log';

/**
 * One line of the log file. Attestations are the Merkle leaves (in file order); delivery records note
 * that the platform ledger accepted attestation `index`, so undelivered ones are retried after a restart.
 */
type LogRecord = { t: 'attestation'; a: DeletionAttestation } | { t: 'delivered'; index: number };

export interface LoggedAttestation {
  readonly index: number;
  readonly attestation: DeletionAttestation;
  readonly delivered: boolean;
}

export interface InclusionMaterial {
  readonly index: number;
  readonly treeSize: number;
  /** base64 (standard, as in checkpoints) RFC 9162 audit path, leaf's sibling first. */
  readonly proof: string[];
}

const encoder = new TextEncoder();

/** The RFC 9162 leaf for an attestation: UTF-8 of its canonical JSON, signature included. */
export function attestationLeafHash(a: DeletionAttestation): Uint8Array {
  return hashLeaf(encoder.encode(canonicalAttestation(a)));
}

/** Hash tiles kept in memory; a tile's stored data is its widest version, read back at the asked width. */
class MemoryTiles implements TileReader {
  private readonly tiles = new Map<string, Uint8Array>();
  async readTiles(ids: readonly TileId[]): Promise<Uint8Array[]> {
    return ids.map((id) => {
      const data = this.tiles.get(`${id.level}/${id.index}`);
      if (data === undefined || data.length < id.width * 32)
        throw new Error(`missing tile ${id.level}/${id.index}`);
      return data.subarray(0, id.width * 32);
    });
  }
  store(changed: ReadonlyArray<{ tile: TileId; data: Uint8Array }>): void {
    for (const { tile, data } of changed) this.tiles.set(`${tile.level}/${tile.index}`, data);
  }
}

/**
 * The node's own append-only attestation log: a JSON-lines file in the data directory, each append
 * fsync'd before it is acknowledged, and an RFC 9162 Merkle tree over the attestations (the same tree
 * shape and checkpoint format as the platform ledger), so the node can hand out an inclusion proof and a
 * checkpoint signed with its libp2p key.
 *
 * A crash can tear only the last line (appends are sequential); opening drops such a line and truncates
 * the file back to the last complete record. A damaged line anywhere else is corruption and opening fails.
 * The whole log is held in memory (about 300 bytes per attestation).
 */
export class AttestationLog {
  private readonly records: { attestation: DeletionAttestation; delivered: boolean }[] = [];
  private readonly byCommitment = new Map<string, number[]>();
  private readonly tiles = new MemoryTiles();
  private size = 0;
  private root: Uint8Array = new Uint8Array(32);
  private queue: Promise<unknown> = Promise.resolve();
  private torn = false;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  /** Opens (creating if needed) the log in `dataDir`, replaying it into memory. */
  static async open(dataDir: string): Promise<AttestationLog> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const path = join(dataDir, ATTESTATION_LOG_FILE);
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const { records, validLength, torn } = parseLog(text, path);
    if (torn) await truncate(path, validLength);
    const handle = await open(path, 'a', 0o600);
    // A new file's directory entry must reach the disk too, or a crash could lose the whole log.
    if (text.length === 0) await syncDirectory(dataDir);
    const log = new AttestationLog(handle, path);
    log.torn = torn;
    const leaves: Uint8Array[] = [];
    for (const record of records) {
      if (record.t === 'attestation') {
        leaves.push(attestationLeafHash(record.a));
        log.index(record.a);
      } else {
        const held = log.records[record.index];
        if (held === undefined)
          throw new Error(`${path}: delivery record for unknown attestation ${record.index}`);
        held.delivered = true;
      }
    }
    await log.extendTree(leaves);
    return log;
  }

  get treeSize(): number {
    return this.size;
  }

  /** True when opening found a torn last line (a crash mid-append) and dropped it. */
  get recoveredTornLine(): boolean {
    return this.torn;
  }

  /** Appends an attestation durably; resolves with its leaf index once it is on disk. */
  append(attestation: DeletionAttestation): Promise<number> {
    const shape = attestationShapeError(attestation);
    if (shape !== undefined)
      return Promise.reject(new TypeError(`refusing to log a malformed attestation: ${shape}`));
    return this.serial(async () => {
      await this.write({ t: 'attestation', a: attestation });
      const index = this.index(attestation);
      await this.extendTree([attestationLeafHash(attestation)]);
      return index;
    });
  }

  /** Records that the platform ledger accepted attestation `index`. */
  markDelivered(index: number): Promise<void> {
    return this.serial(async () => {
      const held = this.records[index];
      if (held === undefined) throw new RangeError(`no attestation ${index}`);
      if (held.delivered) return;
      await this.write({ t: 'delivered', index });
      held.delivered = true;
    });
  }

  get(index: number): LoggedAttestation | undefined {
    const held = this.records[index];
    return held && { index, attestation: held.attestation, delivered: held.delivered };
  }

  byKeyCommitment(commitment: string): LoggedAttestation[] {
    return (this.byCommitment.get(commitment) ?? []).map((i) => this.get(i) as LoggedAttestation);
  }

  undelivered(): LoggedAttestation[] {
    const out: LoggedAttestation[] = [];
    for (const [index, held] of this.records.entries()) {
      if (!held.delivered) out.push({ index, attestation: held.attestation, delivered: false });
    }
    return out;
  }

  /**
   * The attestations for a commitment with inclusion proofs and a signed checkpoint, all of one tree
   * size (taken between appends, so every proof verifies against the checkpoint's root).
   */
  snapshot(
    commitment: string,
    signer: NodeSigner,
  ): Promise<{ entries: Array<LoggedAttestation & { inclusion: InclusionMaterial }>; checkpoint: string }> {
    return this.serial(async () => {
      const entries = await Promise.all(
        this.byKeyCommitment(commitment).map(async (held) => ({
          ...held,
          inclusion: await this.inclusion(held.index),
        })),
      );
      const { note } = await this.checkpoint(signer);
      return { entries, checkpoint: note };
    });
  }

  /** Inclusion proof of leaf `index` in the current tree. */
  async inclusion(index: number): Promise<InclusionMaterial> {
    const treeSize = this.size;
    const proof = await proveInclusion(index, treeSize, this.tiles);
    return { index, treeSize, proof: proof.map((h) => Buffer.from(h).toString('base64')) };
  }

  /**
   * A C2SP checkpoint of the current tree signed (signed-note Ed25519) with the node's key under the name
   * `persona-node/<nodeId>`; verify it with `checkpointVerifierKey(nodeId)`.
   */
  async checkpoint(signer: NodeSigner): Promise<{ treeSize: number; note: string }> {
    const treeSize = this.size;
    const text = formatCheckpoint({
      origin: checkpointOrigin(signer.nodeId),
      size: treeSize,
      root: this.root,
      extensions: [],
    });
    const note = await signNote(text, [noteSignerFor(signer)]);
    return { treeSize, note };
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.handle.close();
  }

  private index(attestation: DeletionAttestation): number {
    const index = this.records.length;
    this.records.push({ attestation, delivered: false });
    const list = this.byCommitment.get(attestation.keyCommitment);
    if (list) list.push(index);
    else this.byCommitment.set(attestation.keyCommitment, [index]);
    return index;
  }

  private async extendTree(leaves: Uint8Array[]): Promise<void> {
    if (leaves.length === 0) return;
    const next = await appendLeafHashes(this.size, leaves, this.tiles);
    this.tiles.store(next.tiles);
    this.size = next.size;
    this.root = next.root;
  }

  private async write(record: LogRecord): Promise<void> {
    await this.handle.write(`${JSON.stringify(record)}\n`);
    // Data and length must be on disk before the caller treats the record as durable.
    await this.handle.datasync();
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function checkpointOrigin(nodeId: string): string {
  return `persona-node/${nodeId}`;
}

/** The signed-note verifier key (`name+keyid+key`) for a node's log checkpoints. */
export function checkpointVerifierKey(nodeId: string): string {
  return verifierKeyFor(checkpointOrigin(nodeId), ed25519KeyOf(nodeId));
}

function ed25519KeyOf(nodeId: string): Uint8Array {
  const peerId = peerIdFromString(nodeId);
  if (peerId.type !== 'Ed25519') throw new TypeError('checkpoints are signed by Ed25519 node keys');
  return peerId.publicKey.raw;
}

/** Signed-note Ed25519 signs the note text's bytes, which is what NodeSigner signs. */
function noteSignerFor(signer: NodeSigner): NoteSigner {
  const name = checkpointOrigin(signer.nodeId);
  return {
    name,
    keyId: noteKeyId(name, SIGNATURE_TYPE_ED25519, ed25519KeyOf(signer.nodeId)),
    sign: (text) => signer.sign(encoder.encode(text)),
  };
}

/** Parses the file; a bad last line is a torn append (dropped), a bad earlier line is corruption. */
function parseLog(text: string, path: string): { records: LogRecord[]; validLength: number; torn: boolean } {
  const records: LogRecord[] = [];
  let offset = 0;
  let lineNo = 0;
  while (offset < text.length) {
    lineNo++;
    const end = text.indexOf('\n', offset);
    const isLast = end < 0 || end === text.length - 1;
    const line = end < 0 ? text.slice(offset) : text.slice(offset, end);
    const record = end < 0 ? undefined : parseRecord(line);
    if (record === undefined) {
      if (isLast) return { records, validLength: Buffer.byteLength(text.slice(0, offset)), torn: true };
      throw new Error(`${path}: line ${lineNo} is damaged; the attestation log is corrupt`);
    }
    records.push(record);
    offset = end + 1;
  }
  return { records, validLength: Buffer.byteLength(text), torn: false };
}

function parseRecord(line: string): LogRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (r.t === 'attestation' && attestationShapeError(r.a) === undefined)
    return { t: 'attestation', a: r.a as DeletionAttestation };
  if (r.t === 'delivered' && Number.isSafeInteger(r.index) && (r.index as number) >= 0) {
    return { t: 'delivered', index: r.index as number };
  }
  return undefined;
}
