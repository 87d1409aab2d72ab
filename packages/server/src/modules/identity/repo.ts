import { type Kysely, sql } from 'kysely';
import { inChunks, ROWS_PER_STATEMENT } from '../../store/chunks.js';
import type {
  Database,
  IdentityMfaChallengesTable,
  IdentitySessionsTable,
  IdentityUsersTable,
} from '../../store/schema.js';
import { type UserCondition, userConditionSql } from './user-conditions.js';

export interface UserFilter {
  emailPrefix?: string | undefined;
  usernamePrefix?: string | undefined;
  status?: 'active' | 'disabled' | undefined;
}

/** LIKE pattern matching values that start with `prefix` literally (backslash escapes). */
function startsWith(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Tables of end users, their sessions, factors and brute-force counters. Only the identity services call these. */
export class IdentityRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: IdentityRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new IdentityRepo(trx as unknown as Kysely<Database>)));
  }

  // ---- users ----
  async insertUser(row: IdentityUsersTable): Promise<void> {
    await this.db.insertInto('identity_users').values(row).execute();
  }

  /** A live (not erased) user of the project. */
  getUser(projectId: string, id: string): Promise<IdentityUsersTable | undefined> {
    return this.db
      .selectFrom('identity_users')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('status', '!=', 'deleted')
      .executeTakeFirst();
  }

  /** The live users of the project among `ids`. */
  async getUsers(projectId: string, ids: string[]): Promise<IdentityUsersTable[]> {
    if (ids.length === 0) return [];
    return this.db
      .selectFrom('identity_users')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', 'in', ids)
      .where('status', '!=', 'deleted')
      .execute();
  }

  findUserBy(
    projectId: string,
    column: 'email_normalized' | 'username_normalized',
    value: string,
  ): Promise<IdentityUsersTable | undefined> {
    return this.userByQuery(projectId, column, value).executeTakeFirst();
  }

  /**
   * The query behind `findUserBy`, unexecuted: sign-in runs it on every attempt, so the tests and the
   * login benchmark check its plan is a search of the unique index (O(log n) in the users of all projects).
   */
  userByQuery(projectId: string, column: 'email_normalized' | 'username_normalized', value: string) {
    return this.db
      .selectFrom('identity_users')
      .selectAll()
      .where('project_id', '=', projectId)
      .where(column, '=', value);
  }

  listUsers(
    projectId: string,
    filter: UserFilter,
    options: { after?: string | undefined; limit: number },
  ): Promise<IdentityUsersTable[]> {
    let query = this.db
      .selectFrom('identity_users')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .limit(options.limit);
    query = filter.status
      ? query.where('status', '=', filter.status)
      : query.where('status', '!=', 'deleted');
    if (filter.emailPrefix !== undefined) {
      query = query.where(sql<boolean>`email_normalized like ${startsWith(filter.emailPrefix)} escape '\\'`);
    }
    if (filter.usernamePrefix !== undefined) {
      query = query.where(
        sql<boolean>`username_normalized like ${startsWith(filter.usernamePrefix)} escape '\\'`,
      );
    }
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }

  /**
   * Changes a user and bumps its version. With `expectedVersion`, changes it only if it is still at that
   * version; false when it is not (or there is no such user).
   */
  async updateUser(
    projectId: string,
    id: string,
    changes: Partial<Omit<IdentityUsersTable, 'id' | 'project_id' | 'created_at' | 'version'>>,
    expectedVersion?: number,
  ): Promise<boolean> {
    let query = this.db
      .updateTable('identity_users')
      .set((eb) => ({ ...changes, version: eb('version', '+', 1) }))
      .where('project_id', '=', projectId)
      .where('id', '=', id);
    if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
    const result = await query.executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** Live users matching the condition, oldest first, a window of them and how many match in all. */
  async searchUsers(
    projectId: string,
    condition: UserCondition | undefined,
    window: { offset: number; limit: number },
  ): Promise<{ total: number; rows: IdentityUsersTable[] }> {
    let base = this.db
      .selectFrom('identity_users')
      .where('project_id', '=', projectId)
      .where('status', '!=', 'deleted');
    if (condition) base = base.where((eb) => userConditionSql(eb, condition));
    const counted = await base
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    const rows =
      window.limit === 0
        ? []
        : await base
            .selectAll()
            .orderBy('created_at')
            .orderBy('id')
            .offset(window.offset)
            .limit(window.limit)
            .execute();
    return { total: Number(counted.n), rows };
  }

  /** Accepts a TOTP time step only if it is later than every step accepted before: one use per code. */
  async claimTotpStep(userId: string, step: number): Promise<boolean> {
    const result = await this.db
      .updateTable('identity_users')
      .set({ totp_last_step: step })
      .where('id', '=', userId)
      .where('totp_last_step', '<', step)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  // ---- recovery codes ----
  async replaceRecoveryCodes(userId: string, hashes: string[]): Promise<void> {
    await this.deleteRecoveryCodes(userId);
    if (hashes.length > 0) {
      await this.db
        .insertInto('identity_recovery_codes')
        .values(hashes.map((code_hash) => ({ user_id: userId, code_hash })))
        .execute();
    }
  }

  async deleteRecoveryCodes(userId: string): Promise<void> {
    await this.db.deleteFrom('identity_recovery_codes').where('user_id', '=', userId).execute();
  }

  /** Deletes the code if it exists: true exactly once per code, even for concurrent attempts. */
  async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('identity_recovery_codes')
      .where('user_id', '=', userId)
      .where('code_hash', '=', hash)
      .executeTakeFirst();
    return result.numDeletedRows === 1n;
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('identity_recovery_codes')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  // ---- sessions ----
  async insertSessions(rows: readonly IdentitySessionsTable[]): Promise<void> {
    await inChunks(rows, ROWS_PER_STATEMENT, async (chunk) => {
      await this.db.insertInto('identity_sessions').values(chunk).execute();
    });
  }

  findSessionByTokenHash(tokenHash: string): Promise<IdentitySessionsTable | undefined> {
    return this.db
      .selectFrom('identity_sessions')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  listSessions(
    projectId: string,
    userId: string,
    options: { after?: string | undefined; limit: number; liveAt: string },
  ): Promise<IdentitySessionsTable[]> {
    let query = this.db
      .selectFrom('identity_sessions')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('expires_at', '>', options.liveAt)
      .where('idle_expires_at', '>', options.liveAt)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }

  async touchSession(id: string, lastSeenAt: string, idleExpiresAt: string): Promise<void> {
    await this.db
      .updateTable('identity_sessions')
      .set({ last_seen_at: lastSeenAt, idle_expires_at: idleExpiresAt })
      .where('id', '=', id)
      .execute();
  }

  async updateSession(
    id: string,
    changes: Partial<Pick<IdentitySessionsTable, 'amr' | 'restricted' | 'auth_time'>>,
  ): Promise<void> {
    await this.db.updateTable('identity_sessions').set(changes).where('id', '=', id).execute();
  }

  /** Deletes one session of the user; false when there is none by that id. */
  async deleteSession(projectId: string, userId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('identity_sessions')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows === 1n;
  }

  /** Deletes every session of the user except `keep`; returns how many. */
  async deleteSessions(projectId: string, userId: string, keep?: string): Promise<number> {
    let query = this.db
      .deleteFrom('identity_sessions')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId);
    if (keep) query = query.where('id', '!=', keep);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async deleteExpiredSessions(now: string): Promise<void> {
    await this.db
      .deleteFrom('identity_sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('idle_expires_at', '<=', now)]))
      .execute();
    await this.db.deleteFrom('identity_mfa_challenges').where('expires_at', '<=', now).execute();
  }

  // ---- MFA challenges ----
  async insertChallenge(row: IdentityMfaChallengesTable): Promise<void> {
    await this.db.insertInto('identity_mfa_challenges').values(row).execute();
  }

  /** Counts an attempt on a live challenge of the project and returns it, or undefined. */
  async attemptChallenge(
    projectId: string,
    tokenHash: string,
    now: string,
  ): Promise<IdentityMfaChallengesTable | undefined> {
    const result = await this.db
      .updateTable('identity_mfa_challenges')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('token_hash', '=', tokenHash)
      .where('project_id', '=', projectId)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (result.numUpdatedRows !== 1n) return undefined;
    return this.db
      .selectFrom('identity_mfa_challenges')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  async deleteChallenge(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('identity_mfa_challenges').where('token_hash', '=', tokenHash).execute();
  }

  // ---- brute-force counters ----
  /** The times until which the counters under `keys` block attempts (those that block at all). */
  async blockedUntil(keys: string[]): Promise<string[]> {
    const rows = await this.db
      .selectFrom('identity_throttle')
      .select('blocked_until')
      .where('key', 'in', keys)
      .execute();
    return rows.flatMap((row) => (row.blocked_until ? [row.blocked_until] : []));
  }

  /**
   * Adds one failure to the counter, starting it over when the last failure is older than `forgetBefore`,
   * and returns the new count. One statement, so concurrent failures all count.
   */
  async addFailure(key: string, now: string, forgetBefore: string): Promise<number> {
    const row = await this.db
      .insertInto('identity_throttle')
      .values({ key, failures: 1, last_failure_at: now, blocked_until: null })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql`case when identity_throttle.last_failure_at < ${forgetBefore} then 1 else identity_throttle.failures + 1 end`,
          last_failure_at: now,
        }),
      )
      .returning('failures')
      .executeTakeFirstOrThrow();
    return Number(row.failures);
  }

  async block(key: string, until: string): Promise<void> {
    await this.db
      .updateTable('identity_throttle')
      .set({ blocked_until: until })
      .where('key', '=', key)
      .execute();
  }

  /** The failures a counter holds, when its last one is not older than `forgetBefore`. */
  async failuresSince(key: string, forgetBefore: string): Promise<number> {
    const row = await this.db
      .selectFrom('identity_throttle')
      .select('failures')
      .where('key', '=', key)
      .where('last_failure_at', '>=', forgetBefore)
      .executeTakeFirst();
    return row ? Number(row.failures) : 0;
  }

  async clearFailures(key: string): Promise<void> {
    await this.db.deleteFrom('identity_throttle').where('key', '=', key).execute();
  }

  // ---- policies ----
  async getPolicy(projectId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('identity_policies')
      .select('policy')
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row?.policy;
  }

  async putPolicy(projectId: string, policy: string, at: string): Promise<void> {
    await this.db
      .insertInto('identity_policies')
      .values({ project_id: projectId, policy, updated_at: at })
      .onConflict((oc) => oc.column('project_id').doUpdateSet({ policy, updated_at: at }))
      .execute();
  }
}
