import type { Kysely } from 'kysely';
import type { Engine } from '../../store/database.js';
import { preparedLookup } from '../../store/prepared.js';
import type {
  ApiKeysTable,
  Database,
  OrganizationsTable,
  OrgMembersTable,
  ProjectsTable,
} from '../../store/schema.js';

/** The key behind a bearer secret, with the organization of its project (null for platform keys). */
export interface KeyForAuth {
  id: string;
  project_id: string | null;
  org_id: string | null;
  role: string;
  scopes: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** Tables of organizations, projects, members and API keys. Only the tenancy service calls these. */
export class TenancyRepo {
  /** Runs on every authenticated request that names a project. */
  readonly getProject: (id: string) => Promise<ProjectsTable | undefined>;
  /** Runs on every request whose key is not cached. */
  readonly findKeyBySecretHash: (secretHash: string) => Promise<KeyForAuth | undefined>;

  constructor(
    readonly db: Kysely<Database>,
    private readonly engine: Engine,
  ) {
    this.getProject = preparedLookup(db, (id) => db.selectFrom('projects').selectAll().where('id', '=', id));
    this.findKeyBySecretHash = preparedLookup(db, (secretHash) =>
      db
        .selectFrom('api_keys as k')
        .leftJoin('projects as p', 'p.id', 'k.project_id')
        .select(['k.id', 'k.project_id', 'p.org_id', 'k.role', 'k.scopes', 'k.expires_at', 'k.revoked_at'])
        .where('k.secret_hash', '=', secretHash),
    );
  }

  transaction<T>(work: (repo: TenancyRepo) => Promise<T>): Promise<T> {
    return this.db
      .transaction()
      .execute((trx) => work(new TenancyRepo(trx as unknown as Kysely<Database>, this.engine)));
  }

  // ---- organizations ----
  async insertOrganization(row: OrganizationsTable): Promise<void> {
    await this.db.insertInto('organizations').values(row).execute();
  }

  getOrganization(id: string): Promise<OrganizationsTable | undefined> {
    return this.db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listOrganizations(options: {
    after?: string;
    limit: number;
    onlyId?: string;
  }): Promise<OrganizationsTable[]> {
    let query = this.db.selectFrom('organizations').selectAll().orderBy('id').limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    if (options.onlyId) query = query.where('id', '=', options.onlyId);
    return query.execute();
  }

  /** Deletes an organization and everything in it; call inside a transaction. */
  async deleteOrganization(id: string): Promise<void> {
    const projects = this.db.selectFrom('projects').select('id').where('org_id', '=', id);
    await this.db.deleteFrom('api_keys').where('project_id', 'in', projects).execute();
    await this.db.deleteFrom('projects').where('org_id', '=', id).execute();
    await this.db.deleteFrom('org_members').where('org_id', '=', id).execute();
    await this.db.deleteFrom('organizations').where('id', '=', id).execute();
  }

  /**
   * Holds the organization's row until the transaction ends, so concurrent changes to its members run
   * one after the other. SQLite transactions are already serial (one connection, exclusive lock).
   */
  async lockOrganization(id: string): Promise<void> {
    if (this.engine === 'postgres') {
      await this.db.selectFrom('organizations').select('id').where('id', '=', id).forUpdate().execute();
    }
  }

  // ---- projects ----
  async insertProject(row: ProjectsTable): Promise<void> {
    await this.db.insertInto('projects').values(row).execute();
  }

  listProjects(
    orgId: string,
    options: { after?: string; limit: number; onlyId?: string },
  ): Promise<ProjectsTable[]> {
    let query = this.db
      .selectFrom('projects')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    if (options.onlyId) query = query.where('id', '=', options.onlyId);
    return query.execute();
  }

  async deleteProject(id: string): Promise<void> {
    await this.db.deleteFrom('api_keys').where('project_id', '=', id).execute();
    await this.db.deleteFrom('projects').where('id', '=', id).execute();
  }

  // ---- members ----
  async insertMember(row: OrgMembersTable): Promise<void> {
    await this.db.insertInto('org_members').values(row).execute();
  }

  getMember(orgId: string, id: string): Promise<OrgMembersTable | undefined> {
    return this.db
      .selectFrom('org_members')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  findMemberByEmail(orgId: string, email: string): Promise<OrgMembersTable | undefined> {
    return this.db
      .selectFrom('org_members')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('email', '=', email)
      .executeTakeFirst();
  }

  listMembers(orgId: string, options: { after?: string; limit: number }): Promise<OrgMembersTable[]> {
    let query = this.db
      .selectFrom('org_members')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }

  async countOwners(orgId: string): Promise<number> {
    const row = await this.db
      .selectFrom('org_members')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('org_id', '=', orgId)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async updateMemberRole(orgId: string, id: string, role: string): Promise<void> {
    await this.db
      .updateTable('org_members')
      .set({ role })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .execute();
  }

  async deleteMember(orgId: string, id: string): Promise<void> {
    await this.db.deleteFrom('org_members').where('org_id', '=', orgId).where('id', '=', id).execute();
  }

  // ---- API keys ----
  async insertApiKey(row: ApiKeysTable): Promise<void> {
    await this.db.insertInto('api_keys').values(row).execute();
  }

  getApiKey(projectId: string, id: string): Promise<ApiKeysTable | undefined> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  listApiKeys(projectId: string, options: { after?: string; limit: number }): Promise<ApiKeysTable[]> {
    let query = this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }

  /** Roles of the project's keys that still work (not revoked; expiry is not checked). */
  async activeKeyRoles(projectId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .select('role')
      .distinct()
      .where('project_id', '=', projectId)
      .where('revoked_at', 'is', null)
      .execute();
    return rows.map((row) => row.role);
  }

  async revokeApiKey(projectId: string, id: string, at: string): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /** Writes the last-used times gathered in memory, never moving one backwards. */
  async recordLastUsed(times: Map<string, string>): Promise<void> {
    for (const [id, at] of times) {
      await this.db
        .updateTable('api_keys')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
        .execute();
    }
  }

  // ---- platform keys (project_id is null) ----
  listPlatformKeys(options: { after?: string; limit: number }): Promise<ApiKeysTable[]> {
    let query = this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('project_id', 'is', null)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }

  getPlatformKey(id: string): Promise<ApiKeysTable | undefined> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('project_id', 'is', null)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async countWorkingPlatformKeys(now: string): Promise<number> {
    const row = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('project_id', 'is', null)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async revokePlatformKey(id: string, at: string): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('project_id', 'is', null)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /** Serializes changes to platform keys on PostgreSQL (the bootstrap row stands for the platform). */
  async lockPlatform(): Promise<void> {
    if (this.engine === 'postgres') {
      await this.db.selectFrom('bootstrap').select('id').forUpdate().execute();
    }
  }

  // ---- bootstrap ----
  async countApiKeys(): Promise<number> {
    const row = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Claims the one-time bootstrap; false when it already happened (here or on another replica). */
  async claimBootstrap(at: string): Promise<boolean> {
    const result = await this.db
      .insertInto('bootstrap')
      .values({ id: 1, created_at: at })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }
}
