import type { ManifestMember } from '@personachain/vaults';
import { Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { AccessDecision, AccessPolicy, AccessRequest, VaultAction } from '../policy/access/index.js';
import { type AccessEntryInput, type AccessLog, type AccessRecord, accessRecord } from './access-log.js';
import type { GuardianSlot } from './guardians.js';
import type { RecentAccesses } from './recent-accesses.js';
import type { MemberSession } from './sessions.js';
import type { VaultState } from './state.js';

/** What a member asks to do, as the route knows it. */
export interface AccessAsk {
  vault: VaultState;
  session: MemberSession;
  action: VaultAction;
  itemId: string | null;
  /** The `Persona-Vault-Approval` header: a guardian access approval the member obtained. */
  approvalId?: string | undefined;
}

/** The decision as callers see it: the policy's answer plus the access-log entry that records it. */
export type AccessView = AccessDecision & { id: string; approvalId?: string };

export interface Access {
  allowed: boolean;
  view: AccessView;
  /** The access-log record with the manifest its entry names (the vault's, or the one a commit produced). */
  record(manifest: ManifestRef | null): AccessRecord;
}

export interface ManifestRef {
  sequence: number;
  hash: string;
}

const REFUSALS = {
  deny: 'access-denied',
  step_up_required: 'step-up-required',
  guardian_approval_required: 'guardian-approval-required',
} as const;

/**
 * The access decision on every member route: derives the AccessRequest from the session and the vault
 * (role from the current manifest, device, country, authentication, this process's recent counts), asks
 * the policy, lets a guardian approval through where the policy asks for one, and records the decision.
 */
export class AccessGate {
  constructor(
    private readonly policy: AccessPolicy,
    private readonly log: AccessLog,
    private readonly recent: RecentAccesses,
    private readonly guardians: GuardianSlot,
    private readonly now: () => Date,
  ) {}

  /** Decides without writing the record (a commit writes it in its own transaction). */
  async decide(ask: AccessAsk): Promise<Access> {
    const { vault, session, action } = ask;
    const at = this.now();
    // The session resolved only because its subject is a member of the current manifest.
    const member = vault.members.get(session.subject) as ManifestMember;
    const request: AccessRequest = {
      action,
      role: session.subject === vault.owner ? 'owner' : member.role,
      at,
      device: { registered: session.deviceRegistered, fingerprintPresent: session.fingerprintHash !== null },
      network: { country: session.country },
      authentication: {
        methods: session.methods,
        ageSeconds: Math.max(0, Math.floor((at.getTime() - session.authenticatedAt) / 1000)),
      },
      recent: this.recent.counts(vault.id, session.subject, at.getTime()),
      proofs: { verified: 0, unverified: session.proofs },
      guardiansAvailable: false,
    };
    let decision = this.policy.decide(vault.template, request);
    // Guardians only matter to a deny the template lets them lift: ask the recovery side only then.
    if (
      decision.outcome === 'deny' &&
      vault.template.onDeny.guardianApproval &&
      (await this.guardians.link.guardiansAvailable(vault.projectId, vault.id))
    ) {
      decision = this.policy.decide(vault.template, { ...request, guardiansAvailable: true });
    }
    let allowed = decision.outcome === 'allow';
    let approvedBy: string | null = null;
    let openedApproval: string | undefined;
    if (decision.outcome === 'guardian_approval_required') {
      const guardians = this.guardians.link;
      const target = { projectId: vault.projectId, vaultId: vault.id, subject: session.subject, action };
      if (
        ask.approvalId !== undefined &&
        (await guardians.accessApproved({ ...target, approvalId: ask.approvalId }))
      ) {
        allowed = true;
        approvedBy = ask.approvalId;
      } else {
        openedApproval = await guardians.openAccessApproval({ ...target, decision });
      }
    }
    // A challenge (step-up, guardian approval) is no denial: the decision promised that meeting it lets
    // the retry through, and counting it would take points from that very retry.
    this.recent.record(vault.id, session.subject, at.getTime(), decision.outcome === 'deny');
    const id = newId('vac');
    const entry: Omit<AccessEntryInput, 'manifest'> = {
      id,
      at: at.getTime(),
      projectId: vault.projectId,
      vaultId: vault.id,
      subject: session.subject,
      action,
      itemId: ask.itemId,
      decision,
      ipHash: session.ipHash,
      country: session.country,
      deviceRegistered: session.deviceRegistered,
      approvalId: approvedBy,
    };
    const approvalId = approvedBy ?? openedApproval;
    const view: AccessView = { ...decision, id, ...(approvalId ? { approvalId } : {}) };
    return { allowed, view, record: (manifest) => accessRecord({ ...entry, manifest }) };
  }

  /**
   * Decides, records the decision (group-committed) and throws the refusal when not allowed; returns the
   * decision once its log entry is committed.
   */
  async check(ask: AccessAsk): Promise<AccessView> {
    const access = await this.decide(ask);
    await this.log.record(access.record(currentManifest(ask.vault)));
    if (!access.allowed) throw refusal(access.view);
    return access.view;
  }

  /** Writes a refused commit's decision (it has no transaction of its own) and returns the refusal. */
  async refuse(access: Access, vault: VaultState): Promise<Problem> {
    await this.log.record(access.record(currentManifest(vault)));
    return refusal(access.view);
  }
}

export function currentManifest(vault: VaultState): ManifestRef {
  return { sequence: vault.manifest.sequence, hash: vault.manifestHash };
}

function refusal(view: AccessView): Problem {
  const slug = REFUSALS[view.outcome as keyof typeof REFUSALS] ?? 'access-denied';
  return new Problem(slug, `The access was not allowed: ${view.rule.explanation}.`, {
    extensions: { access: view },
  });
}
