import { appendLeafHashes, hashLeaf, type TileId } from '@personachain/ledger';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { EdgeTiles } from './edge-tiles.js';
import type { LedgerRepo, LedgerState } from './repo.js';

export interface SequencerOptions {
  /** Most entries integrated in one transaction. */
  maxBatch: number;
  /**
   * How long the first entry of an idle log waits for others to join its batch; 0 waits for the end of
   * the event loop's turn only (the appends of that turn join it, and under load the entries that arrive
   * during one batch's commit make the next).
   */
  maxDelayMs: number;
  /** Signs the checkpoint note of a new tree head. */
  signCheckpoint(size: number, root: Uint8Array): Promise<string>;
  /** Called after each committed batch with the new state. */
  onCheckpoint(state: LedgerState): void;
  onError(error: unknown): void;
  now(): Date;
}

/**
 * Writes the rows that record appended entries (an audit trail's rows, say), inside the transaction that
 * integrates them: a row then never exists without its entry, nor the reverse, and it knows the entry's
 * index. Called once per batch with all of its rows, in index order.
 */
export interface RecordWriter<Row> {
  write(db: Kysely<Database>, rows: ReadonlyArray<{ row: Row; index: number }>): Promise<void>;
}

/**
 * An entry made with the row that records it when the batch holding it starts, inside the batch's
 * transaction: ids and times written into them then follow the order of the log and of commits.
 */
export interface RecordedAppend<Row> {
  writer: RecordWriter<Row>;
  /** Called once, synchronously; throwing refuses this entry alone. */
  make(): { entry: Uint8Array; row: Row };
}

interface PendingAppend {
  /** The entry, or how to make it and its row. */
  entry: Uint8Array | RecordedAppend<unknown>;
  resolve(index: number): void;
  reject(error: unknown): void;
}

/** A pending append whose entry is made: what a batch integrates. */
interface MadeAppend {
  pending: PendingAppend;
  data: Uint8Array;
  record: { writer: RecordWriter<unknown>; row: unknown } | undefined;
}

/**
 * Group commit for the log: appends wait for the end of the event loop's turn (or `maxDelayMs`, or until
 * a batch is full), then one transaction hashes them into the tiles, stores the entries and the rows of
 * recorded ones, signs the new checkpoint and commits.
 * An append is acknowledged only after that commit, so an acknowledged entry is durable. Entries
 * queued by other modules' transactions (`ledger_queue`) are integrated by the same transactions.
 */
export class Sequencer {
  private pending: PendingAppend[] = [];
  /** Cancels the batch that `schedule` set up, while it is due. */
  private cancelScheduled: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private queueMayHoldEntries = true;
  private closed = false;
  private readonly edge = new EdgeTiles();

  constructor(
    private readonly repo: LedgerRepo,
    private readonly options: SequencerOptions,
  ) {}

  /**
   * Resolves with the entry's index once the batch holding it is durable. A `RecordedAppend` is made in
   * that batch's transaction, which its writer writes its row in.
   */
  append<Row>(entry: Uint8Array | RecordedAppend<Row>): Promise<number> {
    if (this.closed) return Promise.reject(new Error('the ledger is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ entry: entry as PendingAppend['entry'], resolve, reject });
      if (this.pending.length >= this.options.maxBatch) this.start();
      else this.schedule();
    });
  }

  /** Says that entries were committed to the queue; they are integrated soon after. */
  notifyQueued(): void {
    this.queueMayHoldEntries = true;
    this.schedule();
  }

  /** A batch soon, unless one is due or under way (whose drain takes what arrived meanwhile). */
  private schedule(): void {
    if (this.cancelScheduled !== undefined || this.running !== undefined) return;
    const start = () => this.start();
    if (this.options.maxDelayMs > 0) {
      const timer = setTimeout(start, this.options.maxDelayMs);
      this.cancelScheduled = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(start);
      this.cancelScheduled = () => clearImmediate(immediate);
    }
  }

  /** Integrates everything pending and queued, then resolves. */
  async flush(): Promise<void> {
    this.queueMayHoldEntries = true;
    this.start();
    while (this.running) await this.running;
  }

  /** Integrates what is pending, then refuses further appends. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private start(): void {
    this.cancelScheduled?.();
    this.cancelScheduled = undefined;
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      // Appends and notices that came after the drain's last look, before this ran, found it running.
      if (this.pending.length > 0 || this.queueMayHoldEntries) this.schedule();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 || this.queueMayHoldEntries) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      const takeQueue = this.queueMayHoldEntries;
      this.queueMayHoldEntries = false;
      let made: MadeAppend[] | undefined;
      try {
        const result = await this.integrate(batch, takeQueue, (appends) => {
          made = appends;
        });
        if (result.queueFull) this.queueMayHoldEntries = true;
        made?.forEach((append, i) => {
          append.pending.resolve(result.firstIndex + i);
        });
        if (result.state) this.options.onCheckpoint(result.state);
      } catch (error) {
        // The entries the batch refused while making them were answered already.
        for (const append of made ? made.map((m) => m.pending) : batch) append.reject(error);
        this.options.onError(error);
        // The queue is retried by the next append, notification or periodic sweep, not in a hot loop.
        return;
      }
    }
  }

  /**
   * One transaction: the batch, and up to the rest of `maxBatch` of the queue when `takeQueue`. The
   * batch's entries are made first (`onMade` gets those that were), in its order, after the queue's.
   */
  private integrate(
    batch: PendingAppend[],
    takeQueue: boolean,
    onMade: (made: MadeAppend[]) => void,
  ): Promise<{ firstIndex: number; state: LedgerState | undefined; queueFull: boolean }> {
    const edge = this.edge.forBatch();
    let written: Array<{ tile: TileId; data: Uint8Array }> = [];
    const integrated = this.repo.transaction(async (repo) => {
      await repo.lockState();
      const current = await repo.getState();
      if (!current) throw new Error('the ledger has no state row; it was not opened');
      const made = makeEntries(batch);
      onMade(made);
      const room = this.options.maxBatch - made.length;
      const queued = takeQueue && room > 0 ? await repo.takeQueued(room) : [];
      const entries = [...queued.map((entry) => entry.data), ...made.map((append) => append.data)];
      const firstIndex = current.size + queued.length;
      if (entries.length === 0) return { firstIndex, state: undefined, queueFull: false };

      const grown = await appendLeafHashes(current.size, entries.map(hashLeaf), edge.reader(repo));
      await repo.writeTiles(grown.tiles);
      written = grown.tiles;
      await repo.insertEntries(current.size, entries);
      await repo.markSequenced(queued.map((entry, i) => ({ seq: entry.seq, idx: current.size + i })));
      await writeRecords(repo.db, made, firstIndex);
      const checkpoint = await this.options.signCheckpoint(grown.size, grown.root);
      await repo.putState(
        { size: grown.size, root: grown.root, checkpoint },
        this.options.now().toISOString(),
      );
      return {
        firstIndex,
        state: { ...current, size: grown.size, root: grown.root, checkpoint },
        queueFull: room > 0 && queued.length === room,
      };
    });
    return integrated.then((result) => {
      if (result.state) edge.committed(written);
      return result;
    });
  }
}

/** The batch's entries, made where they are `RecordedAppend`s; one that cannot be made is refused alone. */
function makeEntries(batch: readonly PendingAppend[]): MadeAppend[] {
  const made: MadeAppend[] = [];
  for (const pending of batch) {
    if (pending.entry instanceof Uint8Array) {
      made.push({ pending, data: pending.entry, record: undefined });
      continue;
    }
    try {
      const { entry, row } = pending.entry.make();
      made.push({ pending, data: entry, record: { writer: pending.entry.writer, row } });
    } catch (error) {
      pending.reject(error);
    }
  }
  return made;
}

/** Each writer's rows of the batch in one call; `firstIndex` is the index of the batch's first entry. */
async function writeRecords(
  db: Kysely<Database>,
  made: readonly MadeAppend[],
  firstIndex: number,
): Promise<void> {
  const byWriter = new Map<RecordWriter<unknown>, Array<{ row: unknown; index: number }>>();
  made.forEach((append, i) => {
    if (!append.record) return;
    const rows = byWriter.get(append.record.writer) ?? [];
    rows.push({ row: append.record.row, index: firstIndex + i });
    byWriter.set(append.record.writer, rows);
  });
  for (const [writer, rows] of byWriter) await writer.write(db, rows);
}
