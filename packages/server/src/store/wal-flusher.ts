import { closeSync, fdatasync, fstatSync, fsyncSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Starts one sync of the file and calls back when it ended. */
export type SyncFile = (done: (error: Error | null) => void) => void;

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Durable SQLite commits that do not block the event loop. The connection commits with synchronous =
 * NORMAL, so a commit hands its WAL frames to the operating system and returns at once; the writer then
 * waits for `flush()`: an fdatasync of the WAL file, on libuv's thread pool, that began after its commit.
 * That is the sync SQLite's FULL level makes inside every commit, so an acknowledged write is on disk as
 * before, while the event loop serves other requests meanwhile. Commits that land while a sync runs share
 * the next one (group commit): one sync per batch of writers instead of one per writer.
 *
 * Checkpoints keep their own syncs (NORMAL syncs the WAL before copying it into the database file and the
 * database file after), and a WAL that is reused after a checkpoint is the same file, so the descriptor
 * kept here stays valid for as long as the connection is open (SQLite deletes the WAL only when it closes).
 *
 * A failed sync is final: Linux may have dropped the pages it could not write, so no later write could be
 * called durable. Every flush from then on rejects, and the driver refuses the connection, until a restart
 * lets SQLite recover from what the disk holds (as PostgreSQL does after a failed fsync).
 */
export class WalFlusher {
  private waiting: Waiter[] = [];
  private syncing: Promise<void> | null = null;
  #failure: Error | null = null;

  constructor(private readonly syncFile: SyncFile) {}

  /**
   * Keeps a descriptor of the database's WAL file (which must exist: open the database in WAL mode and
   * commit once first), and syncs the directory once so the file's own entry survives a power cut.
   */
  static forDatabase(databasePath: string): { flusher: WalFlusher; close(): void } {
    const walPath = `${databasePath}-wal`;
    const fd = openSync(walPath, 'r');
    if (fstatSync(fd).ino !== statSync(walPath).ino) {
      closeSync(fd);
      throw new Error(`${walPath} was replaced while it was being opened`);
    }
    const directory = openSync(dirname(walPath), 'r');
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
    const flusher = new WalFlusher((done) => fdatasync(fd, done));
    return {
      flusher,
      close: () => closeSync(fd),
    };
  }

  /** The error of the sync that failed, if one did: from then on nothing written can be called durable. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** Resolves once everything committed before this call is on disk; rejects if a sync failed. */
  flush(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.syncing ??= this.syncWaiting();
    });
  }

  /** Waits for the sync in progress, if any (before the file is closed). */
  async drained(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  /** Syncs for the writers waiting now; writers that arrive meanwhile wait for the next sync. */
  private async syncWaiting(): Promise<void> {
    while (this.waiting.length > 0 && !this.#failure) {
      const batch = this.waiting;
      this.waiting = [];
      const error = await new Promise<Error | null>((resolve) => this.syncFile(resolve));
      if (error) {
        this.#failure = new Error(
          `the database's write-ahead log could not be synced to disk (${error.message}); writes since ` +
            'the last sync may not be durable, so the database is refused until the server restarts',
          { cause: error },
        );
        for (const waiter of [...batch, ...this.waiting]) waiter.reject(this.#failure);
        this.waiting = [];
      } else {
        for (const waiter of batch) waiter.resolve();
      }
    }
    // In the same synchronous step as the emptiness check: a flush from now on starts a new run.
    this.syncing = null;
  }
}
