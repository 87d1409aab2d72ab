import type { Kysely, Selectable } from 'kysely';
import type {
  Database,
  VaultRecoveryApprovalsTable,
  VaultRecoveryGuardiansTable,
  VaultRecoveryRequestsTable,
  VaultRecoverySetupsTable,
} from '../../store/schema.js';

export type SetupRow = Selectable<VaultRecoverySetupsTable>;
export type GuardianRow = Selectable<VaultRecoveryGuardiansTable>;
export type RequestRow = Selectable<VaultRecoveryRequestsTable>;
export type ApprovalRow = Selectable<VaultRecoveryApprovalsTable>;

/** Statuses of a request that still accepts approvals (and holds the vault's one open slot). */
export const OPEN_STATUSES = ['pending', 'ready'] as const;
export type EndedStatus = 'completed' | 'canceled' | 'expired';

/** The vault_recovery_* tables. Only recovery-service.ts calls this; tenant reads are scoped by project. */
export class RecoveryRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: RecoveryRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new RecoveryRepo(trx as unknown as Kysely<Database>)));
  }

  // ---- setups ----
  setup(projectId: string, vaultId: string): Promise<SetupRow | undefined> {
    return this.db
      .selectFrom('vault_recovery_setups')
      .selectAll()
      .where('vault_id', '=', vaultId)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
  }

  /** The guardians of a setup in the owner's order, with their sealed shares. */
  guardians(setupId: string): Promise<GuardianRow[]> {
    return this.db
      .selectFrom('vault_recovery_guardians')
      .selectAll()
      .where('setup_id', '=', setupId)
      .orderBy('position')
      .execute();
  }

  guardian(setupId: string, subject: string): Promise<GuardianRow | undefined> {
    return this.db
      .selectFrom('vault_recovery_guardians')
      .selectAll()
      .where('setup_id', '=', setupId)
      .where('subject', '=', subject)
      .executeTakeFirst();
  }

  async insertSetup(setup: SetupRow, guardians: GuardianRow[]): Promise<void> {
    await this.db.insertInto('vault_recovery_setups').values(setup).execute();
    await this.db.insertInto('vault_recovery_guardians').values(guardians).execute();
  }

  /** Deletes a vault's setup with every sealed share; returns the deleted setup's id, if there was one. */
  async deleteSetup(vaultId: string): Promise<string | null> {
    const setup = await this.db
      .selectFrom('vault_recovery_setups')
      .select('id')
      .where('vault_id', '=', vaultId)
      .executeTakeFirst();
    if (!setup) return null;
    await this.db.deleteFrom('vault_recovery_guardians').where('setup_id', '=', setup.id).execute();
    await this.db.deleteFrom('vault_recovery_setups').where('vault_id', '=', vaultId).execute();
    return setup.id;
  }

  // ---- requests ----
  request(projectId: string, vaultId: string, id: string): Promise<RequestRow | undefined> {
    return this.db
      .selectFrom('vault_recovery_requests')
      .selectAll()
      .where('id', '=', id)
      .where('vault_id', '=', vaultId)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
  }

  /** The vault's pending or ready request, if any (it may be past its expiry: the caller checks). */
  openRequest(vaultId: string): Promise<RequestRow | undefined> {
    return this.db
      .selectFrom('vault_recovery_requests')
      .selectAll()
      .where('open_vault_id', '=', vaultId)
      .executeTakeFirst();
  }

  /** Reads a request after a no-op write to its row, which serializes approvals of it (see AccessApprovalsRepo.lock). */
  async lockRequest(id: string): Promise<RequestRow | undefined> {
    await this.db
      .updateTable('vault_recovery_requests')
      .set((eb) => ({ threshold: eb.ref('threshold') }))
      .where('id', '=', id)
      .execute();
    return this.db.selectFrom('vault_recovery_requests').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertRequest(row: RequestRow): Promise<void> {
    await this.db.insertInto('vault_recovery_requests').values(row).execute();
  }

  async markReady(id: string): Promise<void> {
    await this.db
      .updateTable('vault_recovery_requests')
      .set({ status: 'ready' })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
  }

  /**
   * Ends an open request: frees the vault's open slot and drops the re-sealed shares, which only the
   * requester could open and nobody needs any more. False when the request was no longer open.
   */
  async endRequest(id: string, status: EndedStatus, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('vault_recovery_requests')
      .set({ status, open_vault_id: null, ended_at: at })
      .where('id', '=', id)
      .where('status', 'in', OPEN_STATUSES)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return false;
    await this.db
      .updateTable('vault_recovery_approvals')
      .set({ resealed_share: null })
      .where('request_id', '=', id)
      .execute();
    return true;
  }

  // ---- approvals ----
  approvals(requestId: string): Promise<ApprovalRow[]> {
    return this.db
      .selectFrom('vault_recovery_approvals')
      .selectAll()
      .where('request_id', '=', requestId)
      .orderBy('created_at')
      .orderBy('guardian')
      .execute();
  }

  async insertApproval(row: ApprovalRow): Promise<void> {
    await this.db.insertInto('vault_recovery_approvals').values(row).execute();
  }

  async countApprovals(requestId: string): Promise<number> {
    const row = await this.db
      .selectFrom('vault_recovery_approvals')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('request_id', '=', requestId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  // ---- shredding ----
  /** Destroys every request of a vault with its approvals and re-sealed shares. */
  async deleteRequests(vaultId: string): Promise<void> {
    await this.db
      .deleteFrom('vault_recovery_approvals')
      .where('request_id', 'in', (eb) =>
        eb.selectFrom('vault_recovery_requests').select('id').where('vault_id', '=', vaultId),
      )
      .execute();
    await this.db.deleteFrom('vault_recovery_requests').where('vault_id', '=', vaultId).execute();
  }
}
