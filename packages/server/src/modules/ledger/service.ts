import type { KeyRecord, KeyStore } from '@personachain/crypto';
import {
  EMPTY_ROOT,
  encodeEntryBundle,
  formatCheckpoint,
  type NoteSigner,
  noteKeyId,
  parseTilePath,
  proveConsistency,
  proveInclusion,
  SIGNATURE_TYPE_ED25519,
  signNote,
  verifierKeyFor,
} from '@personachain/ledger';
import type { Kysely } from 'kysely';
import { Problem } from '../../http/problem.js';
import type { Store } from '../../store/database.js';
import type { Database } from '../../store/schema.js';
import { LedgerRepo, type LedgerState } from './repo.js';
import { type RecordedAppend, Sequencer } from './sequencer.js';
import { TileCache } from './tile-cache.js';

/** Where a row that records a ledger entry says the entry is (audit events, vault access log). */
export interface RecordedEntryRow {
  ledger_seq: number | string | null;
  ledger_index: number | string | null;
}

/** The bundle format prefixes each entry with a big-endian uint16 length. */
export const MAX_ENTRY_BYTES = 65_535;
const TILE_WIDTH = 256;
const QUEUE_SWEEP_MS = 1000;

/** The KeyStore purpose of the checkpoint signing key. */
export const CHECKPOINT_KEY_PURPOSE = 'ledger-checkpoint';

export interface LedgerOptions {
  /**
   * The log's identity, the first line of every checkpoint (PERSONA_LEDGER_ORIGIN). It is fixed when the
   * log is created; null accepts the log's origin, whatever it is.
   */
  origin: string | null;
  /** The origin of a new log when `origin` is null. */
  defaultOrigin: string;
  /** Holds the Ed25519 checkpoint key; the private key never leaves it. */
  keys: KeyStore;
  /**
   * Witnesses cosign the checkpoints (PERSONA_LEDGER_WITNESSES): the served checkpoint is then the latest
   * published one, which carries the quorum's cosignatures, rather than the latest signed one.
   */
  witnessed?: boolean;
  /** Called after each new checkpoint is committed (the witness publisher's cue). */
  onCheckpoint?: (state: LedgerState) => void;
  maxBatch?: number;
  maxDelayMs?: number;
  now?: () => Date;
  onError?: (error: unknown) => void;
}

export interface TileBody {
  body: Uint8Array;
  /** A full tile never changes; a partial one is a prefix of what the tile will become. */
  full: boolean;
}

/** The transparency log: durable batched appends, signed checkpoints, tiles and proofs. */
export class LedgerService {
  private latest: LedgerState;
  private waiters: Array<{ index: number; resolve(checkpoint: string): void }> = [];
  private readonly sweep: NodeJS.Timeout;
  private published: { size: number; checkpoint: string } | undefined;
  /** Reads tiles for proofs and the tile endpoint; recently read ones are kept in memory. */
  private readonly tiles: TileCache;

  private constructor(
    private readonly repo: LedgerRepo,
    private readonly sequencer: Sequencer,
    /** The checkpoint signer's public key as a signed-note verifier key, published for monitors. */
    readonly verifierKey: string,
    private readonly singleProcess: boolean,
    initial: LedgerState,
    private readonly witnessed: boolean,
    published: { size: number; checkpoint: string } | undefined,
  ) {
    this.latest = initial;
    this.published = published;
    this.tiles = new TileCache(repo);
    // Picks up queued entries whose writer could not notify us (another replica, or a crash).
    this.sweep = setInterval(() => this.sequencer.notifyQueued(), QUEUE_SWEEP_MS).unref();
  }

  /** Opens the log, creating it (size 0, signed) on first use; refuses a different configured origin. */
  static async open(store: Pick<Store, 'db' | 'engine' | 'singleProcess'>, options: LedgerOptions) {
    const repo = new LedgerRepo(store.db, store.engine);
    const now = options.now ?? (() => new Date());
    const state = (await repo.getState()) ?? (await createLog(repo, options, now));
    if (options.origin !== null && state.origin !== options.origin) {
      throw new Error(
        `the ledger in this database has origin "${state.origin}", but PERSONA_LEDGER_ORIGIN is ` +
          `"${options.origin}"; a log's origin never changes (set it back, or use a new database)`,
      );
    }
    const key = await options.keys.getKey(state.signerKeyId);
    const signer = keyStoreSigner(options.keys, state.origin, key);
    const sign = (size: number, root: Uint8Array) =>
      signNote(formatCheckpoint({ origin: state.origin, size, root, extensions: [] }), [signer]);
    let service: LedgerService | undefined;
    const sequencer = new Sequencer(repo, {
      maxBatch: options.maxBatch ?? 1024,
      maxDelayMs: options.maxDelayMs ?? 0,
      signCheckpoint: sign,
      onCheckpoint: (next) => {
        service?.advance(next);
        options.onCheckpoint?.(next);
      },
      onError: options.onError ?? (() => {}),
      now,
    });
    const verifierKey = verifierKeyFor(state.origin, key.publicKey);
    service = new LedgerService(
      repo,
      sequencer,
      verifierKey,
      store.singleProcess,
      state,
      options.witnessed ?? false,
      await repo.getPublished(),
    );
    return service;
  }

  get origin(): string {
    return this.latest.origin;
  }

  /** Appends one entry; resolves with its index once it is durable. */
  async append(entry: Uint8Array): Promise<{ index: number }> {
    checkEntry(entry);
    return { index: await this.sequencer.append(entry) };
  }

  /**
   * Appends one entry with the row that records it, both made by `recorded.make` in the transaction that
   * integrates the entry, where `recorded.writer` writes the row; resolves with the entry's index once both
   * are durable. For acts that write nothing else: cheaper than `enqueue` in a transaction of one's own.
   */
  appendRecorded<Row>(recorded: RecordedAppend<Row>): Promise<number> {
    return this.sequencer.append({
      writer: recorded.writer,
      make: () => {
        const made = recorded.make();
        checkEntry(made.entry);
        return made;
      },
    });
  }

  /**
   * Queues an entry inside the caller's transaction, so the entry commits or rolls back with the act it
   * records. Call `notifyQueued` after the commit; the returned sequence number maps to the entry's index
   * once integrated (`indexesOf`).
   */
  async enqueue(trx: Kysely<Database>, entry: Uint8Array): Promise<number> {
    checkEntry(entry);
    return new LedgerRepo(trx, this.repo.engine).enqueue(entry, new Date().toISOString());
  }

  notifyQueued(): void {
    this.sequencer.notifyQueued();
  }

  indexesOf(seqs: readonly number[]): Promise<Map<number, number>> {
    return this.repo.indexesOf(seqs);
  }

  /**
   * The ledger index of each row that records an entry: its own (`ledger_index`, written with its entry
   * by `appendRecorded`), or that of its queued entry (`ledger_seq`) once integrated; null before.
   */
  async indexesOfRows(rows: readonly RecordedEntryRow[]): Promise<Array<number | null>> {
    const queued = rows.flatMap((row) =>
      row.ledger_index === null && row.ledger_seq !== null ? [Number(row.ledger_seq)] : [],
    );
    const indexes = await this.repo.indexesOf(queued);
    return rows.map((row) => {
      if (row.ledger_index !== null) return Number(row.ledger_index);
      return row.ledger_seq === null ? null : (indexes.get(Number(row.ledger_seq)) ?? null);
    });
  }

  /** The latest signed state. Cached when this process is the database's only writer. */
  async state(): Promise<LedgerState> {
    if (this.singleProcess) return this.latest;
    const state = await this.repo.getState();
    if (state && state.size >= this.latest.size) this.latest = state;
    return this.latest;
  }

  /**
   * The checkpoint served at /ledger/checkpoint: with witnesses, the latest one their quorum cosigned
   * (undefined before the first), otherwise the latest signed one.
   */
  async servedCheckpoint(): Promise<string | undefined> {
    if (!this.witnessed) return (await this.state()).checkpoint;
    return (await this.publishedCheckpoint())?.checkpoint;
  }

  /** The latest checkpoint published with witness cosignatures. Cached when this process is the only writer. */
  async publishedCheckpoint(): Promise<{ size: number; checkpoint: string } | undefined> {
    if (this.singleProcess) return this.published;
    const stored = await this.repo.getPublished();
    if (stored && stored.size >= (this.published?.size ?? -1)) this.published = stored;
    return this.published;
  }

  /** Publishes a cosigned checkpoint note of tree size `size`, unless a larger one is published already. */
  async publish(size: number, checkpoint: string): Promise<void> {
    if (await this.repo.putPublished(size, checkpoint)) this.published = { size, checkpoint };
  }

  /** Resolves with the first checkpoint that includes `index`. */
  async waitForCheckpoint(index: number): Promise<string> {
    const state = await this.state();
    if (index < state.size) return state.checkpoint;
    return new Promise((resolve) => this.waiters.push({ index, resolve }));
  }

  /** A hash tile or entry bundle by its tlog-tiles path (after `tile/`), or undefined if not (yet) in the log. */
  async tile(path: string): Promise<TileBody | undefined> {
    let id: ReturnType<typeof parseTilePath>;
    try {
      id = parseTilePath(path);
    } catch {
      return undefined;
    }
    const { size } = await this.state();
    const first = id.index * TILE_WIDTH;
    if (id.kind === 'entries') {
      if (first + id.width > size) return undefined;
      const entries = await this.repo.readEntries(first, id.width);
      return { body: encodeEntryBundle(entries), full: id.width === TILE_WIDTH };
    }
    // Level L holds the roots of complete subtrees of 256^L leaves.
    const hashesAtLevel = Math.floor(size / TILE_WIDTH ** id.level);
    if (first + id.width > hashesAtLevel) return undefined;
    const [body] = await this.tiles.readTiles([{ level: id.level, index: id.index, width: id.width }]);
    return { body: body as Uint8Array, full: id.width === TILE_WIDTH };
  }

  async inclusionProof(
    index: number,
    size?: number,
  ): Promise<{ index: number; size: number; hashes: Uint8Array[] }> {
    const treeSize = await this.sizeAtMost(size, 'size');
    if (index >= treeSize) {
      throw new Problem('validation-error', `index must be below the tree size ${treeSize}.`, {
        errors: [{ in: 'querystring', pointer: '#/index', detail: `must be less than ${treeSize}` }],
      });
    }
    return { index, size: treeSize, hashes: await proveInclusion(index, treeSize, this.tiles) };
  }

  async consistencyProof(
    from: number,
    to?: number,
  ): Promise<{ from: number; to: number; hashes: Uint8Array[] }> {
    const toSize = await this.sizeAtMost(to, 'to');
    if (from < 1 || from > toSize) {
      throw new Problem('validation-error', `from must be from 1 to ${toSize}.`, {
        errors: [{ in: 'querystring', pointer: '#/from', detail: `must be from 1 to ${toSize}` }],
      });
    }
    return { from, to: toSize, hashes: await proveConsistency(from, toSize, this.tiles) };
  }

  /** Integrates everything pending. */
  flush(): Promise<void> {
    return this.sequencer.flush();
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    await this.sequencer.close();
  }

  private async sizeAtMost(requested: number | undefined, name: string): Promise<number> {
    const { size } = await this.state();
    if (requested === undefined) return size;
    if (requested > size) {
      throw new Problem('validation-error', `${name} is beyond the log's current size ${size}.`, {
        errors: [{ in: 'querystring', pointer: `#/${name}`, detail: `must be at most ${size}` }],
      });
    }
    return requested;
  }

  private advance(state: LedgerState): void {
    if (state.size < this.latest.size) return;
    this.latest = state;
    const ready = this.waiters.filter((waiter) => waiter.index < state.size);
    this.waiters = this.waiters.filter((waiter) => waiter.index >= state.size);
    for (const waiter of ready) waiter.resolve(state.checkpoint);
  }
}

/**
 * Creates the empty log and its checkpoint key. Several server replicas may start at once: the first
 * state row written wins, and a loser retires the key it made.
 */
async function createLog(repo: LedgerRepo, options: LedgerOptions, now: () => Date): Promise<LedgerState> {
  const origin = options.origin ?? options.defaultOrigin;
  // A key left active by a start that died before writing the state row is reused.
  const key =
    (await options.keys.activeKey(CHECKPOINT_KEY_PURPOSE)) ??
    (await options.keys.createKey({ purpose: CHECKPOINT_KEY_PURPOSE, algorithm: 'Ed25519' }));
  const checkpoint = await signNote(formatCheckpoint({ origin, size: 0, root: EMPTY_ROOT, extensions: [] }), [
    keyStoreSigner(options.keys, origin, key),
  ]);
  const state = { origin, size: 0, root: EMPTY_ROOT, checkpoint, signerKeyId: key.id };
  const won = await repo.initState(state, now().toISOString());
  const current = won ? state : await repo.getState();
  if (!current) throw new Error('the ledger state row vanished while the log was being created');
  if (current.signerKeyId !== key.id) await options.keys.retireKey(key.id);
  return current;
}

/** A signed-note signer (Ed25519, type 0x01) whose private key stays in the KeyStore. */
function keyStoreSigner(keys: KeyStore, name: string, key: KeyRecord): NoteSigner {
  return {
    name,
    keyId: noteKeyId(name, SIGNATURE_TYPE_ED25519, key.publicKey),
    sign: (text) => keys.sign(key.id, new TextEncoder().encode(text)),
  };
}

function checkEntry(entry: Uint8Array): void {
  if (entry.length > MAX_ENTRY_BYTES) {
    throw new Problem('payload-too-large', `A ledger entry holds at most ${MAX_ENTRY_BYTES} bytes.`);
  }
}
