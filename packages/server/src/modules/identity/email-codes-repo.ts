import type { Kysely } from 'kysely';
import type { Database, IdentityEmailCodesTable } from '../../store/schema.js';

/** The tables of emailed codes and of the send counters. Only EmailCodes calls these. */
export class EmailCodesRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Stores a user's new code for a purpose, replacing (and so invalidating) the previous one. */
  async replace(row: IdentityEmailCodesTable): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('identity_email_codes')
        .where('project_id', '=', row.project_id)
        .where('user_id', '=', row.user_id)
        .where('purpose', '=', row.purpose)
        .execute();
      await trx.insertInto('identity_email_codes').values(row).execute();
    });
  }

  /** Counts an attempt on the user's live code for the purpose and returns it, or undefined. */
  async attempt(
    projectId: string,
    userId: string,
    purpose: string,
    now: string,
  ): Promise<IdentityEmailCodesTable | undefined> {
    const result = await this.db
      .updateTable('identity_email_codes')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (result.numUpdatedRows !== 1n) return undefined;
    return this.db
      .selectFrom('identity_email_codes')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
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

  async countSends(keyHash: string, since: string): Promise<number> {
    const row = await this.db
      .selectFrom('identity_email_sends')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('key_hash', '=', keyHash)
      .where('sent_at', '>', since)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async recordSend(keyHashes: string[], at: string): Promise<void> {
    await this.db
      .insertInto('identity_email_sends')
      .values(keyHashes.map((key_hash) => ({ key_hash, sent_at: at })))
      .execute();
  }

  /** Drops expired codes and send records older than the longest limit window. */
  async purge(now: string, sendsBefore: string): Promise<void> {
    await this.db.deleteFrom('identity_email_codes').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('identity_email_sends').where('sent_at', '<=', sendsBefore).execute();
  }
}
