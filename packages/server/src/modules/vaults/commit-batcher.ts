import { type Kysely, sql } from 'kysely';
import type { Database } from '../../store/schema.js';
import { VaultsRepo } from './repo.js';

type Work<T> = (repo: VaultsRepo) => Promise<T>;

interface Waiting {
  work: Work<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Most commits sharing one transaction. */
const MAX_BATCH = 64;

/**
 * Runs vault commits. With the embedded database every transaction goes through one connection and ends
 * in a disk flush, so commits arriving together share one transaction: each runs inside its own
 * savepoint, so one that fails (a conflict) is rolled back alone while the others commit with one
 * flush. With PostgreSQL each commit has its own transaction on the pool: the database interleaves them
 * and groups their flushes itself.
 *
 * A commit's promise settles once the transaction holding it has committed (or failed).
 */
export class CommitBatcher {
  private waiting: Waiting[] = [];
  private draining = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly batched: boolean,
  ) {}

  run<T>(work: Work<T>): Promise<T> {
    if (!this.batched) {
      return this.db.transaction().execute((trx) => work(new VaultsRepo(trx as unknown as Kysely<Database>)));
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        void this.drain();
      }
    });
  }

  /** Commits batches until none is waiting; never rejects (each batch's failure goes to its commits). */
  private async drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
      try {
        await this.db.transaction().execute(async (trx) => {
          const repo = new VaultsRepo(trx as unknown as Kysely<Database>);
          for (const { work } of batch) {
            await sql`savepoint vault_commit`.execute(trx);
            try {
              outcomes.push({ ok: true, value: await work(repo) });
              await sql`release savepoint vault_commit`.execute(trx);
            } catch (error) {
              outcomes.push({ ok: false, error });
              await sql`rollback to savepoint vault_commit`.execute(trx);
              await sql`release savepoint vault_commit`.execute(trx);
            }
          }
        });
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
        continue;
      }
      batch.forEach((waiting, i) => {
        const outcome = outcomes[i] as (typeof outcomes)[number];
        if (outcome.ok) waiting.resolve(outcome.value);
        else waiting.reject(outcome.error);
      });
    }
    this.draining = false;
  }
}
