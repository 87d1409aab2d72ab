import type { Kysely } from 'kysely';
import type { Database, IdentityPasskeysTable, IdentityWebauthnChallengesTable } from '../../store/schema.js';

export type ChallengePurpose = 'registration' | 'authentication';

/** The passkeys of end users and the WebAuthn challenges in flight; every query is scoped by project. */
export class PasskeyRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: PasskeyRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new PasskeyRepo(trx as unknown as Kysely<Database>)));
  }

  async insertChallenge(row: IdentityWebauthnChallengesTable): Promise<void> {
    await this.db.insertInto('identity_webauthn_challenges').values(row).execute();
  }

  /**
   * Deletes the challenge and returns whether it was live and issued for this purpose, project and user:
   * the delete is the claim, so two requests racing with one challenge cannot both use it.
   */
  async consumeChallenge(
    challengeHash: string,
    expected: { projectId: string; purpose: ChallengePurpose; userId: string | null },
    now: string,
  ): Promise<boolean> {
    const row = await this.db
      .deleteFrom('identity_webauthn_challenges')
      .where('challenge_hash', '=', challengeHash)
      .returningAll()
      .executeTakeFirst();
    return (
      row !== undefined &&
      row.project_id === expected.projectId &&
      row.purpose === expected.purpose &&
      row.user_id === expected.userId &&
      row.expires_at > now
    );
  }

  async deleteExpiredChallenges(now: string): Promise<void> {
    await this.db.deleteFrom('identity_webauthn_challenges').where('expires_at', '<=', now).execute();
  }

  async insertPasskey(row: IdentityPasskeysTable): Promise<void> {
    await this.db.insertInto('identity_passkeys').values(row).execute();
  }

  listPasskeys(projectId: string, userId: string): Promise<IdentityPasskeysTable[]> {
    return this.db
      .selectFrom('identity_passkeys')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  getPasskey(projectId: string, userId: string, id: string): Promise<IdentityPasskeysTable | undefined> {
    return this.db
      .selectFrom('identity_passkeys')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async countPasskeys(projectId: string, userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('identity_passkeys')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  findByCredentialId(projectId: string, credentialId: string): Promise<IdentityPasskeysTable | undefined> {
    return this.db
      .selectFrom('identity_passkeys')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('credential_id', '=', credentialId)
      .executeTakeFirst();
  }

  /** Records a sign-in, only if the counter is still the one the signature was checked against. */
  async recordUse(
    projectId: string,
    id: string,
    previousCounter: number,
    counter: number,
    at: string,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('identity_passkeys')
      .set({ counter, last_used_at: at })
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('counter', '=', previousCounter)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async rename(projectId: string, userId: string, id: string, name: string): Promise<boolean> {
    const result = await this.db
      .updateTable('identity_passkeys')
      .set({ name })
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async delete(projectId: string, userId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('identity_passkeys')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Deletes all the user's passkeys and registration challenges; returns how many passkeys went. */
  async deleteUserPasskeys(projectId: string, userId: string): Promise<number> {
    const result = await this.db
      .deleteFrom('identity_passkeys')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    await this.db
      .deleteFrom('identity_webauthn_challenges')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .execute();
    return Number(result.numDeletedRows);
  }
}
