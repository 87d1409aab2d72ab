import type { Kysely } from 'kysely';
import type {
  Database,
  UserCredentialsTable,
  UserDidChallengesTable,
  UserDidsTable,
} from '../../store/schema.js';

/** The user_dids, user_did_challenges and user_credentials tables. Only the wallet module calls these. */
export class WalletRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: WalletRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new WalletRepo(trx as unknown as Kysely<Database>)));
  }

  // ---- linked DIDs ----
  async insertDid(row: UserDidsTable): Promise<void> {
    await this.db.insertInto('user_dids').values(row).execute();
  }

  getDid(projectId: string, did: string): Promise<UserDidsTable | undefined> {
    return this.db
      .selectFrom('user_dids')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('did', '=', did)
      .executeTakeFirst();
  }

  /** The user's DIDs, oldest first (the first is the user's primary DID). */
  listDids(projectId: string, userId: string): Promise<UserDidsTable[]> {
    return this.db
      .selectFrom('user_dids')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute();
  }

  async deleteDid(projectId: string, userId: string, did: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('user_dids')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('did', '=', did)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  // ---- DID Auth challenges ----
  async insertChallenge(row: UserDidChallengesTable): Promise<void> {
    await this.db.insertInto('user_did_challenges').values(row).execute();
  }

  /** Deletes the user's challenge; true only when it existed and had not expired (single use). */
  async consumeChallenge(projectId: string, userId: string, hash: string, now: string): Promise<boolean> {
    const deleted = await this.db
      .deleteFrom('user_did_challenges')
      .where('challenge_hash', '=', hash)
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .returning('expires_at')
      .executeTakeFirst();
    return deleted !== undefined && deleted.expires_at > now;
  }

  async countChallenges(projectId: string, userId: string, now: string): Promise<number> {
    const row = await this.db
      .selectFrom('user_did_challenges')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async purgeExpiredChallenges(now: string): Promise<void> {
    await this.db.deleteFrom('user_did_challenges').where('expires_at', '<=', now).execute();
  }

  // ---- wallet ----
  async insertCredential(row: UserCredentialsTable): Promise<void> {
    await this.db.insertInto('user_credentials').values(row).execute();
  }

  getCredential(projectId: string, userId: string, id: string): Promise<UserCredentialsTable | undefined> {
    return this.db
      .selectFrom('user_credentials')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** The listing metadata of the user's credentials, oldest first (ids sort by creation). */
  listCredentials(projectId: string, userId: string): Promise<Omit<UserCredentialsTable, 'sealed'>[]> {
    return this.db
      .selectFrom('user_credentials')
      .select(['id', 'project_id', 'user_id', 'types', 'issuer', 'valid_from', 'valid_until', 'stored_at'])
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute();
  }

  async countCredentials(projectId: string, userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('user_credentials')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async deleteCredential(projectId: string, userId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('user_credentials')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Everything the user holds goes; returns the KeyStore keys of their custodial DIDs, to retire. */
  async eraseUser(projectId: string, userId: string): Promise<string[]> {
    const custodial = await this.db
      .selectFrom('user_dids')
      .select('key_id')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('key_id', 'is not', null)
      .execute();
    for (const table of ['user_dids', 'user_did_challenges', 'user_credentials'] as const) {
      await this.db
        .deleteFrom(table)
        .where('project_id', '=', projectId)
        .where('user_id', '=', userId)
        .execute();
    }
    return custodial.map((row) => row.key_id as string);
  }
}
