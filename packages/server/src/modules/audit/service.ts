import type { Kysely } from 'kysely';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { newId } from '../../ids.js';
import type { Database } from '../../store/schema.js';
import type { SessionStatus } from '../kyc/state-machine.js';
import type { LedgerService } from '../ledger/service.js';
import { GroupCommit } from './group-commit.js';
import { AuditRepo } from './repo.js';

/** Most acts recorded alone that share one transaction. */
const MAX_GROUP = 256;

/** Security-relevant acts. Names are `<resource>.<verb>`; later capabilities add theirs. */
export type AuditEventType =
  | 'organization.created'
  | 'organization.deleted'
  | 'project.created'
  | 'project.deleted'
  | 'member.added'
  | 'member.role_changed'
  | 'member.removed'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'platform_key.created'
  | 'platform_key.revoked'
  | 'issuer.created'
  | 'credential.issued'
  | 'credential.status_changed'
  | 'presentation.signed'
  | 'did.created'
  | 'user.created'
  | 'user.registered'
  | 'user.updated'
  | 'user.deleted'
  | 'user.password_changed'
  | 'user.password_set'
  | 'user.mfa_enrolled'
  | 'user.mfa_disabled'
  | 'user.mfa_reset'
  | 'user.recovery_codes_regenerated'
  | 'user.did_linked'
  | 'user.did_unlinked'
  | 'user.credential_stored'
  | 'user.credential_deleted'
  | 'session.created'
  | 'session.revoked'
  | 'session.revoked_all'
  | 'identity_policy.updated'
  | 'did.updated'
  | 'oidc_client.created'
  | 'oidc_client.updated'
  | 'oidc_client.secret_rotated'
  | 'oidc_client.deleted'
  | 'oidc_keys.rotated'
  | 'oidc.signed_in'
  | 'oidc.consent_granted'
  | 'oidc.logged_out'
  | 'oidc.refresh_token_reused'
  | 'session.stepped_up'
  | 'scim.group_created'
  | 'scim.group_updated'
  | 'scim.group_deleted'
  | 'passkey.registered'
  | 'passkey.renamed'
  | 'passkey.deleted'
  | 'passkey.clone_detected'
  | 'user.email_verified'
  | 'sign_in.risk_assessed'
  | 'session.reauthenticated'
  // OpenID4VCI credential offers (modules/oid4vci).
  | 'credential_offer.created'
  | 'credential_offer.redeemed'
  | 'credential_offer.canceled'
  // Verification sessions: one type per state-machine move, named after its target (kyc/state-machine.ts).
  | `verification.${SessionStatus}`
  | 'verification.claimed'
  | 'verification_settings.updated'
  | 'verification_provider.created'
  | 'verification_provider.updated'
  | 'verification_provider.deleted'
  // HTTP connectors (modules/connectors).
  | 'connector.created'
  | 'connector.updated'
  | 'connector.deleted'
  | 'connector.issued'
  // Webhook endpoints (modules/webhooks).
  | 'webhook_endpoint.created'
  | 'webhook_endpoint.updated'
  | 'webhook_endpoint.deleted'
  | 'webhook_endpoint.secret_rotated'
  // Vaults (modules/vaults); item reads and writes are access-log entries instead.
  | 'vault.created'
  | 'vault.shredded'
  | 'vault.template_updated'
  | 'vault.members_changed'
  | 'vault_session.created'
  | 'vault_session.stepped_up'
  | 'vault_device.registered'
  | 'vault_device.deleted'
  // Guardian recovery and guardian access approvals (modules/vaults/recovery-*, approvals-*).
  | 'vault.recovery_configured'
  | 'vault.recovery_requested'
  | 'vault.recovery_approved'
  | 'vault.recovery_completed'
  | 'vault.recovery_canceled'
  | 'vault.access_approved';

/**
 * What an audit entry may hold: ids, roles, scopes, hashes and times. Never personal data (a member's
 * email is not recorded, only its id) and never a secret.
 */
export type AuditDetails = Record<string, string | number | boolean | null | string[]>;

export interface AuditEvent {
  type: AuditEventType;
  orgId: string | null;
  projectId: string | null;
  /** The API key that acted. */
  actor: string;
  /** The id of what was acted on. */
  subject: string;
  details?: AuditDetails;
}

export interface AuditEntry extends AuditEvent {
  id: string;
  createdAt: string;
  details: AuditDetails;
  /** The exact ledger entry: its SHA-256 leaf hash is what the ledger's inclusion proof proves. */
  entry: string;
  /** Null until the ledger has integrated the entry (normally within milliseconds). */
  ledgerIndex: number | null;
}

/**
 * The audit trail: each act is a row and a ledger entry, written in the act's own transaction, so an act
 * without its audit entry cannot commit.
 */
export class AuditService {
  private readonly repo: AuditRepo;
  private readonly alone: GroupCommit<AuditEvent>;

  constructor(
    db: Kysely<Database>,
    private readonly ledger: LedgerService,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.repo = new AuditRepo(db);
    this.alone = new GroupCommit(async (events) => {
      await this.repo.db.transaction().execute(async (trx) => {
        for (const event of events) await this.record(trx, event);
      });
      this.committed();
    }, MAX_GROUP);
  }

  /** Records an act inside the caller's transaction `trx`; call `committed()` once it commits. */
  async record(trx: Kysely<Database>, event: AuditEvent): Promise<void> {
    const repo = new AuditRepo(trx);
    const id = newId('aud');
    const at = this.now().toISOString();
    // End users act without knowing the organization (they sign in to a project); the entry names it anyway.
    const orgId = event.orgId ?? (event.projectId ? await repo.orgOfProject(event.projectId) : null);
    const entry = JSON.stringify({
      v: 1,
      id,
      type: event.type,
      at,
      org: orgId,
      project: event.projectId,
      actor: event.actor,
      subject: event.subject,
      details: event.details ?? {},
    });
    const seq = await this.ledger.enqueue(trx, new TextEncoder().encode(entry));
    await repo.insert({
      id,
      org_id: orgId,
      project_id: event.projectId,
      type: event.type,
      ledger_seq: seq,
      entry,
      created_at: at,
    });
  }

  /**
   * Records an act that writes nothing else (issuing a credential): concurrent ones share a transaction.
   * Once this resolves the entry is committed, and if it throws the act must fail.
   */
  recordAlone(event: AuditEvent): Promise<void> {
    return this.alone.add(event);
  }

  /** Tells the ledger that recorded entries were committed, so it integrates them now. */
  committed(): void {
    this.ledger.notifyQueued();
  }

  async listForProject(
    projectId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<AuditEntry>> {
    const after = decodeCursor(page.cursor, /^aud_[0-9a-f]{32}$/);
    const rows = await this.repo.listForProject(projectId, { after, limit: page.limit + 1 });
    const indexes = await this.ledger.indexesOf(rows.map((row) => Number(row.ledger_seq)));
    const entries = rows.map((row): AuditEntry => {
      const parsed = JSON.parse(row.entry) as { actor: string; subject: string; details: AuditDetails };
      return {
        id: row.id,
        type: row.type as AuditEventType,
        orgId: row.org_id,
        projectId: row.project_id,
        actor: parsed.actor,
        subject: parsed.subject,
        details: parsed.details,
        createdAt: row.created_at,
        entry: row.entry,
        ledgerIndex: indexes.get(Number(row.ledger_seq)) ?? null,
      };
    });
    return toPage(entries, page.limit);
  }
}
