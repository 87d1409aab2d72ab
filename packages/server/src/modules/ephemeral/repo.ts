import type { Kysely } from 'kysely';
import type { Database, EphemeralAttestationsTable } from '../../store/schema.js';

/** A row of ephemeral_attestations with its numbers as numbers (PostgreSQL returns bigints as strings). */
export interface AttestationRow {
  projectId: string;
  signature: string;
  keyCommitment: string;
  nodeId: string;
  reason: string;
  deletedAt: string;
  at: number;
  ledgerSeq: number;
  ledgerIndex: number | null;
}

function toRow(row: EphemeralAttestationsTable): AttestationRow {
  return {
    projectId: row.project_id,
    signature: row.signature,
    keyCommitment: row.key_commitment,
    nodeId: row.node_id,
    reason: row.reason,
    deletedAt: row.deleted_at,
    at: Number(row.at),
    ledgerSeq: Number(row.ledger_seq),
    ledgerIndex: row.ledger_index === null ? null : Number(row.ledger_index),
  };
}

/** The ephemeral_attestations table. Only the ephemeral service calls this. */
export class EphemeralRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: EphemeralRepo) => Promise<T>): Promise<T> {
    return this.db
      .transaction()
      .execute((trx) => work(new EphemeralRepo(trx as unknown as Kysely<Database>)));
  }

  async find(projectId: string, signature: string): Promise<AttestationRow | undefined> {
    const row = await this.db
      .selectFrom('ephemeral_attestations')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('signature', '=', signature)
      .executeTakeFirst();
    return row && toRow(row);
  }

  /** Fails with a unique violation when the same attestation was recorded concurrently. */
  async insert(row: AttestationRow): Promise<void> {
    await this.db
      .insertInto('ephemeral_attestations')
      .values({
        project_id: row.projectId,
        signature: row.signature,
        key_commitment: row.keyCommitment,
        node_id: row.nodeId,
        reason: row.reason,
        deleted_at: row.deletedAt,
        at: row.at,
        ledger_seq: row.ledgerSeq,
        ledger_index: row.ledgerIndex,
      })
      .execute();
  }

  async setLedgerIndex(projectId: string, signature: string, index: number): Promise<void> {
    await this.db
      .updateTable('ephemeral_attestations')
      .set({ ledger_index: index })
      .where('project_id', '=', projectId)
      .where('signature', '=', signature)
      .execute();
  }

  /** A project's attestations for one key commitment, oldest deletion first, at most `limit`. */
  async byCommitment(projectId: string, keyCommitment: string, limit: number): Promise<AttestationRow[]> {
    const rows = await this.db
      .selectFrom('ephemeral_attestations')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('key_commitment', '=', keyCommitment)
      .orderBy('deleted_at')
      .orderBy('node_id')
      .orderBy('signature')
      .limit(limit)
      .execute();
    return rows.map(toRow);
  }
}
