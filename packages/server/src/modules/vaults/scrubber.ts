import { type Kysely, sql } from 'kysely';
import type { Engine } from '../../store/database.js';
import type { Database } from '../../store/schema.js';

/**
 * Makes deleted sealed keys and ciphertexts physically gone from the embedded database. The database
 * overwrites deleted content with zeros (`secure_delete`, store/database.ts), but the write-ahead log still
 * holds the page images from before the delete: a TRUNCATE checkpoint after a destroying commit copies
 * the zeroed pages into the database file and empties the log.
 *
 * PostgreSQL keeps deleted rows until (auto)vacuum reclaims them, and its WAL archive as long as it is
 * kept: there, crypto-shredding relies on those retention settings (docs/vaults.md).
 */
export class Scrubber {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
  ) {}

  /** After a commit that destroyed sealed keys or ciphertext: the log's older page images are dropped. */
  async scrub(): Promise<void> {
    if (this.engine !== 'sqlite') return;
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(this.db);
  }
}
