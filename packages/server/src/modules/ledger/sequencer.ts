import { appendLeafHashes, hashLeaf } from '@personachain/ledger';
import type { LedgerRepo, LedgerState } from './repo.js';

export interface SequencerOptions {
  /** Most entries integrated in one transaction. */
  maxBatch: number;
  /** How long the first entry of an idle log waits for others to join its batch. */
  maxDelayMs: number;
  /** Signs the checkpoint note of a new tree head. */
  signCheckpoint(size: number, root: Uint8Array): Promise<string>;
  /** Called after each committed batch with the new state. */
  onCheckpoint(state: LedgerState): void;
  onError(error: unknown): void;
  now(): Date;
}

interface PendingAppend {
  data: Uint8Array;
  resolve(index: number): void;
  reject(error: unknown): void;
}

/**
 * Group commit for the log: appends wait a few milliseconds (or until a batch is full), then one
 * transaction hashes them into the tiles, stores the entries, signs the new checkpoint and commits.
 * An append is acknowledged only after that commit, so an acknowledged entry is durable. Entries
 * queued by other modules' transactions (`ledger_queue`) are integrated by the same transactions.
 */
export class Sequencer {
  private pending: PendingAppend[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private queueMayHoldEntries = true;
  private closed = false;

  constructor(
    private readonly repo: LedgerRepo,
    private readonly options: SequencerOptions,
  ) {}

  /** Resolves with the entry's index once the batch holding it is durable. */
  append(data: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Error('the ledger is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ data, resolve, reject });
      if (this.pending.length >= this.options.maxBatch) this.start();
      else this.timer ??= setTimeout(() => this.start(), this.options.maxDelayMs);
    });
  }

  /** Says that entries were committed to the queue; they are integrated soon after. */
  notifyQueued(): void {
    this.queueMayHoldEntries = true;
    this.timer ??= setTimeout(() => this.start(), this.options.maxDelayMs);
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
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 || this.queueMayHoldEntries) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.queueMayHoldEntries = false;
      try {
        const { firstIndex, state, queueFull } = await this.integrate(batch);
        if (queueFull) this.queueMayHoldEntries = true;
        batch.forEach((append, i) => {
          append.resolve(firstIndex + i);
        });
        if (state) this.options.onCheckpoint(state);
      } catch (error) {
        for (const append of batch) append.reject(error);
        this.options.onError(error);
        // The queue is retried by the next append, notification or periodic sweep, not in a hot loop.
        return;
      }
    }
  }

  private integrate(
    batch: PendingAppend[],
  ): Promise<{ firstIndex: number; state: LedgerState | undefined; queueFull: boolean }> {
    return this.repo.transaction(async (repo) => {
      await repo.lockState();
      const current = await repo.getState();
      if (!current) throw new Error('the ledger has no state row; it was not opened');
      const room = this.options.maxBatch - batch.length;
      const queued = room > 0 ? await repo.takeQueued(room) : [];
      const entries = [...queued.map((entry) => entry.data), ...batch.map((append) => append.data)];
      const firstIndex = current.size + queued.length;
      if (entries.length === 0) return { firstIndex, state: undefined, queueFull: false };

      const grown = await appendLeafHashes(current.size, entries.map(hashLeaf), repo);
      await repo.writeTiles(grown.tiles);
      await repo.insertEntries(current.size, entries);
      await repo.markSequenced(queued.map((entry, i) => ({ seq: entry.seq, idx: current.size + i })));
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
  }
}
