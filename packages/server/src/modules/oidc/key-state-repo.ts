import type { Kysely } from 'kysely';
import { preparedQuery } from '../../store/prepared.js';
import type { Database, OidcKeyStatesTable } from '../../store/schema.js';

/** What IssuerKeys needs of the key lifecycle rows (the tables below; maps in unit tests). */
export type KeyStateStore = Pick<
  OidcKeyStateRepo,
  'list' | 'find' | 'insert' | 'retire' | 'revoke' | 'claimStagedRotation' | 'endPendingRotation'
>;

/**
 * The `oidc_key_states` table: when each issuer key is published, starts signing, retires or is revoked;
 * and `oidc_key_rotations`: the staged rotation each project has pending.
 */
export class OidcKeyStateRepo {
  /**
   * The project's rows, compiled once: with a shared database every request with an access token reads
   * them (the key fingerprint, see AccessTokenVerifier).
   */
  readonly list: (projectId: string) => Promise<OidcKeyStatesTable[]>;

  constructor(private readonly db: Kysely<Database>) {
    this.list = preparedQuery<[string], OidcKeyStatesTable>(db, ['project'], (projectId) =>
      db.selectFrom('oidc_key_states').selectAll().where('project_id', '=', projectId).orderBy('kid'),
    );
  }

  find(projectId: string, kid: string): Promise<OidcKeyStatesTable | undefined> {
    return this.db
      .selectFrom('oidc_key_states')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('kid', '=', kid)
      .executeTakeFirst();
  }

  /** Records a key's state once; a second writer of the same key (another replica) changes nothing. */
  async insert(row: OidcKeyStatesTable): Promise<void> {
    await this.db
      .insertInto('oidc_key_states')
      .values(row)
      .onConflict((conflict) => conflict.column('kid').doNothing())
      .execute();
  }

  /** Marks a key retired at `at` unless it already is (the first retirement time stands). */
  async retire(projectId: string, kid: string, at: string): Promise<void> {
    await this.db
      .updateTable('oidc_key_states')
      .set({ retired_at: at })
      .where('project_id', '=', projectId)
      .where('kid', '=', kid)
      .where('retired_at', 'is', null)
      .execute();
  }

  /** Marks a key revoked at `at` (and retired then, unless it already was); the first revocation stands. */
  async revoke(projectId: string, kid: string, at: string): Promise<void> {
    await this.db
      .updateTable('oidc_key_states')
      .set((eb) => ({ revoked_at: at, retired_at: eb.fn.coalesce('retired_at', eb.val(at)) }))
      .where('project_id', '=', projectId)
      .where('kid', '=', kid)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /**
   * Claims the project's staged-rotation slot until `pendingUntil`: true when no staged rotation is
   * pending at `now` (or the pending one was claimed before `interruptedBefore`, and so never finished).
   * One insert or one conditional update, each atomic on SQLite and Postgres alike: of two concurrent
   * claims, the second finds the first's row and its condition false.
   */
  async claimStagedRotation(
    projectId: string,
    claim: { pendingUntil: string; now: string; interruptedBefore: string },
  ): Promise<boolean> {
    const values = { pending_until: claim.pendingUntil, claimed_at: claim.now };
    const inserted = await this.db
      .insertInto('oidc_key_rotations')
      .values({ project_id: projectId, ...values })
      .onConflict((conflict) => conflict.column('project_id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return true;
    const updated = await this.db
      .updateTable('oidc_key_rotations')
      .set(values)
      .where('project_id', '=', projectId)
      .where((eb) =>
        eb.or([eb('pending_until', '<=', claim.now), eb('claimed_at', '<=', claim.interruptedBefore)]),
      )
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  /** Frees the staged-rotation slot at `at` (an immediate rotation revoked the pending keys). */
  async endPendingRotation(projectId: string, at: string): Promise<void> {
    await this.db
      .updateTable('oidc_key_rotations')
      .set({ pending_until: at })
      .where('project_id', '=', projectId)
      .execute();
  }
}
