import type { Kysely } from 'kysely';
import type { Database, IssuersTable } from '../../store/schema.js';

/** The issuers table. Only the issuers service calls this. */
export class IssuersRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: IssuersRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new IssuersRepo(trx as unknown as Kysely<Database>)));
  }

  async insert(row: IssuersTable): Promise<void> {
    await this.db.insertInto('issuers').values(row).execute();
  }

  get(id: string): Promise<IssuersTable | undefined> {
    return this.db.selectFrom('issuers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(projectId: string, options: { after?: string | undefined; limit: number }): Promise<IssuersTable[]> {
    let query = this.db
      .selectFrom('issuers')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }
}
