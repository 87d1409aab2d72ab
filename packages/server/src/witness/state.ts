import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WitnessState } from '@personachain/ledger';
import SQLite from 'better-sqlite3';

export const WITNESS_DB_FILE = 'witness.db';

interface Row {
  size: number;
  root: Buffer;
}

/**
 * The latest cosigned checkpoint of each log, in a SQLite file. Writes are compare-and-swap: a new state
 * is stored only if the row still holds the state the decision was made on, so a slow request decided
 * on an older state can never roll the log back (c2sp.org/tlog-witness: check and persist atomically).
 */
export class WitnessStateStore {
  private readonly db: SQLite.Database;
  private readonly select: SQLite.Statement<[string], Row>;
  private readonly insert: SQLite.Statement<[string, number, Buffer, string, string]>;
  private readonly update: SQLite.Statement<[number, Buffer, string, string, string, number, Buffer]>;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new SQLite(join(dataDir, WITNESS_DB_FILE));
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    // A cosignature is a promise never to cosign an inconsistent checkpoint: its state is on disk first.
    this.db.pragma('synchronous = FULL');
    this.db.exec(
      `create table if not exists witness_state (
         origin text primary key,
         size integer not null,
         root blob not null,
         checkpoint text not null,
         updated_at text not null
       )`,
    );
    this.select = this.db.prepare('select size, root from witness_state where origin = ?');
    this.insert = this.db.prepare(
      `insert into witness_state (origin, size, root, checkpoint, updated_at) values (?, ?, ?, ?, ?)
       on conflict (origin) do nothing`,
    );
    this.update = this.db.prepare(
      `update witness_state set size = ?, root = ?, checkpoint = ?, updated_at = ?
       where origin = ? and size = ? and root = ?`,
    );
  }

  get(origin: string): WitnessState | undefined {
    const row = this.select.get(origin);
    return row && { size: row.size, root: new Uint8Array(row.root) };
  }

  /**
   * Stores `next` (with the signed note it came from) if the origin's state is still `expected`; false
   * when another request changed it in between. SQLite runs each statement atomically, also across
   * processes sharing the file.
   */
  compareAndSet(
    origin: string,
    expected: WitnessState | undefined,
    next: WitnessState,
    note: string,
  ): boolean {
    const root = Buffer.from(next.root);
    const at = new Date().toISOString();
    const result = expected
      ? this.update.run(next.size, root, note, at, origin, expected.size, Buffer.from(expected.root))
      : this.insert.run(origin, next.size, root, note, at);
    return result.changes === 1;
  }

  close(): void {
    this.db.close();
  }
}
