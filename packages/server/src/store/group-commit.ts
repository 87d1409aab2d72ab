interface Waiting<T> {
  item: T;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit: items that arrive while a commit is under way wait for the next one, which writes them
 * all in one transaction (one fsync for many requests instead of one each). An item's promise settles
 * when the transaction holding it has committed, or failed.
 */
export class GroupCommit<T> {
  private waiting: Waiting<T>[] = [];
  private draining = false;

  constructor(
    private readonly commit: (items: T[]) => Promise<void>,
    private readonly maxBatch: number,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        void this.drain();
      }
    });
  }

  /** Commits batches until none is waiting; never rejects (each batch's failure goes to its items). */
  private async drain(): Promise<void> {
    // Let the requests already in this turn of the event loop join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      try {
        await this.commit(batch.map((waiting) => waiting.item));
        for (const waiting of batch) waiting.resolve();
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
    // In the same synchronous step as the emptiness check: an item added from now on starts a new drain.
    this.draining = false;
  }
}
