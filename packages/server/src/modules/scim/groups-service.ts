import { Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { ScimGroupsTable } from '../../store/schema.js';
import type { AuditEvent, AuditService } from '../audit/service.js';
import type { IdentityService } from '../identity/service.js';
import type { Principal } from '../policy/model.js';
import type { Project, TenancyService } from '../tenancy/service.js';
import { invalidValue, ScimError } from './errors.js';
import type { GroupCondition } from './group-filter.js';
import { type GroupFields, type GroupView, normalizeName } from './group-resource.js';
import { GroupsRepo, type MemberChanges } from './groups-repo.js';

function preconditionFailed(): ScimError {
  return new ScimError(412, 'The group was changed since the version given; read it again.');
}

/**
 * SCIM groups of a project and their members (the project's users). Every change is audited as
 * `scim.group_*` with ids and counts only; erasing a user removes it from every group.
 */
export class GroupsService {
  constructor(
    private readonly repo: GroupsRepo,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    private readonly identity: IdentityService,
    private readonly now: () => Date = () => new Date(),
  ) {
    identity.onUserErased((db, projectId, userId) =>
      new GroupsRepo(db).removeUserEverywhere(projectId, userId),
    );
  }

  async create(
    principal: Principal,
    projectId: string,
    fields: GroupFields,
    members: string[],
  ): Promise<GroupView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'scim:write');
    const names = await this.liveMembers(project.id, members);
    const at = this.now().toISOString();
    const row: ScimGroupsTable = {
      id: newId('grp'),
      project_id: project.id,
      display_name: fields.displayName,
      display_name_normalized: normalizeName(fields.displayName),
      external_id: fields.externalId,
      version: 1,
      created_at: at,
      updated_at: at,
    };
    await this.audited(
      async (repo) => {
        await this.ensureUniqueName(repo, project.id, row.display_name_normalized, row.id);
        await repo.insertGroup(row);
        await repo.changeMembers(project.id, row.id, { reset: false, add: members, remove: [] });
      },
      this.event('scim.group_created', project, principal, row.id, { membersAdded: members.length }),
    );
    return {
      ...this.view(row),
      members: members.map((userId) => ({ userId, display: names.get(userId) ?? userId })),
    };
  }

  async get(
    principal: Principal,
    projectId: string,
    groupId: string,
    withMembers: boolean,
  ): Promise<GroupView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'scim:read');
    const row = await this.liveGroup(project.id, groupId);
    return (await this.withMembers(project.id, [row], withMembers))[0] as GroupView;
  }

  async search(
    principal: Principal,
    projectId: string,
    condition: GroupCondition | undefined,
    window: { offset: number; limit: number },
    withMembers: boolean,
  ): Promise<{ total: number; groups: GroupView[] }> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'scim:read');
    const { total, rows } = await this.repo.searchGroups(project.id, condition, window);
    return { total, groups: await this.withMembers(project.id, rows, withMembers) };
  }

  /**
   * Sets the group's fields and changes its members (a replace resets them), only at `expectedVersion`
   * when given and at the version read here in any case: a concurrent change fails with 412.
   */
  async update(
    principal: Principal,
    projectId: string,
    groupId: string,
    fields: GroupFields,
    members: MemberChanges,
    expectedVersion?: number,
  ): Promise<GroupView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'scim:write');
    const row = await this.liveGroup(project.id, groupId);
    await this.liveMembers(project.id, members.add);
    const version = expectedVersion ?? Number(row.version);
    const changes = {
      display_name: fields.displayName,
      display_name_normalized: normalizeName(fields.displayName),
      external_id: fields.externalId,
      updated_at: this.now().toISOString(),
    };
    const changed = (['display_name', 'external_id'] as const).filter(
      (column) => changes[column] !== row[column],
    );
    await this.audited(
      async (repo) => {
        await this.ensureUniqueName(repo, project.id, changes.display_name_normalized, row.id);
        if (!(await repo.updateGroup(project.id, row.id, version, changes))) throw preconditionFailed();
        await repo.changeMembers(project.id, row.id, members);
      },
      this.event('scim.group_updated', project, principal, row.id, {
        changed: [...changed],
        membersReset: members.reset,
        membersAdded: members.add.length,
        membersRemoved: members.remove.length,
      }),
    );
    return this.get(principal, project.id, row.id, true);
  }

  async delete(
    principal: Principal,
    projectId: string,
    groupId: string,
    expectedVersion?: number,
  ): Promise<void> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'scim:write');
    const row = await this.liveGroup(project.id, groupId);
    await this.audited(
      async (repo) => {
        if (!(await repo.deleteGroup(project.id, row.id, expectedVersion ?? Number(row.version)))) {
          throw preconditionFailed();
        }
      },
      this.event('scim.group_deleted', project, principal, row.id),
    );
  }

  private async audited(work: (repo: GroupsRepo) => Promise<void>, event: AuditEvent): Promise<void> {
    await this.repo.transaction(async (repo) => {
      await work(repo);
      await this.audit.record(repo.db, event);
    });
    this.audit.committed();
  }

  private event(
    type: AuditEvent['type'],
    project: Project,
    principal: Principal,
    groupId: string,
    details?: AuditEvent['details'],
  ): AuditEvent {
    return {
      type,
      orgId: project.orgId,
      projectId: project.id,
      actor: principal.keyId,
      subject: groupId,
      ...(details ? { details } : {}),
    };
  }

  private view(row: ScimGroupsTable): GroupView {
    return {
      id: row.id,
      displayName: row.display_name,
      externalId: row.external_id,
      version: Number(row.version),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  private async withMembers(
    projectId: string,
    rows: ScimGroupsTable[],
    include: boolean,
  ): Promise<GroupView[]> {
    if (!include) return rows.map((row) => this.view(row));
    const memberIds = await this.repo.membersOf(rows.map((row) => row.id));
    const names = await this.identity.describeUsers(projectId, [...new Set([...memberIds.values()].flat())]);
    return rows.map((row) => ({
      ...this.view(row),
      members: (memberIds.get(row.id) ?? []).flatMap((userId) => {
        const display = names.get(userId);
        return display === undefined ? [] : [{ userId, display }];
      }),
    }));
  }

  private async liveGroup(projectId: string, groupId: string): Promise<ScimGroupsTable> {
    const row = await this.repo.getGroup(projectId, groupId);
    if (!row) throw new Problem('not-found', 'No such group.');
    return row;
  }

  /** The names of the members to add; 400 when one is not a live user of the project. */
  private async liveMembers(projectId: string, userIds: string[]): Promise<Map<string, string>> {
    const names = await this.identity.describeUsers(projectId, userIds);
    if (names.size !== userIds.length) throw invalidValue('Every member must be a user of the project.');
    return names;
  }

  private async ensureUniqueName(repo: GroupsRepo, projectId: string, normalized: string, self: string) {
    const holder = await repo.findByDisplayName(projectId, normalized);
    if (holder && holder.id !== self) {
      throw new Problem('conflict', 'A group with this displayName already exists in the project.');
    }
  }
}
