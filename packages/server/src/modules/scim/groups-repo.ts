import type { Kysely } from 'kysely';
import type { Database, ScimGroupsTable } from '../../store/schema.js';
import { type GroupCondition, groupConditionSql } from './group-filter.js';

/** How a group's members change in one write: everything first removed (reset), then removals, then adds. */
export interface MemberChanges {
  reset: boolean;
  add: string[];
  remove: string[];
}

/** The scim_groups and scim_group_members tables. Only the groups service calls these. */
export class GroupsRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: GroupsRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new GroupsRepo(trx as unknown as Kysely<Database>)));
  }

  async insertGroup(row: ScimGroupsTable): Promise<void> {
    await this.db.insertInto('scim_groups').values(row).execute();
  }

  getGroup(projectId: string, id: string): Promise<ScimGroupsTable | undefined> {
    return this.db
      .selectFrom('scim_groups')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  findByDisplayName(projectId: string, normalized: string): Promise<ScimGroupsTable | undefined> {
    return this.db
      .selectFrom('scim_groups')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('display_name_normalized', '=', normalized)
      .executeTakeFirst();
  }

  async searchGroups(
    projectId: string,
    condition: GroupCondition | undefined,
    window: { offset: number; limit: number },
  ): Promise<{ total: number; rows: ScimGroupsTable[] }> {
    let base = this.db.selectFrom('scim_groups').where('project_id', '=', projectId);
    if (condition) base = base.where((eb) => groupConditionSql(eb, condition));
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

  /** Member user ids of each group, in user id order. */
  async membersOf(groupIds: string[]): Promise<Map<string, string[]>> {
    const members = new Map<string, string[]>(groupIds.map((id) => [id, []]));
    if (groupIds.length === 0) return members;
    const rows = await this.db
      .selectFrom('scim_group_members')
      .select(['group_id', 'user_id'])
      .where('group_id', 'in', groupIds)
      .orderBy('user_id')
      .execute();
    for (const row of rows) members.get(row.group_id)?.push(row.user_id);
    return members;
  }

  /** Changes the group and bumps its version, only if it is still at `version`; false otherwise. */
  async updateGroup(
    projectId: string,
    id: string,
    version: number,
    changes: Partial<
      Pick<ScimGroupsTable, 'display_name' | 'display_name_normalized' | 'external_id' | 'updated_at'>
    >,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('scim_groups')
      .set((eb) => ({ ...changes, version: eb('version', '+', 1) }))
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('version', '=', version)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  async changeMembers(projectId: string, groupId: string, changes: MemberChanges): Promise<void> {
    if (changes.reset) {
      await this.db.deleteFrom('scim_group_members').where('group_id', '=', groupId).execute();
    }
    for (let start = 0; start < changes.remove.length; start += 500) {
      await this.db
        .deleteFrom('scim_group_members')
        .where('group_id', '=', groupId)
        .where('user_id', 'in', changes.remove.slice(start, start + 500))
        .execute();
    }
    for (let start = 0; start < changes.add.length; start += 500) {
      await this.db
        .insertInto('scim_group_members')
        .values(
          changes.add
            .slice(start, start + 500)
            .map((user_id) => ({ group_id: groupId, user_id, project_id: projectId })),
        )
        .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
        .execute();
    }
  }

  /** Deletes the group and its memberships, only if it is still at `version`; false otherwise. */
  async deleteGroup(projectId: string, id: string, version: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('scim_groups')
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('version', '=', version)
      .executeTakeFirst();
    if (result.numDeletedRows !== 1n) return false;
    await this.db.deleteFrom('scim_group_members').where('group_id', '=', id).execute();
    return true;
  }

  /** Removes a user from every group of the project (the user is being erased). */
  async removeUserEverywhere(projectId: string, userId: string): Promise<void> {
    // The groups change, so their versions (ETags) do too.
    await this.db
      .updateTable('scim_groups')
      .set((eb) => ({ version: eb('version', '+', 1) }))
      .where('project_id', '=', projectId)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('scim_group_members')
          .select('group_id')
          .where('project_id', '=', projectId)
          .where('user_id', '=', userId),
      )
      .execute();
    await this.db
      .deleteFrom('scim_group_members')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .execute();
  }
}
