import {
  accessApprovalInput,
  type HybridSignature,
  type MemberPublicKeys,
  verifyHybrid,
} from '@personachain/vaults';
import type { Kysely } from 'kysely';
import { Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { Database } from '../../store/schema.js';
import type { AuditService } from '../audit/service.js';
import type { Principal } from '../policy/model.js';
import { type AccessApprovalRow, AccessApprovalsRepo } from './approvals-repo.js';
import { RecoveryRepo } from './recovery-repo.js';
import type { RecoveryVaults } from './recovery-vault.js';

/** How long guardians have to approve a denied access. */
export const APPROVAL_PENDING_MS = 60 * 60_000;
/** How long an approved access may be retried with `Persona-Vault-Approval` (contract §2.4). */
export const APPROVAL_VALID_MS = 10 * 60_000;

export interface GuardianRef {
  subject: string;
  keyId: string;
}

export interface OpenedApproval {
  approvalId: string;
  threshold: number;
  guardians: GuardianRef[];
}

export interface AccessApprovalView {
  id: string;
  vaultId: string;
  subject: string;
  action: string;
  status: 'pending' | 'approved' | 'expired';
  threshold: number;
  guardians: GuardianRef[];
  approvals: string[];
  createdAt: string;
  expiresAt: string;
  approvedAt: string | null;
  validUntil: string | null;
}

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();

/**
 * Guardian access approvals: when the access policy answers `guardian_approval_required`, the vaults
 * service opens one here; the vault's recovery guardians approve it with a hybrid signature over
 * accessApprovalInput; once `threshold` of them did, the same member may retry the same action with
 * `Persona-Vault-Approval: vap_…` for ten minutes.
 */
export class AccessApprovals {
  private readonly repo: AccessApprovalsRepo;
  private readonly recovery: RecoveryRepo;

  constructor(
    db: Kysely<Database>,
    private readonly vaults: RecoveryVaults,
    private readonly audit: AuditService,
    private readonly now: () => Date,
  ) {
    this.repo = new AccessApprovalsRepo(db);
    this.recovery = new RecoveryRepo(db);
  }

  /**
   * Opens an approval for a denied access, or returns the one still pending for the same member and
   * action: a member retrying a denied access does not pile up approvals for guardians to sift through.
   */
  async open(input: {
    projectId: string;
    vaultId: string;
    subject: string;
    action: string;
  }): Promise<OpenedApproval> {
    const setup = await this.recovery.setup(input.projectId, input.vaultId);
    if (!setup) {
      throw new Problem(
        'conflict',
        'This vault has no recovery setup, so no guardians can approve the access.',
      );
    }
    const guardians = (await this.recovery.guardians(setup.id)).map(guardianRef);
    const at = this.now().getTime();
    const approvalId = await this.repo.transaction(async (repo) => {
      await repo.purgeStale(input.vaultId, at, at - APPROVAL_VALID_MS);
      const pending = await repo.pending(input.vaultId, input.subject, input.action, at);
      if (pending && pending.setup_id === setup.id) return pending.id;
      const id = newId('vap');
      await repo.insert({
        id,
        project_id: input.projectId,
        vault_id: input.vaultId,
        setup_id: setup.id,
        subject: input.subject,
        action: input.action,
        threshold: setup.threshold,
        created_at: at,
        expires_at: at + APPROVAL_PENDING_MS,
        approved_at: null,
      });
      return id;
    });
    return { approvalId, threshold: setup.threshold, guardians };
  }

  /** Whether `approvalId` lets this member do this action now: approved by the threshold, for the same access. */
  async isApproved(input: {
    projectId: string;
    vaultId: string;
    approvalId: string;
    subject: string;
    action: string;
  }): Promise<boolean> {
    const row = await this.repo.approval(input.projectId, input.vaultId, input.approvalId);
    if (!row || row.approved_at === null) return false;
    if (row.subject !== input.subject || row.action !== input.action) return false;
    return this.now().getTime() < Number(row.approved_at) + APPROVAL_VALID_MS;
  }

  async get(
    principal: Principal,
    projectId: string,
    vaultId: string,
    approvalId: string,
  ): Promise<AccessApprovalView> {
    const vault = await this.vaults.authorize(principal, projectId, vaultId, 'vaults:read');
    const row = await this.repo.approval(vault.projectId, vault.id, approvalId);
    if (!row) throw notFound(approvalId);
    return this.view(this.repo, row);
  }

  /** A guardian approves: its signature over accessApprovalInput must verify with its keys from the setup. */
  async approve(
    principal: Principal,
    projectId: string,
    vaultId: string,
    approvalId: string,
    body: { guardian: string; signature: HybridSignature },
  ): Promise<AccessApprovalView> {
    const vault = await this.vaults.authorize(principal, projectId, vaultId, 'vaults:write');
    const row = await this.repo.approval(vault.projectId, vault.id, approvalId);
    if (!row) throw notFound(approvalId);
    const guardian = await this.recovery.guardian(row.setup_id, body.guardian);
    if (!guardian) {
      throw new Problem('forbidden', `${body.guardian} is not a guardian of this vault's recovery setup.`);
    }
    if (body.guardian === row.subject) {
      throw new Problem('forbidden', 'A guardian cannot approve its own access.');
    }
    const message = accessApprovalInput({
      vaultId: vault.id,
      approvalId,
      guardian: body.guardian,
      subject: row.subject,
      action: row.action,
    });
    const keys = JSON.parse(guardian.public_keys) as MemberPublicKeys;
    if (!(await verifyHybrid(keys, 'access-approval', message, body.signature))) {
      throw new Problem(
        'forbidden',
        `The signature does not verify with the keys of guardian ${body.guardian}.`,
      );
    }
    const view = await this.repo.transaction(async (repo) => {
      // Serializes concurrent approvals of one request (a row lock on PostgreSQL), so the one that reaches
      // the threshold sees every earlier vote.
      const current = await repo.lock(row.id);
      if (!current) throw notFound(approvalId);
      const at = this.now().getTime();
      const state = statusOf(current, at);
      if (state === 'expired') {
        throw new Problem(
          'conflict',
          'This access approval expired; the member retries the access to open a new one.',
        );
      }
      const voters = await repo.voters(row.id);
      if (voters.includes(body.guardian)) {
        throw new Problem('conflict', `Guardian ${body.guardian} already approved this access.`);
      }
      await repo.insertVote(row.id, body.guardian, JSON.stringify(body.signature), at);
      const approvals = voters.length + 1;
      const approved = current.approved_at === null && approvals >= current.threshold;
      if (approved) await repo.markApproved(row.id, at);
      await this.audit.record(repo.db, {
        type: 'vault.access_approved',
        orgId: vault.orgId,
        projectId: vault.projectId,
        actor: principal.keyId,
        subject: vault.id,
        details: {
          approvalId,
          guardian: body.guardian,
          member: row.subject,
          action: row.action,
          approvals,
          threshold: current.threshold,
          approved: approved || current.approved_at !== null,
        },
      });
      return this.view(repo, { ...current, approved_at: approved ? at : current.approved_at });
    });
    this.audit.committed();
    return view;
  }

  /** Every approval of a vault, inside the caller's transaction (shredding, or a replaced guardian set). */
  async destroy(trx: Kysely<Database>, vaultId: string): Promise<void> {
    await new AccessApprovalsRepo(trx).deleteForVault(vaultId);
  }

  private async view(repo: AccessApprovalsRepo, row: AccessApprovalRow): Promise<AccessApprovalView> {
    const [voters, guardians] = await Promise.all([
      repo.voters(row.id),
      new RecoveryRepo(repo.db).guardians(row.setup_id),
    ]);
    const approvedAt = row.approved_at === null ? null : Number(row.approved_at);
    return {
      id: row.id,
      vaultId: row.vault_id,
      subject: row.subject,
      action: row.action,
      status: statusOf(row, this.now().getTime()),
      threshold: row.threshold,
      guardians: guardians.map(guardianRef),
      approvals: voters,
      createdAt: iso(row.created_at),
      expiresAt: iso(row.expires_at),
      approvedAt: approvedAt === null ? null : iso(approvedAt),
      validUntil: approvedAt === null ? null : iso(approvedAt + APPROVAL_VALID_MS),
    };
  }
}

function statusOf(row: AccessApprovalRow, at: number): AccessApprovalView['status'] {
  if (row.approved_at !== null) {
    return at < Number(row.approved_at) + APPROVAL_VALID_MS ? 'approved' : 'expired';
  }
  return at < Number(row.expires_at) ? 'pending' : 'expired';
}

function guardianRef(row: { subject: string; key_id: string }): GuardianRef {
  return { subject: row.subject, keyId: row.key_id };
}

function notFound(approvalId: string): Problem {
  return new Problem('not-found', `No access approval ${approvalId} for this vault.`);
}
