import type { Kysely } from 'kysely';
import type { Database, OidcKeyStatesTable } from '../../store/schema.js';

/** What IssuerKeys needs of the key lifecycle rows (the table below; a map in unit tests). */
export type KeyStateStore = Pick<OidcKeyStateRepo, 'list' | 'find' | 'insert' | 'retire'>;

/** The `oidc_key_states` table: when each issuer key is published, starts signing and retires. */
export class OidcKeyStateRepo {
  constructor(private readonly db: Kysely<Database>) {}

  list(projectId: string): Promise<OidcKeyStatesTable[]> {
    return this.db
      .selectFrom('oidc_key_states')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('kid')
      .execute();
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
}
