import type { Kysely } from 'kysely';
import type { Database, OidcClientsTable } from '../../store/schema.js';

/** The `oidc_clients` table; every query is scoped by project. */
export class OidcClientRepo {
  constructor(readonly db: Kysely<Database>) {}

  withDb(db: Kysely<Database>): OidcClientRepo {
    return new OidcClientRepo(db);
  }

  async insert(row: OidcClientsTable): Promise<void> {
    await this.db.insertInto('oidc_clients').values(row).execute();
  }

  find(projectId: string, id: string): Promise<OidcClientsTable | undefined> {
    return this.db
      .selectFrom('oidc_clients')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  list(
    projectId: string,
    options: { after?: string | undefined; limit: number },
  ): Promise<OidcClientsTable[]> {
    let query = this.db
      .selectFrom('oidc_clients')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }

  async update(
    projectId: string,
    id: string,
    changes: Partial<Omit<OidcClientsTable, 'id' | 'project_id' | 'org_id' | 'created_at'>> & {
      updated_at: string;
    },
  ): Promise<void> {
    await this.db
      .updateTable('oidc_clients')
      .set(changes)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .execute();
  }

  async delete(projectId: string, id: string): Promise<void> {
    await this.db
      .deleteFrom('oidc_clients')
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .execute();
  }

  /** The scopes column of every client of the project. */
  listAll(projectId: string): Promise<Pick<OidcClientsTable, 'scopes'>[]> {
    return this.db.selectFrom('oidc_clients').select('scopes').where('project_id', '=', projectId).execute();
  }
}
