import type { Kysely } from 'kysely';
import { preparedQuery } from '../../store/prepared.js';
import type { Database, OidcClientsTable } from '../../store/schema.js';

/** The `oidc_clients` table; every query is scoped by project. */
export class OidcClientRepo {
  /** Compiled once: the provider looks its client up on every token and introspection request. */
  private readonly findOne: (projectId: string, id: string) => Promise<OidcClientsTable[]>;

  constructor(readonly db: Kysely<Database>) {
    this.findOne = preparedQuery<[string, string], OidcClientsTable>(
      db,
      ['project', 'client'],
      (projectId, id) =>
        db.selectFrom('oidc_clients').selectAll().where('project_id', '=', projectId).where('id', '=', id),
    );
  }

  withDb(db: Kysely<Database>): OidcClientRepo {
    return new OidcClientRepo(db);
  }

  async insert(row: OidcClientsTable): Promise<void> {
    await this.db.insertInto('oidc_clients').values(row).execute();
  }

  async find(projectId: string, id: string): Promise<OidcClientsTable | undefined> {
    const [row] = await this.findOne(projectId, id);
    return row;
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
