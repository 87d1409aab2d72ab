import type { Kysely } from 'kysely';
import type { Database, PersonaOpsTable } from '../../store/schema.js';

/** A row of persona_ops with its numbers as numbers (PostgreSQL returns bigints as strings). */
export interface PersonaOpRow {
  did: string;
  position: number;
  projectId: string;
  opHash: string;
  opType: string;
  at: number;
  ledgerSeq: number;
  ledgerIndex: number | null;
}

function toRow(row: PersonaOpsTable): PersonaOpRow {
  return {
    did: row.did,
    position: Number(row.position),
    projectId: row.project_id,
    opHash: row.op_hash,
    opType: row.op_type,
    at: Number(row.at),
    ledgerSeq: Number(row.ledger_seq),
    ledgerIndex: row.ledger_index === null ? null : Number(row.ledger_index),
  };
}

/** The persona_ops index. Only the persona service calls this. */
export class PersonaRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: PersonaRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new PersonaRepo(trx as unknown as Kysely<Database>)));
  }

  /** The DID's operations in order (genesis first). */
  async operations(did: string): Promise<PersonaOpRow[]> {
    const rows = await this.db
      .selectFrom('persona_ops')
      .selectAll()
      .where('did', '=', did)
      .orderBy('position')
      .execute();
    return rows.map(toRow);
  }

  /** Fails with a unique violation when another operation took `position` first. */
  async insert(row: PersonaOpRow): Promise<void> {
    await this.db
      .insertInto('persona_ops')
      .values({
        did: row.did,
        position: row.position,
        project_id: row.projectId,
        op_hash: row.opHash,
        op_type: row.opType,
        at: row.at,
        ledger_seq: row.ledgerSeq,
        ledger_index: row.ledgerIndex,
      })
      .execute();
  }

  async setLedgerIndexes(did: string, indexes: ReadonlyArray<{ position: number; index: number }>) {
    for (const { position, index } of indexes) {
      await this.db
        .updateTable('persona_ops')
        .set({ ledger_index: index })
        .where('did', '=', did)
        .where('position', '=', position)
        .execute();
    }
  }

  /** A project's DIDs (their genesis rows), by DID. */
  async genesisRows(
    projectId: string,
    options: { after?: string | undefined; limit: number },
  ): Promise<PersonaOpRow[]> {
    let query = this.db
      .selectFrom('persona_ops')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('position', '=', 0)
      .orderBy('did')
      .limit(options.limit);
    if (options.after) query = query.where('did', '>', options.after);
    return (await query.execute()).map(toRow);
  }

  /** The latest operation of each of `dids`. */
  async heads(dids: readonly string[]): Promise<Map<string, PersonaOpRow>> {
    if (dids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('persona_ops')
      .selectAll()
      .where('did', 'in', dids)
      .orderBy('position')
      .execute();
    return new Map(rows.map((row) => [row.did, toRow(row)]));
  }
}
