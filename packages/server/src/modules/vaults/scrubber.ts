import { type Kysely, sql } from 'kysely';
import type { Engine } from '../../store/database.js';
import type { Database } from '../../store/schema.js';

/**
 * Makes deleted sealed keys and ciphertexts physically gone from the embedded database, which deleting
 * rows alone does not: SQLite leaves a deleted row's bytes in free pages, and the write-ahead log keeps
 * the page images from before the delete. With `secure_delete` SQLite overwrites deleted content with
 * zeros; a TRUNCATE checkpoint after a destroying commit copies those pages into the database file and
 * empties the log.
 *
 * PostgreSQL keeps deleted rows until (auto)vacuum reclaims them, and its WAL archive as long as it is
 * kept: there, crypto-shredding relies on those retention settings (docs/vaults.md).
 */
export class Scrubber {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
  ) {}

  /** Before the first destroying write: zeroing of deleted content (a setting of the one connection). */
  async prepare(): Promise<void> {
    if (this.engine !== 'sqlite') return;
    this.ready ??= sql`PRAGMA secure_delete = ON`.execute(this.db).then(() => undefined);
    await this.ready;
  }

  /** After a commit that destroyed sealed keys or ciphertext: the log's older page images are dropped. */
  async scrub(): Promise<void> {
    if (this.engine !== 'sqlite') return;
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(this.db);
  }
}
