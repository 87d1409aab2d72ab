import { BoundedCache } from '@personachain/crypto';
import type { Kysely } from 'kysely';
import type { Database, IssuersTable } from '../../store/schema.js';

/** The issuers table. Only the issuers service calls this. */
export class IssuersRepo {
  /**
   * Rows read, by id. An issuer row never changes and is never deleted (a deleted project's issuers are
   * refused by the service), so this is exact with any number of processes; a miss is not remembered.
   */
  private readonly rows = new BoundedCache<string, IssuersTable>(10_000);

  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: IssuersRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new IssuersRepo(trx as unknown as Kysely<Database>)));
  }

  async insert(row: IssuersTable): Promise<void> {
    await this.db.insertInto('issuers').values(row).execute();
  }

  async get(id: string): Promise<IssuersTable | undefined> {
    const cached = this.rows.get(id);
    if (cached) return cached;
    const row = await this.db.selectFrom('issuers').selectAll().where('id', '=', id).executeTakeFirst();
    return row && this.rows.set(id, row);
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
