import type { Kysely, Selectable } from 'kysely';
import type { Database, VaultAccessApprovalsTable } from '../../store/schema.js';

export type AccessApprovalRow = Selectable<VaultAccessApprovalsTable>;

/** The vault_access_approval* tables. Only approvals-service.ts calls this. */
export class AccessApprovalsRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: AccessApprovalsRepo) => Promise<T>): Promise<T> {
    return this.db
      .transaction()
      .execute((trx) => work(new AccessApprovalsRepo(trx as unknown as Kysely<Database>)));
  }

  approval(projectId: string, vaultId: string, id: string): Promise<AccessApprovalRow | undefined> {
    return this.db
      .selectFrom('vault_access_approvals')
      .selectAll()
      .where('id', '=', id)
      .where('vault_id', '=', vaultId)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
  }

  /** An approval for this subject and action that guardians have not approved yet and may still approve. */
  pending(
    vaultId: string,
    subject: string,
    action: string,
    now: number,
  ): Promise<AccessApprovalRow | undefined> {
    return this.db
      .selectFrom('vault_access_approvals')
      .selectAll()
      .where('vault_id', '=', vaultId)
      .where('subject', '=', subject)
      .where('action', '=', action)
      .where('approved_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('id', 'desc')
      .executeTakeFirst();
  }

  /**
   * Reads an approval after a no-op write to its row: on PostgreSQL that takes the row lock until the
   * transaction ends, so concurrent votes on one approval run one after the other (SQLite serializes
   * writers anyway).
   */
  async lock(id: string): Promise<AccessApprovalRow | undefined> {
    await this.db
      .updateTable('vault_access_approvals')
      .set((eb) => ({ threshold: eb.ref('threshold') }))
      .where('id', '=', id)
      .execute();
    return this.db.selectFrom('vault_access_approvals').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insert(row: AccessApprovalRow): Promise<void> {
    await this.db.insertInto('vault_access_approvals').values(row).execute();
  }

  async markApproved(id: string, at: number): Promise<void> {
    await this.db
      .updateTable('vault_access_approvals')
      .set({ approved_at: at })
      .where('id', '=', id)
      .where('approved_at', 'is', null)
      .execute();
  }

  /** Guardians who approved, in the order they did. */
  async voters(approvalId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('vault_access_approval_votes')
      .select('guardian')
      .where('approval_id', '=', approvalId)
      .orderBy('created_at')
      .orderBy('guardian')
      .execute();
    return rows.map((row) => row.guardian);
  }

  async insertVote(approvalId: string, guardian: string, signature: string, at: number): Promise<void> {
    await this.db
      .insertInto('vault_access_approval_votes')
      .values({ approval_id: approvalId, guardian, signature, created_at: at })
      .execute();
  }

  /**
   * Removes a vault's approvals that can no longer be used: pending ones past `before`, approved ones
   * approved at or before `approvedBefore`.
   */
  async purgeStale(vaultId: string, before: number, approvedBefore: number): Promise<void> {
    const ids = await this.db
      .selectFrom('vault_access_approvals')
      .select('id')
      .where('vault_id', '=', vaultId)
      .where((eb) =>
        eb.or([
          eb.and([eb('approved_at', 'is', null), eb('expires_at', '<=', before)]),
          eb('approved_at', '<=', approvedBefore),
        ]),
      )
      .execute();
    await this.deleteIds(ids.map((row) => row.id));
  }

  /** Every approval of a vault (shredding, or a new setup whose guardians differ). */
  async deleteForVault(vaultId: string): Promise<void> {
    const ids = await this.db
      .selectFrom('vault_access_approvals')
      .select('id')
      .where('vault_id', '=', vaultId)
      .execute();
    await this.deleteIds(ids.map((row) => row.id));
  }

  private async deleteIds(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.deleteFrom('vault_access_approval_votes').where('approval_id', 'in', ids).execute();
    await this.db.deleteFrom('vault_access_approvals').where('id', 'in', ids).execute();
  }
}
