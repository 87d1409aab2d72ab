import { hash } from 'node:crypto';
import { randomBytes, toBase64Url } from '@personachain/crypto';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { Problem } from '../../http/problem.js';
import { isId, newId } from '../../ids.js';
import type { ApiKeysTable, OrganizationsTable, OrgMembersTable, ProjectsTable } from '../../store/schema.js';
import type { AuditEvent, AuditService } from '../audit/service.js';
import { type Action, type Principal, type Role, rankOf } from '../policy/model.js';
import type { PolicyService } from '../policy/service.js';
import type { CachedKey, ProcessCache } from './process-cache.js';
import type { KeyForAuth, TenancyRepo } from './repo.js';

export interface Organization {
  id: string;
  name: string;
  createdAt: string;
}
export interface Project {
  id: string;
  orgId: string;
  name: string;
  createdAt: string;
}
export interface Member {
  id: string;
  orgId: string;
  email: string;
  role: Role;
  createdAt: string;
}
export interface ApiKey {
  id: string;
  projectId: string;
  name: string;
  role: Role;
  scopes: string[];
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** A key of the platform administrator: no project, no role or scopes (it may do everything). */
export type PlatformKey = Omit<ApiKey, 'projectId' | 'role' | 'scopes'>;

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

const SECRET_PREFIX = 'sk_';
/** 32 random bytes = 256 bits, base64url: 43 characters after the prefix. */
const SECRET_BYTES = 32;
const PLATFORM_ROLE = 'platform';

/** API secrets carry 256 bits of randomness, so one SHA-256 is enough to store them safely (no KDF). */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export function generateSecret(): string {
  return SECRET_PREFIX + toBase64Url(randomBytes(SECRET_BYTES));
}

/** Organizations, projects, members and API keys: each call authorizes through the policy service. */
export class TenancyService {
  constructor(
    private readonly repo: TenancyRepo,
    private readonly policy: PolicyService,
    /** Keys by secret hash. */
    private readonly authCache: ProcessCache<CachedKey>,
    /** Project rows by id (a project never changes; deletions clear it). */
    private readonly projectCache: ProcessCache<ProjectsTable>,
    private readonly audit: AuditService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Runs a write and records its audit events in the same transaction: the act commits with its audit
   * trail or not at all. Then the ledger is told to integrate the new entries.
   */
  private async audited<T>(
    work: (repo: TenancyRepo) => Promise<T>,
    events: (result: T) => AuditEvent[],
  ): Promise<T> {
    const result = await this.repo.transaction(async (repo) => {
      const done = await work(repo);
      for (const event of events(done)) await this.audit.record(repo.db, event);
      return done;
    });
    this.audit.committed();
    return result;
  }

  // ---- authentication ----

  /** The principal a bearer secret stands for, or null when it is unknown, revoked or expired. */
  async authenticate(secret: string): Promise<Principal | null> {
    if (!secret.startsWith(SECRET_PREFIX)) return null;
    const secretHash = hashSecret(secret);
    let key = this.authCache.get(secretHash);
    if (!key) {
      const row = await this.repo.findKeyBySecretHash(secretHash);
      if (!row) return null;
      key = {
        principal: toPrincipal(row),
        revoked: row.revoked_at !== null,
        expiresAtMs: row.expires_at === null ? null : Date.parse(row.expires_at),
      };
      this.authCache.set(secretHash, key);
    }
    if (key.revoked) return null;
    if (key.expiresAtMs !== null && key.expiresAtMs <= this.now().getTime()) return null;
    return key.principal;
  }

  /**
   * On a database that has never been bootstrapped and holds no keys, creates the platform admin key:
   * the configured secret, or a generated one that is returned so it can be shown once.
   */
  async bootstrap(
    configuredSecret: string | null,
  ): Promise<{ created: boolean; generatedSecret: string | null }> {
    const outcome = await this.repo.transaction(async (repo) => {
      if ((await repo.countApiKeys()) > 0) return { created: false, generatedSecret: null };
      const at = this.timestamp();
      if (!(await repo.claimBootstrap(at))) return { created: false, generatedSecret: null };
      const secret = configuredSecret ?? generateSecret();
      const row = this.newKeyRow(null, 'platform admin (bootstrap)', PLATFORM_ROLE, ['*'], secret, null);
      await repo.insertApiKey(row);
      await this.audit.record(repo.db, {
        type: 'platform_key.created',
        orgId: null,
        projectId: null,
        actor: 'bootstrap',
        subject: row.id,
        details: { expiresAt: null },
      });
      return { created: true, generatedSecret: configuredSecret ? null : secret };
    });
    this.audit.committed();
    return outcome;
  }

  recordLastUsed(times: Map<string, string>): Promise<void> {
    return this.repo.transaction((repo) => repo.recordLastUsed(times));
  }

  // ---- organizations ----

  async createOrganization(principal: Principal, input: { name: string }): Promise<Organization> {
    this.policy.enforce(principal, 'org:create', { type: 'Platform' });
    const row: OrganizationsTable = {
      id: newId('org'),
      name: input.name.trim(),
      created_at: this.timestamp(),
    };
    await this.audited(
      (repo) => repo.insertOrganization(row),
      () => [
        {
          type: 'organization.created',
          orgId: row.id,
          projectId: null,
          actor: principal.keyId,
          subject: row.id,
        },
      ],
    );
    return toOrganization(row);
  }

  async getOrganization(principal: Principal, orgId: string): Promise<Organization> {
    const row = await this.loadOrganization(principal, orgId);
    this.policy.enforce(principal, 'org:read', { type: 'Organization', id: row.id });
    return toOrganization(row);
  }

  async listOrganizations(principal: Principal, page: PageRequest): Promise<Page<Organization>> {
    const after = decodeCursor(page.cursor, /^org_[0-9a-f]{32}$/);
    // A project key belongs to exactly one organization; the platform admin sees them all.
    const onlyId = principal.kind === 'project' ? principal.orgId : undefined;
    const rows = await this.repo.listOrganizations({ after, limit: page.limit + 1, onlyId });
    const visible = rows.filter((row) =>
      this.policy.allows(principal, 'org:read', { type: 'Organization', id: row.id }),
    );
    return toPage(visible.map(toOrganization), page.limit);
  }

  /** Deletes the organization with its projects, their API keys, and its members, in one transaction. */
  async deleteOrganization(principal: Principal, orgId: string): Promise<void> {
    const row = await this.loadOrganization(principal, orgId);
    this.policy.enforce(principal, 'org:write', { type: 'Organization', id: row.id });
    await this.audited(
      (repo) => repo.deleteOrganization(row.id),
      () => [
        {
          type: 'organization.deleted',
          orgId: row.id,
          projectId: null,
          actor: principal.keyId,
          subject: row.id,
        },
      ],
    );
    this.authCache.clear();
    this.projectCache.clear();
  }

  // ---- projects ----

  async createProject(principal: Principal, orgId: string, input: { name: string }): Promise<Project> {
    const org = await this.loadOrganization(principal, orgId);
    this.policy.enforce(principal, 'projects:write', { type: 'Organization', id: org.id });
    const row: ProjectsTable = {
      id: newId('prj'),
      org_id: org.id,
      name: input.name.trim(),
      created_at: this.timestamp(),
    };
    await this.audited(
      (repo) => repo.insertProject(row),
      () => [
        {
          type: 'project.created',
          orgId: org.id,
          projectId: row.id,
          actor: principal.keyId,
          subject: row.id,
        },
      ],
    );
    return toProject(row);
  }

  async getProject(principal: Principal, projectId: string): Promise<Project> {
    const row = await this.loadProject(principal, projectId);
    this.policy.enforce(principal, 'projects:read', { type: 'Project', id: row.id, orgId: row.org_id });
    return toProject(row);
  }

  async listProjects(principal: Principal, orgId: string, page: PageRequest): Promise<Page<Project>> {
    const org = await this.loadOrganization(principal, orgId);
    const after = decodeCursor(page.cursor, /^prj_[0-9a-f]{32}$/);
    // Roles that read every project list the whole organization; the others list only their own project,
    // which they must be allowed to read (a key without the projects:read scope gets 403, not an empty list).
    const wholeOrg = this.policy.allows(principal, 'projects:read', { type: 'Organization', id: org.id });
    let onlyId: string | undefined;
    if (!wholeOrg && principal.kind === 'project') {
      this.policy.enforce(principal, 'projects:read', {
        type: 'Project',
        id: principal.projectId,
        orgId: principal.orgId,
      });
      onlyId = principal.projectId;
    }
    const rows = await this.repo.listProjects(org.id, { after, limit: page.limit + 1, onlyId });
    const visible = rows.filter((row) =>
      this.policy.allows(principal, 'projects:read', { type: 'Project', id: row.id, orgId: row.org_id }),
    );
    return toPage(visible.map(toProject), page.limit);
  }

  /**
   * For other modules' project-scoped resources: the project, once the caller may see it (else 404) and
   * may perform `action` on it (else 403).
   */
  async authorizeProject(principal: Principal, projectId: string, action: Action): Promise<Project> {
    const row = await this.loadProject(principal, projectId);
    this.policy.enforce(principal, action, { type: 'Project', id: row.id, orgId: row.org_id });
    return toProject(row);
  }

  /** For other modules' public, unauthenticated reads: whether the project still exists. */
  async projectExists(projectId: string): Promise<boolean> {
    return isId('prj', projectId) && (await this.findProject(projectId)) !== undefined;
  }

  /** A project's name, for what end users see of it (e.g. their passkeys' labels); null when none. */
  async projectName(projectId: string): Promise<string | null> {
    return isId('prj', projectId) ? ((await this.findProject(projectId))?.name ?? null) : null;
  }

  async deleteProject(principal: Principal, projectId: string): Promise<void> {
    const row = await this.loadProject(principal, projectId);
    // Deleting a project revokes its keys: a caller may not do that to keys ranked above its own.
    const keyRoles = (await this.repo.activeKeyRoles(row.id)) as Role[];
    const currentRole = keyRoles.sort((a, b) => rankOf(b) - rankOf(a))[0];
    this.policy.enforce(
      principal,
      'projects:write',
      { type: 'Project', id: row.id, orgId: row.org_id },
      { currentRole },
    );
    await this.audited(
      (repo) => repo.deleteProject(row.id),
      () => [
        {
          type: 'project.deleted',
          orgId: row.org_id,
          projectId: row.id,
          actor: principal.keyId,
          subject: row.id,
        },
      ],
    );
    this.authCache.clear();
    this.projectCache.clear();
  }

  // ---- members ----

  async addMember(
    principal: Principal,
    orgId: string,
    input: { email: string; role: Role },
  ): Promise<Member> {
    const org = await this.loadOrganization(principal, orgId);
    this.policy.enforce(
      principal,
      'members:write',
      { type: 'Organization', id: org.id },
      { grantedRole: input.role },
    );
    const email = input.email.trim().toLowerCase();
    return this.audited(
      async (repo) => {
        await repo.lockOrganization(org.id);
        if (await repo.findMemberByEmail(org.id, email)) {
          throw new Problem('conflict', `${email} is already a member of ${org.id}.`);
        }
        const row: OrgMembersTable = {
          id: newId('mem'),
          org_id: org.id,
          email,
          role: input.role,
          created_at: this.timestamp(),
        };
        await repo.insertMember(row);
        return toMember(row);
      },
      (member) => [
        {
          type: 'member.added',
          orgId: org.id,
          projectId: null,
          actor: principal.keyId,
          subject: member.id,
          details: { role: member.role },
        },
      ],
    );
  }

  async getMember(principal: Principal, orgId: string, memberId: string): Promise<Member> {
    const row = await this.loadMember(principal, orgId, memberId);
    this.policy.enforce(principal, 'members:read', { type: 'Member', id: row.id, orgId: row.org_id });
    return toMember(row);
  }

  async listMembers(principal: Principal, orgId: string, page: PageRequest): Promise<Page<Member>> {
    const org = await this.loadOrganization(principal, orgId);
    this.policy.enforce(principal, 'members:read', { type: 'Organization', id: org.id });
    const after = decodeCursor(page.cursor, /^mem_[0-9a-f]{32}$/);
    const rows = await this.repo.listMembers(org.id, { after, limit: page.limit + 1 });
    return toPage(rows.map(toMember), page.limit);
  }

  async updateMember(
    principal: Principal,
    orgId: string,
    memberId: string,
    input: { role: Role },
  ): Promise<Member> {
    const row = await this.loadMember(principal, orgId, memberId);
    this.policy.enforce(
      principal,
      'members:write',
      { type: 'Member', id: row.id, orgId: row.org_id },
      { grantedRole: input.role, currentRole: row.role as Role },
    );
    let previousRole = row.role;
    return this.audited(
      async (repo) => {
        const current = await this.lockMember(repo, row);
        if (current.role === 'owner' && input.role !== 'owner') await this.keepAnOwner(repo, row.org_id);
        await repo.updateMemberRole(row.org_id, row.id, input.role);
        previousRole = current.role;
        return toMember({ ...current, role: input.role });
      },
      (member) => [
        {
          type: 'member.role_changed',
          orgId: member.orgId,
          projectId: null,
          actor: principal.keyId,
          subject: member.id,
          details: { from: previousRole, to: member.role },
        },
      ],
    );
  }

  async removeMember(principal: Principal, orgId: string, memberId: string): Promise<void> {
    const row = await this.loadMember(principal, orgId, memberId);
    this.policy.enforce(
      principal,
      'members:write',
      { type: 'Member', id: row.id, orgId: row.org_id },
      { currentRole: row.role as Role },
    );
    await this.audited(
      async (repo) => {
        const current = await this.lockMember(repo, row);
        if (current.role === 'owner') await this.keepAnOwner(repo, row.org_id);
        await repo.deleteMember(row.org_id, row.id);
        return current;
      },
      (current) => [
        {
          type: 'member.removed',
          orgId: row.org_id,
          projectId: null,
          actor: principal.keyId,
          subject: row.id,
          details: { role: current.role },
        },
      ],
    );
  }

  // ---- API keys ----

  async createApiKey(
    principal: Principal,
    projectId: string,
    input: { name: string; role?: Role; scopes?: string[]; expiresAt?: string },
  ): Promise<ApiKey & { secret: string }> {
    const project = await this.loadProject(principal, projectId);
    const role = input.role ?? 'developer';
    const scopes = input.scopes ?? ['*'];
    const expiresAt = this.createdKeyExpiry(principal, input.expiresAt);
    this.policy.enforce(
      principal,
      'api_keys:write',
      { type: 'Project', id: project.id, orgId: project.org_id },
      { grantedRole: role, grantedScopes: scopes, createdKeyExpiresAt: expiresAt },
    );
    const secret = generateSecret();
    const row = this.newKeyRow(project.id, input.name, role, scopes, secret, expiresAt);
    await this.audited(
      (repo) => repo.insertApiKey(row),
      () => [
        {
          type: 'api_key.created',
          orgId: project.org_id,
          projectId: project.id,
          actor: principal.keyId,
          subject: row.id,
          details: { role, scopes, expiresAt },
        },
      ],
    );
    return { ...toApiKey(row), secret };
  }

  async getApiKey(principal: Principal, projectId: string, keyId: string): Promise<ApiKey> {
    const { project, key } = await this.loadApiKey(principal, projectId, keyId);
    this.policy.enforce(principal, 'api_keys:read', {
      type: 'Key',
      id: key.id,
      projectId: project.id,
      orgId: project.org_id,
    });
    return toApiKey(key);
  }

  async listApiKeys(principal: Principal, projectId: string, page: PageRequest): Promise<Page<ApiKey>> {
    const project = await this.loadProject(principal, projectId);
    this.policy.enforce(principal, 'api_keys:read', {
      type: 'Project',
      id: project.id,
      orgId: project.org_id,
    });
    const after = decodeCursor(page.cursor, /^key_[0-9a-f]{32}$/);
    const rows = await this.repo.listApiKeys(project.id, { after, limit: page.limit + 1 });
    return toPage(rows.map(toApiKey), page.limit);
  }

  async revokeApiKey(principal: Principal, projectId: string, keyId: string): Promise<void> {
    const { project, key } = await this.loadApiKey(principal, projectId, keyId);
    this.policy.enforce(
      principal,
      'api_keys:write',
      { type: 'Key', id: key.id, projectId: project.id, orgId: project.org_id },
      // Revoking a key is acting on what it holds: a developer may not revoke an owner's key.
      { grantedRole: key.role as Role },
    );
    await this.audited(
      (repo) => repo.revokeApiKey(project.id, key.id, this.timestamp()),
      () => [
        {
          type: 'api_key.revoked',
          orgId: project.org_id,
          projectId: project.id,
          actor: principal.keyId,
          subject: key.id,
        },
      ],
    );
    this.authCache.clear();
  }

  // ---- platform keys ----

  async listPlatformKeys(principal: Principal, page: PageRequest): Promise<Page<PlatformKey>> {
    this.policy.enforce(principal, 'platform_keys:read', { type: 'Platform' });
    const after = decodeCursor(page.cursor, /^key_[0-9a-f]{32}$/);
    const rows = await this.repo.listPlatformKeys({ after, limit: page.limit + 1 });
    return toPage(rows.map(toPlatformKey), page.limit);
  }

  async createPlatformKey(
    principal: Principal,
    input: { name: string; expiresAt?: string },
  ): Promise<PlatformKey & { secret: string }> {
    const expiresAt = this.createdKeyExpiry(principal, input.expiresAt);
    this.policy.enforce(
      principal,
      'platform_keys:write',
      { type: 'Platform' },
      { createdKeyExpiresAt: expiresAt },
    );
    const secret = generateSecret();
    const row = this.newKeyRow(null, input.name, PLATFORM_ROLE, ['*'], secret, expiresAt);
    await this.audited(
      (repo) => repo.insertApiKey(row),
      () => [
        {
          type: 'platform_key.created',
          orgId: null,
          projectId: null,
          actor: principal.keyId,
          subject: row.id,
          details: { expiresAt },
        },
      ],
    );
    return { ...toPlatformKey(row), secret };
  }

  /** Revokes a platform key, unless it is the last one that works: that would lock everyone out. */
  async revokePlatformKey(principal: Principal, keyId: string): Promise<void> {
    this.policy.enforce(principal, 'platform_keys:write', { type: 'Platform' });
    const key = isId('key', keyId) ? await this.repo.getPlatformKey(keyId) : undefined;
    if (!key) throw new Problem('not-found', `No platform key ${keyId}.`);
    const at = this.timestamp();
    await this.audited(
      async (repo) => {
        await repo.lockPlatform();
        const stillWorks = key.revoked_at === null && (key.expires_at === null || key.expires_at > at);
        if (stillWorks && (await repo.countWorkingPlatformKeys(at)) <= 1) {
          throw new Problem(
            'conflict',
            'This is the last working platform key; create another one before revoking it.',
          );
        }
        await repo.revokePlatformKey(key.id, at);
      },
      () => [
        {
          type: 'platform_key.revoked',
          orgId: null,
          projectId: null,
          actor: principal.keyId,
          subject: key.id,
        },
      ],
    );
    this.authCache.clear();
  }

  // ---- helpers ----

  private async findProject(id: string): Promise<ProjectsTable | undefined> {
    const cached = this.projectCache.get(id);
    if (cached) return cached;
    const row = await this.repo.getProject(id);
    if (row) this.projectCache.set(id, row);
    return row;
  }

  private newKeyRow(
    projectId: string | null,
    name: string,
    role: string,
    scopes: string[],
    secret: string,
    expiresAt: string | null,
  ): ApiKeysTable {
    return {
      id: newId('key'),
      project_id: projectId,
      name: name.trim(),
      role,
      scopes: JSON.stringify(scopes),
      secret_hash: hashSecret(secret),
      prefix: secret.slice(0, 12),
      created_at: this.timestamp(),
      expires_at: expiresAt,
      last_used_at: null,
      revoked_at: null,
    };
  }

  /** Loads a resource and checks the caller may know it exists: absent and elsewhere both answer 404. */
  private async loadOrganization(principal: Principal, orgId: string): Promise<OrganizationsTable> {
    const row = isId('org', orgId) ? await this.repo.getOrganization(orgId) : undefined;
    if (!row) throw new Problem('not-found', `No organization ${orgId}.`);
    this.policy.enforce(principal, 'see', { type: 'Organization', id: row.id });
    return row;
  }

  private async loadProject(principal: Principal, projectId: string): Promise<ProjectsTable> {
    const row = isId('prj', projectId) ? await this.findProject(projectId) : undefined;
    if (!row) throw new Problem('not-found', `No project ${projectId}.`);
    this.policy.enforce(principal, 'see', { type: 'Project', id: row.id, orgId: row.org_id });
    return row;
  }

  private async loadMember(principal: Principal, orgId: string, memberId: string): Promise<OrgMembersTable> {
    const org = await this.loadOrganization(principal, orgId);
    const row = isId('mem', memberId) ? await this.repo.getMember(org.id, memberId) : undefined;
    if (!row) throw new Problem('not-found', `No member ${memberId}.`);
    this.policy.enforce(principal, 'see', { type: 'Member', id: row.id, orgId: row.org_id });
    return row;
  }

  private async loadApiKey(
    principal: Principal,
    projectId: string,
    keyId: string,
  ): Promise<{ project: ProjectsTable; key: ApiKeysTable }> {
    const project = await this.loadProject(principal, projectId);
    const key = isId('key', keyId) ? await this.repo.getApiKey(project.id, keyId) : undefined;
    if (!key) throw new Problem('not-found', `No API key ${keyId}.`);
    this.policy.enforce(principal, 'see', {
      type: 'Key',
      id: key.id,
      projectId: project.id,
      orgId: project.org_id,
    });
    return { project, key };
  }

  /**
   * Serializes changes to an organization's members (concurrent removals could otherwise each see another
   * owner and remove both), then re-reads the member as it is now.
   */
  private async lockMember(repo: TenancyRepo, row: OrgMembersTable): Promise<OrgMembersTable> {
    await repo.lockOrganization(row.org_id);
    const current = await repo.getMember(row.org_id, row.id);
    if (!current) throw new Problem('not-found', `No member ${row.id}.`);
    return current;
  }

  private async keepAnOwner(repo: TenancyRepo, orgId: string): Promise<void> {
    if ((await repo.countOwners(orgId)) <= 1) {
      throw new Problem('conflict', 'An organization must keep at least one owner.');
    }
  }

  /** A new key expires when asked, and by default when its creator does: it cannot outlive it. */
  private createdKeyExpiry(principal: Principal, requested: string | undefined): string | null {
    return requested === undefined ? principal.expiresAt : this.futureTimestamp(requested);
  }

  private futureTimestamp(value: string): string {
    const at = new Date(value);
    if (Number.isNaN(at.getTime()) || at <= this.now()) {
      throw new Problem('validation-error', 'expiresAt must be a time in the future.', {
        errors: [{ in: 'body', pointer: '#/expiresAt', detail: 'must be in the future' }],
      });
    }
    return at.toISOString();
  }

  private timestamp(): string {
    return this.now().toISOString();
  }
}

function toPrincipal(key: KeyForAuth): Principal | null {
  if (key.project_id === null) return { kind: 'platform', keyId: key.id, expiresAt: key.expires_at };
  // A project key whose project is gone authenticates as nobody.
  if (key.org_id === null) return null;
  return {
    kind: 'project',
    keyId: key.id,
    role: key.role as Role,
    scopes: JSON.parse(key.scopes) as string[],
    projectId: key.project_id,
    orgId: key.org_id,
    expiresAt: key.expires_at,
  };
}

function toOrganization(row: OrganizationsTable): Organization {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}

function toProject(row: ProjectsTable): Project {
  return { id: row.id, orgId: row.org_id, name: row.name, createdAt: row.created_at };
}

function toMember(row: OrgMembersTable): Member {
  return {
    id: row.id,
    orgId: row.org_id,
    email: row.email,
    role: row.role as Role,
    createdAt: row.created_at,
  };
}

function toPlatformKey(row: ApiKeysTable): PlatformKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

function toApiKey(row: ApiKeysTable): ApiKey {
  return {
    ...toPlatformKey(row),
    projectId: row.project_id as string,
    role: row.role as Role,
    scopes: JSON.parse(row.scopes) as string[],
  };
}
