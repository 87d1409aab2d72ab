import { type Kysely, sql } from 'kysely';
import type { Database, StatusListsTable } from '../../store/schema.js';

export interface EntryRow {
  issuer_id: string;
  purpose: string;
  idx: number;
  credential_hash: string;
}

/** The status_lists and status_entries tables. Only the status service calls this. */
export class StatusRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: StatusRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new StatusRepo(trx as unknown as Kysely<Database>)));
  }

  /** Creates the list unless it exists (also when another request creates it at the same moment). */
  async ensureList(row: Omit<StatusListsTable, 'published' | 'published_version'>): Promise<void> {
    await this.db
      .insertInto('status_lists')
      .values({ ...row, published: null, published_version: null })
      .onConflict((conflict) => conflict.columns(['issuer_id', 'purpose']).doNothing())
      .execute();
  }

  getList(issuerId: string, purpose: string): Promise<StatusListsTable | undefined> {
    return this.db
      .selectFrom('status_lists')
      .selectAll()
      .where('issuer_id', '=', issuerId)
      .where('purpose', '=', purpose)
      .executeTakeFirst();
  }

  async isTaken(issuerId: string, purpose: string, idx: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('status_entries')
      .select('idx')
      .where('issuer_id', '=', issuerId)
      .where('purpose', '=', purpose)
      .where('idx', '=', idx)
      .executeTakeFirst();
    return row !== undefined;
  }

  async takenIndexes(issuerId: string, purpose: string, onlySet = false): Promise<number[]> {
    let query = this.db
      .selectFrom('status_entries')
      .select('idx')
      .where('issuer_id', '=', issuerId)
      .where('purpose', '=', purpose);
    if (onlySet) query = query.where('status', '=', 1);
    return (await query.execute()).map((row) => Number(row.idx));
  }

  /** Inserts the entries; false (and nothing inserted) when an index was taken meanwhile. */
  async insertEntries(rows: EntryRow[], at: string): Promise<boolean> {
    for (const row of rows) {
      const result = await this.db
        .insertInto('status_entries')
        .values({ ...row, status: 0, created_at: at, updated_at: at })
        .onConflict((conflict) => conflict.columns(['issuer_id', 'purpose', 'idx']).doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
    }
    return true;
  }

  findEntries(
    issuerId: string,
    purpose: string,
    by: { credentialHash: string } | { idx: number },
  ): Promise<Array<{ idx: number; credential_hash: string; status: number }>> {
    let query = this.db
      .selectFrom('status_entries')
      .select(['idx', 'credential_hash', 'status'])
      .where('issuer_id', '=', issuerId)
      .where('purpose', '=', purpose);
    query =
      'idx' in by ? query.where('idx', '=', by.idx) : query.where('credential_hash', '=', by.credentialHash);
    return query.orderBy('idx').execute();
  }

  async setStatus(issuerId: string, purpose: string, idx: number, status: number, at: string): Promise<void> {
    await this.db
      .updateTable('status_entries')
      .set({ status, updated_at: at })
      .where('issuer_id', '=', issuerId)
      .where('purpose', '=', purpose)
      .where('idx', '=', idx)
      .execute();
  }

  /** Marks the list changed; the row lock also orders concurrent changes of one list (PostgreSQL). */
  async bumpVersion(issuerId: string, purpose: string): Promise<void> {
    await this.db
      .updateTable('status_lists')
      .set({ version: sql`version + 1` })
      .where('issuer_id', '=', issuerId)
      .where('purpose', '=', purpose)
      .execute();
  }

  /** Stores a signed list unless a newer one is already stored; true when stored. */
  async storePublished(
    issuerId: string,
    purpose: string,
    published: string,
    version: number,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('status_lists')
      .set({ published, published_version: version })
      .where('issuer_id', '=', issuerId)
      .where('purpose', '=', purpose)
      .where((eb) => eb.or([eb('published_version', 'is', null), eb('published_version', '<', version)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
