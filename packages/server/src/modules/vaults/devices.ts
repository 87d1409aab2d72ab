import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { AuditService } from '../audit/service.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import type { DeviceRow, VaultsRepo } from './repo.js';
import type { MemberSessions } from './sessions.js';

export interface DeviceView {
  id: string;
  subject: string;
  label: string | null;
  createdAt: string;
}

const DEVICE_ID = /^vdv_[0-9a-f]{32}$/;

const view = (row: DeviceRow): DeviceView => ({
  id: row.id,
  subject: row.subject,
  label: row.label,
  createdAt: new Date(Number(row.created_at)).toISOString(),
});

/**
 * Member devices of a project: the hash of a device fingerprint the application registered for a member.
 * A session whose context carries a registered fingerprint hash of its member counts as a known device.
 */
export class VaultDevices {
  constructor(
    private readonly repo: VaultsRepo,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    private readonly sessions: MemberSessions,
    private readonly now: () => Date,
  ) {}

  async register(
    principal: Principal,
    projectId: string,
    input: { subject: string; fingerprintHash: string; label?: string | undefined },
  ): Promise<DeviceView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:write');
    const row: DeviceRow = {
      id: newId('vdv'),
      project_id: project.id,
      subject: input.subject,
      fingerprint_hash: input.fingerprintHash,
      label: input.label ?? null,
      created_at: this.now().getTime(),
    };
    await this.repo.transaction(async (repo) => {
      // A device registered twice is a conflict: the unique (project, subject, fingerprint) index says so.
      await repo.insertDevice(row);
      await this.audit.record(repo.db, {
        type: 'vault_device.registered',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: row.id,
        details: { member: row.subject },
      });
    });
    this.audit.committed();
    this.sessions.devicesChanged(project.id, row.subject);
    return view(row);
  }

  async list(
    principal: Principal,
    projectId: string,
    query: { subject?: string | undefined; limit: number; cursor?: string | undefined },
  ): Promise<Page<DeviceView>> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:read');
    const after = decodeCursor(query.cursor, DEVICE_ID);
    const rows = await this.repo.listDevices(project.id, {
      subject: query.subject,
      after,
      limit: query.limit + 1,
    });
    return toPage(rows.map(view), query.limit);
  }

  async remove(principal: Principal, projectId: string, deviceId: string): Promise<void> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:write');
    const row = await this.repo.device(project.id, deviceId);
    if (!row) throw new Problem('not-found', `No member device ${deviceId} in this project.`);
    await this.repo.transaction(async (repo) => {
      await repo.deleteDevice(project.id, row.id);
      await this.audit.record(repo.db, {
        type: 'vault_device.deleted',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: row.id,
        details: { member: row.subject },
      });
    });
    this.audit.committed();
    this.sessions.devicesChanged(project.id, row.subject);
  }
}
