import { envelopeKeyId, toBase64Url } from '@personachain/crypto';
import {
  contentHash,
  type HybridSignature,
  type MemberPublicKeys,
  recoveryApprovalInput,
  verifyHybrid,
} from '@personachain/vaults';
import type { Kysely } from 'kysely';
import { invalidField, Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { Database } from '../../store/schema.js';
import type { AuditEvent, AuditService } from '../audit/service.js';
import type { VaultAction } from '../policy/access/index.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import { AccessApprovals, type GuardianRef } from './approvals-service.js';
import type { GuardianLink } from './guardians.js';
import { checkEphemeralKey, checkSetup, decodeField, sealedTo } from './recovery-checks.js';
import {
  type ApprovalRow,
  OPEN_STATUSES,
  RecoveryRepo,
  type RequestRow,
  type SetupRow,
} from './recovery-repo.js';
import { type RecoveryVault, RecoveryVaults } from './recovery-vault.js';
import type { MemberHeaders, VaultService } from './service.js';
import type { VaultStates } from './state.js';

/** A recovery request expires this long after it was made (contract §2.4). */
export const RECOVERY_REQUEST_TTL_MS = 24 * 3600_000;

export type RecoveryStatus = (typeof OPEN_STATUSES)[number] | 'completed' | 'canceled' | 'expired';

export interface RecoverySetupView {
  setupId: string;
  threshold: number;
  guardians: GuardianRef[];
  createdAt: string;
  /** The vault's pending or ready recovery request, which the owner cancels if it did not make it. */
  openRequestId: string | null;
}

export interface RecoveryRequestView {
  id: string;
  vaultId: string;
  setupId: string;
  status: RecoveryStatus;
  threshold: number;
  ephemeralKeyId: string;
  approvals: { guardian: string; resealedShare: string | null; createdAt: string }[];
  createdAt: string;
  expiresAt: string;
  endedAt: string | null;
  ephemeralKey?: string;
  sealedShare?: string;
}

export interface VaultRecoveryDeps {
  db: Kysely<Database>;
  tenancy: TenancyService;
  audit: AuditService;
  /**
   * The owner's session on the routes that need one (configure, cancel): the vaults service checks the
   * `Persona-Vault-Session` token and decides the access (logged), or throws the refusal.
   */
  vaults: Pick<VaultService, 'memberAccess'>;
  /** The vaults service's vault states (cached where the process owns the database). */
  states: VaultStates;
  now?: () => Date;
}

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();
const isOpen = (status: string) => (OPEN_STATUSES as readonly string[]).includes(status);

/**
 * Guardian recovery (contract §2.4). The owner splits its key seed among guardians with Shamir and seals
 * each share to a guardian in its own client; the server stores the sealed shares, relays them to a
 * recovery request's guardians, and relays each guardian's share re-sealed to the requester's ephemeral
 * key. It never holds an opened share. Also the vaults service's link to guardians (GuardianLink):
 * whether a vault has them, guardian access approvals, and destroying everything when a vault is shredded.
 */
export class VaultRecovery implements GuardianLink {
  readonly approvals: AccessApprovals;
  private readonly repo: RecoveryRepo;
  private readonly vaults: RecoveryVaults;
  private readonly now: () => Date;

  constructor(private readonly deps: VaultRecoveryDeps) {
    this.now = deps.now ?? (() => new Date());
    this.repo = new RecoveryRepo(deps.db);
    this.vaults = new RecoveryVaults(deps.states, deps.tenancy);
    this.approvals = new AccessApprovals(deps.db, this.vaults, deps.audit, this.now);
  }

  // ---- GuardianLink (used by the vaults service) ----

  async guardiansAvailable(projectId: string, vaultId: string): Promise<boolean> {
    return (await this.repo.setup(projectId, vaultId)) !== undefined;
  }

  async openAccessApproval(input: {
    projectId: string;
    vaultId: string;
    subject: string;
    action: VaultAction;
  }): Promise<string> {
    return (await this.approvals.open(input)).approvalId;
  }

  accessApproved(input: {
    projectId: string;
    vaultId: string;
    approvalId: string;
    subject: string;
    action: VaultAction;
  }): Promise<boolean> {
    return this.approvals.isApproved(input);
  }

  /** Inside the shredding transaction: every sealed share, request, re-sealed share and approval goes. */
  async shred(trx: Kysely<Database>, vaultId: string): Promise<void> {
    const repo = new RecoveryRepo(trx);
    await repo.deleteRequests(vaultId);
    await repo.deleteSetup(vaultId);
    await this.approvals.destroy(trx, vaultId);
  }

  // ---- setup ----

  /** Replaces the vault's recovery setup (owner session, action admin); an open request is canceled. */
  async configure(
    principal: Principal,
    projectId: string,
    vaultId: string,
    headers: MemberHeaders,
    body: {
      setupId: string;
      threshold: number;
      guardians: { subject: string; publicKeys: MemberPublicKeys; sealedShare: string }[];
    },
  ): Promise<RecoverySetupView> {
    const vault = await this.vaults.authorize(principal, projectId, vaultId, 'vaults:write');
    await this.requireOwner(principal, vault, headers);
    const guardians = checkSetup(vault.owner, body);
    const at = this.now().getTime();
    const setup: SetupRow = {
      vault_id: vault.id,
      id: body.setupId,
      project_id: vault.projectId,
      threshold: body.threshold,
      created_by: vault.owner,
      created_at: at,
    };
    await this.repo.transaction(async (repo) => {
      const previous = await repo.setup(vault.projectId, vault.id);
      if (previous?.id === body.setupId) {
        throw new Problem(
          'conflict',
          `Setup ${body.setupId} is the current one: a new setup needs a new id.`,
        );
      }
      const open = await repo.openRequest(vault.id);
      if (open && (await repo.endRequest(open.id, 'canceled', at))) {
        await this.record(repo, principal, vault, 'vault.recovery_canceled', {
          requestId: open.id,
          reason: 'setup_replaced',
        });
      }
      // Approvals were for the previous guardians.
      await this.approvals.destroy(repo.db, vault.id);
      await repo.deleteSetup(vault.id);
      await repo.insertSetup(
        setup,
        guardians.map((guardian, position) => ({
          setup_id: body.setupId,
          subject: guardian.subject,
          position,
          key_id: guardian.keyId,
          public_keys: JSON.stringify(guardian.publicKeys),
          sealed_share: guardian.sealedShare,
        })),
      );
      await this.record(repo, principal, vault, 'vault.recovery_configured', {
        setupId: body.setupId,
        threshold: body.threshold,
        guardians: guardians.length,
        replaced: previous?.id ?? null,
      });
    });
    this.deps.audit.committed();
    return {
      setupId: setup.id,
      threshold: setup.threshold,
      guardians: guardians.map((guardian) => ({ subject: guardian.subject, keyId: guardian.keyId })),
      createdAt: iso(at),
      openRequestId: null,
    };
  }

  async getSetup(principal: Principal, projectId: string, vaultId: string): Promise<RecoverySetupView> {
    const vault = await this.vaults.authorize(principal, projectId, vaultId, 'vaults:read');
    const setup = await this.repo.setup(vault.projectId, vault.id);
    if (!setup) throw noSetup();
    const [guardians, open] = await Promise.all([
      this.repo.guardians(setup.id),
      this.repo.openRequest(vault.id),
    ]);
    const live = open && this.now().getTime() < Number(open.expires_at);
    return {
      setupId: setup.id,
      threshold: setup.threshold,
      guardians: guardians.map((row) => ({ subject: row.subject, keyId: row.key_id })),
      createdAt: iso(setup.created_at),
      openRequestId: live ? open.id : null,
    };
  }

  // ---- requests ----

  /** Opens a recovery request (API key only: the owner lost its keys); one open request per vault. */
  async request(
    principal: Principal,
    projectId: string,
    vaultId: string,
    body: { ephemeralKey: string },
  ): Promise<RecoveryRequestView> {
    const vault = await this.vaults.authorize(principal, projectId, vaultId, 'vaults:write');
    const ephemeralKey = checkEphemeralKey(body.ephemeralKey);
    const at = this.now().getTime();
    const row = await this.repo.transaction(async (repo) => {
      const setup = await repo.setup(vault.projectId, vault.id);
      if (!setup) throw noSetup();
      const open = await repo.openRequest(vault.id);
      if (open && at >= Number(open.expires_at)) {
        await repo.endRequest(open.id, 'expired', at);
      } else if (open) {
        throw new Problem(
          'conflict',
          `Recovery request ${open.id} is already open for this vault (until ${iso(open.expires_at)}); ` +
            'the owner can cancel it.',
        );
      }
      const request: RequestRow = {
        id: newId('vrr'),
        project_id: vault.projectId,
        vault_id: vault.id,
        setup_id: setup.id,
        threshold: setup.threshold,
        ephemeral_key: body.ephemeralKey,
        status: 'pending',
        open_vault_id: vault.id,
        created_at: at,
        expires_at: at + RECOVERY_REQUEST_TTL_MS,
        ended_at: null,
      };
      await repo.insertRequest(request);
      await this.record(repo, principal, vault, 'vault.recovery_requested', {
        requestId: request.id,
        setupId: setup.id,
        threshold: setup.threshold,
        ephemeralKeyId: ephemeralKeyId(ephemeralKey),
        expiresAt: iso(request.expires_at),
      });
      return request;
    });
    this.deps.audit.committed();
    return this.view(row, []);
  }

  /** A request; with `guardian`, also that guardian's sealed share and the key to re-seal it to. */
  async getRequest(
    principal: Principal,
    projectId: string,
    vaultId: string,
    requestId: string,
    guardian: string | undefined,
  ): Promise<RecoveryRequestView> {
    const vault = await this.vaults.authorize(principal, projectId, vaultId, 'vaults:read');
    const row = await this.settled(await this.findRequest(vault, requestId));
    const view = this.view(row, await this.repo.approvals(row.id));
    if (guardian === undefined) return view;
    const share = await this.repo.guardian(row.setup_id, guardian);
    if (!share)
      throw new Problem('not-found', `${guardian} is not a guardian of this request's recovery setup.`);
    if (!isOpen(row.status)) throw closed(row);
    return { ...view, ephemeralKey: row.ephemeral_key, sealedShare: toBase64Url(share.sealed_share) };
  }

  /**
   * A guardian releases its share: re-sealed (in its own client) to the request's ephemeral key, signed
   * over recoveryApprovalInput with the keys the owner named for it in the setup. One per guardian.
   */
  async approve(
    principal: Principal,
    projectId: string,
    vaultId: string,
    requestId: string,
    body: { guardian: string; resealedShare: string; signature: HybridSignature },
  ): Promise<RecoveryRequestView> {
    const vault = await this.vaults.authorize(principal, projectId, vaultId, 'vaults:write');
    const request = await this.findRequest(vault, requestId);
    const guardian = await this.repo.guardian(request.setup_id, body.guardian);
    if (!guardian) {
      throw new Problem('forbidden', `${body.guardian} is not a guardian of this request's recovery setup.`);
    }
    const resealed = decodeField('The approval', '#/resealedShare', body.resealedShare);
    if (!sealedTo(resealed, decodeField('The request', '#/ephemeralKey', request.ephemeral_key))) {
      throw invalidField(
        'The approval',
        '#/resealedShare',
        'is not an envelope sealed to the request’s ephemeral key',
      );
    }
    const message = recoveryApprovalInput({
      vaultId: vault.id,
      requestId: request.id,
      guardian: body.guardian,
      resealedShareHash: contentHash(resealed),
    });
    const keys = JSON.parse(guardian.public_keys) as MemberPublicKeys;
    if (!(await verifyHybrid(keys, 'recovery-approval', message, body.signature))) {
      throw new Problem(
        'forbidden',
        `The signature does not verify with the keys of guardian ${body.guardian}.`,
      );
    }
    const at = this.now().getTime();
    const result = await this.repo.transaction(async (repo) => {
      const current = await this.lockOpen(repo, request.id, at);
      const approvals = await repo.approvals(current.id);
      if (approvals.some((approval) => approval.guardian === body.guardian)) {
        throw new Problem('conflict', `Guardian ${body.guardian} already approved this request.`);
      }
      const approval: ApprovalRow = {
        request_id: current.id,
        guardian: body.guardian,
        resealed_share: resealed,
        signature: JSON.stringify(body.signature),
        created_at: at,
      };
      await repo.insertApproval(approval);
      const count = approvals.length + 1;
      const ready = current.status === 'pending' && count >= current.threshold;
      if (ready) await repo.markReady(current.id);
      await this.record(repo, principal, vault, 'vault.recovery_approved', {
        requestId: current.id,
        guardian: body.guardian,
        approvals: count,
        threshold: current.threshold,
      });
      return this.view({ ...current, status: ready ? 'ready' : current.status }, [...approvals, approval]);
    });
    this.deps.audit.committed();
    return result;
  }

  /** The requester rebuilt its keys: the request completes and the re-sealed shares are dropped. */
  async complete(
    principal: Principal,
    projectId: string,
    vaultId: string,
    requestId: string,
  ): Promise<RecoveryRequestView> {
    const vault = await this.vaults.authorize(principal, projectId, vaultId, 'vaults:write');
    const request = await this.findRequest(vault, requestId);
    const at = this.now().getTime();
    const result = await this.repo.transaction(async (repo) => {
      const current = await this.lockOpen(repo, request.id, at);
      const approvals = await repo.approvals(current.id);
      if (current.status !== 'ready') {
        throw new Problem(
          'conflict',
          `Recovery request ${current.id} has ${approvals.length} of the ${current.threshold} approvals it needs.`,
        );
      }
      await repo.endRequest(current.id, 'completed', at);
      await this.record(repo, principal, vault, 'vault.recovery_completed', {
        requestId: current.id,
        approvals: approvals.length,
        guardians: approvals.map((approval) => approval.guardian),
      });
      return this.view(
        { ...current, status: 'completed', open_vault_id: null, ended_at: at },
        approvals.map((approval) => ({ ...approval, resealed_share: null })),
      );
    });
    this.deps.audit.committed();
    return result;
  }

  /** The owner (with its session: it still has its keys) cancels a request it did not make. */
  async cancel(
    principal: Principal,
    projectId: string,
    vaultId: string,
    requestId: string,
    headers: MemberHeaders,
  ): Promise<void> {
    const vault = await this.vaults.authorize(principal, projectId, vaultId, 'vaults:write');
    const request = await this.findRequest(vault, requestId);
    await this.requireOwner(principal, vault, headers);
    const at = this.now().getTime();
    await this.repo.transaction(async (repo) => {
      const current = await this.lockOpen(repo, request.id, at);
      await repo.endRequest(current.id, 'canceled', at);
      await this.record(repo, principal, vault, 'vault.recovery_canceled', {
        requestId: current.id,
        reason: 'owner',
      });
    });
    this.deps.audit.committed();
  }

  // ---- helpers ----

  /** The owner's own session, allowed by the access decision for `admin`; anyone else is refused. */
  private async requireOwner(principal: Principal, vault: RecoveryVault, headers: MemberHeaders) {
    const { session } = await this.deps.vaults.memberAccess(
      principal,
      vault.projectId,
      vault.id,
      headers,
      'admin',
    );
    if (session.subject !== vault.owner) {
      throw new Problem('forbidden', 'Only the vault’s owner manages its recovery.');
    }
  }

  private async findRequest(vault: RecoveryVault, requestId: string): Promise<RequestRow> {
    const row = await this.repo.request(vault.projectId, vault.id, requestId);
    if (!row) throw new Problem('not-found', `No recovery request ${requestId} for this vault.`);
    return row;
  }

  /** The request with its expiry applied: an open request past its time is marked expired now. */
  private async settled(row: RequestRow): Promise<RequestRow> {
    const at = this.now().getTime();
    if (!isOpen(row.status) || at < Number(row.expires_at)) return row;
    await this.repo.endRequest(row.id, 'expired', at);
    return (await this.repo.request(row.project_id, row.vault_id, row.id)) ?? row;
  }

  /** Locks the request for this transaction; refuses one that has ended or expired. */
  private async lockOpen(repo: RecoveryRepo, requestId: string, at: number): Promise<RequestRow> {
    const current = await repo.lockRequest(requestId);
    if (!current) throw new Problem('not-found', `No recovery request ${requestId} for this vault.`);
    if (isOpen(current.status) && at >= Number(current.expires_at)) {
      throw new Problem('conflict', `Recovery request ${current.id} expired at ${iso(current.expires_at)}.`);
    }
    if (!isOpen(current.status)) throw closed(current);
    return current;
  }

  private record(
    repo: RecoveryRepo,
    principal: Principal,
    vault: RecoveryVault,
    type: AuditEvent['type'],
    details: NonNullable<AuditEvent['details']>,
  ): Promise<void> {
    return this.deps.audit.record(repo.db, {
      type,
      orgId: vault.orgId,
      projectId: vault.projectId,
      actor: principal.keyId,
      subject: vault.id,
      details,
    });
  }

  private view(row: RequestRow, approvals: ApprovalRow[]): RecoveryRequestView {
    return {
      id: row.id,
      vaultId: row.vault_id,
      setupId: row.setup_id,
      status: row.status as RecoveryStatus,
      threshold: row.threshold,
      ephemeralKeyId: ephemeralKeyId(decodeField('The request', '#/ephemeralKey', row.ephemeral_key)),
      approvals: approvals.map((approval) => ({
        guardian: approval.guardian,
        resealedShare: approval.resealed_share === null ? null : toBase64Url(approval.resealed_share),
        createdAt: iso(approval.created_at),
      })),
      createdAt: iso(row.created_at),
      expiresAt: iso(row.expires_at),
      endedAt: row.ended_at === null ? null : iso(row.ended_at),
    };
  }
}

/** What the requester reads out to its guardians: the envelope key id of its ephemeral key. */
function ephemeralKeyId(key: Uint8Array): string {
  return toBase64Url(envelopeKeyId('X-Wing', key));
}

function noSetup(): Problem {
  return new Problem('not-found', 'This vault has no recovery setup.');
}

function closed(row: RequestRow): Problem {
  return new Problem('conflict', `Recovery request ${row.id} is ${row.status}.`);
}
