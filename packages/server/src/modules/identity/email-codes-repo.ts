import type { Kysely } from 'kysely';
import type { Engine } from '../../store/database.js';
import type { Database, IdentityEmailCodesTable } from '../../store/schema.js';

/** A send limit: at most `max` counted sends under `keyHash` since `since`. */
export interface SendLimit {
  keyHash: string;
  since: string;
  max: number;
}

/** The tables of emailed codes and of the send counters. Only EmailCodes calls these. */
export class EmailCodesRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
  ) {}

  /**
   * Runs `work` in one transaction. Counting sends and recording one must not interleave with another
   * request doing the same, or both could pass a limit: SQLite transactions are already serial (one
   * connection), and on Postgres `work` starts by locking a row with lockUser or lockProject.
   */
  transaction<T>(work: (repo: EmailCodesRepo) => Promise<T>): Promise<T> {
    return this.db
      .transaction()
      .execute((trx) => work(new EmailCodesRepo(trx as unknown as Kysely<Database>, this.engine)));
  }

  /** Holds the user's row until the transaction ends: sends to one user run one after the other. */
  async lockUser(projectId: string, userId: string): Promise<void> {
    if (this.engine !== 'postgres') return;
    await this.db
      .selectFrom('identity_users')
      .select('id')
      .where('project_id', '=', projectId)
      .where('id', '=', userId)
      .forUpdate()
      .execute();
  }

  /** Holds the project's row until the transaction ends: for the per-client limit, before any user is known. */
  async lockProject(projectId: string): Promise<void> {
    if (this.engine !== 'postgres') return;
    await this.db.selectFrom('projects').select('id').where('id', '=', projectId).forUpdate().execute();
  }

  /** Records one send under every key when no limit is reached; false (recording nothing) otherwise. */
  async takeSend(limits: SendLimit[], at: string): Promise<boolean> {
    for (const limit of limits) {
      const row = await this.db
        .selectFrom('identity_email_sends')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('key_hash', '=', limit.keyHash)
        .where('sent_at', '>', limit.since)
        .executeTakeFirstOrThrow();
      if (Number(row.n) >= limit.max) return false;
    }
    const keys = [...new Set(limits.map((limit) => limit.keyHash))];
    await this.db
      .insertInto('identity_email_sends')
      .values(keys.map((key_hash) => ({ key_hash, sent_at: at })))
      .execute();
    return true;
  }

  /** The user's live code for the purpose, without counting an attempt. */
  live(
    projectId: string,
    userId: string,
    purpose: string,
    now: string,
  ): Promise<IdentityEmailCodesTable | undefined> {
    return this.db
      .selectFrom('identity_email_codes')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  /** Stores a user's new code for a purpose, replacing (and so invalidating) the previous one. */
  async replace(row: IdentityEmailCodesTable): Promise<void> {
    await this.db
      .deleteFrom('identity_email_codes')
      .where('project_id', '=', row.project_id)
      .where('user_id', '=', row.user_id)
      .where('purpose', '=', row.purpose)
      .execute();
    await this.db.insertInto('identity_email_codes').values(row).execute();
  }

  /** Binds a live code's link to the browser that asked for it last. */
  async setBrowser(id: string, browserHash: string): Promise<void> {
    await this.db
      .updateTable('identity_email_codes')
      .set({ browser_hash: browserHash })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Counts an attempt on the user's live code for the purpose and returns it, or undefined. One
   * statement, so the row counted is the row returned even while a new code replaces it concurrently.
   */
  attempt(
    projectId: string,
    userId: string,
    purpose: string,
    now: string,
  ): Promise<IdentityEmailCodesTable | undefined> {
    return this.db
      .updateTable('identity_email_codes')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
  }

  /** The live code of the project behind a magic link, without using it. */
  findByLink(projectId: string, linkHash: string, now: string): Promise<IdentityEmailCodesTable | undefined> {
    return this.db
      .selectFrom('identity_email_codes')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('link_hash', '=', linkHash)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  /** Uses a code up; true for the one caller that deleted it (concurrent uses get false). */
  async consume(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('identity_email_codes').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows === 1n;
  }

  /** Drops expired codes and send records older than the longest limit window. */
  async purge(now: string, sendsBefore: string): Promise<void> {
    await this.db.deleteFrom('identity_email_codes').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('identity_email_sends').where('sent_at', '<=', sendsBefore).execute();
  }
}
