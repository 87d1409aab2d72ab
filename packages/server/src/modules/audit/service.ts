import type { Kysely } from 'kysely';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { newId } from '../../ids.js';
import type { AuditEventsTable, Database } from '../../store/schema.js';
import type { SessionStatus } from '../kyc/state-machine.js';
import type { RecordWriter } from '../ledger/sequencer.js';
import type { LedgerService } from '../ledger/service.js';
import { AuditRepo } from './repo.js';

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

const encoder = new TextEncoder();

/** A row of an act recorded with `recordWith`, and the act's audit row. */
interface WithAuditRow<Row> {
  audit: AuditEventsTable;
  companion: Row;
}

/** The organization an entry names. End users act without knowing it (they sign in to a project). */
async function orgOf(repo: AuditRepo, event: AuditEvent): Promise<string | null> {
  return event.orgId ?? (event.projectId ? await repo.orgOfProject(event.projectId) : null);
}

/**
 * The audit trail: each act is a row and a ledger entry, written in the act's own transaction, so an act
 * without its audit entry cannot commit.
 */
export class AuditService {
  private readonly repo: AuditRepo;
  /** Writes the rows of `recordAlone` in the ledger's transaction, one statement per batch. */
  private readonly rowWriter: RecordWriter<AuditEventsTable> = {
    write: (db, rows) =>
      new AuditRepo(db).insertMany(rows.map(({ row, index }) => ({ ...row, ledger_index: index }))),
  };

  private readonly companionWriters = new WeakMap<object, RecordWriter<WithAuditRow<unknown>>>();

  constructor(
    db: Kysely<Database>,
    private readonly ledger: LedgerService,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.repo = new AuditRepo(db);
  }

  /** Records an act inside the caller's transaction `trx`; call `committed()` once it commits. */
  async record(trx: Kysely<Database>, event: AuditEvent): Promise<void> {
    const repo = new AuditRepo(trx);
    const row = this.rowOf(event, await orgOf(repo, event));
    const seq = await this.ledger.enqueue(trx, encoder.encode(row.entry));
    await repo.insert({ ...row, ledger_seq: seq });
  }

  /**
   * Records an act that writes nothing else (issuing a credential): its row is written in the
   * transaction that appends its entry to the ledger, which concurrent ones share. Once this resolves the
   * entry is committed and in the log, and if it throws the act must fail.
   */
  async recordAlone(event: AuditEvent): Promise<void> {
    const orgId = await orgOf(this.repo, event);
    await this.ledger.appendRecorded({
      writer: this.rowWriter,
      // Made in the ledger's transaction: ids then grow in commit order, as a client paging by cursor needs.
      make: () => {
        const row = this.rowOf(event, orgId);
        return { entry: encoder.encode(row.entry), row };
      },
    });
  }

  /**
   * Records an act whose own write is one row of another table (opening a session) as recordAlone does:
   * `companion.row` is written by `companion.writer` in the same ledger transaction as the audit row, so
   * the act and its entry commit together, with one disk sync for the concurrent ones. `companion.writer`
   * should be one long-lived object per table: the rows of a batch are written in one call per writer.
   */
  async recordWith<Row>(
    event: AuditEvent,
    companion: { writer: RecordWriter<Row>; row: Row },
  ): Promise<void> {
    const orgId = await orgOf(this.repo, event);
    await this.ledger.appendRecorded({
      writer: this.withAuditRows(companion.writer),
      make: () => {
        const row = this.rowOf(event, orgId);
        return { entry: encoder.encode(row.entry), row: { audit: row, companion: companion.row } };
      },
    });
  }

  /** The writer of `companion`'s rows and their audit rows, made once per companion writer. */
  private withAuditRows<Row>(companion: RecordWriter<Row>): RecordWriter<WithAuditRow<Row>> {
    let writer = this.companionWriters.get(companion) as RecordWriter<WithAuditRow<Row>> | undefined;
    if (!writer) {
      writer = {
        write: async (db, rows) => {
          await companion.write(
            db,
            rows.map(({ row, index }) => ({ row: row.companion, index })),
          );
          await this.rowWriter.write(
            db,
            rows.map(({ row, index }) => ({ row: row.audit, index })),
          );
        },
      };
      this.companionWriters.set(companion, writer as RecordWriter<WithAuditRow<unknown>>);
    }
    return writer;
  }

  /** Tells the ledger that recorded entries were committed, so it integrates them now. */
  committed(): void {
    this.ledger.notifyQueued();
  }

  /** The event's row, with its ledger entry and without its place in the log. */
  private rowOf(event: AuditEvent, orgId: string | null): AuditEventsTable {
    const id = newId('aud');
    const at = this.now().toISOString();
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
    return {
      id,
      org_id: orgId,
      project_id: event.projectId,
      type: event.type,
      ledger_seq: null,
      ledger_index: null,
      entry,
      created_at: at,
    };
  }

  async listForProject(
    projectId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<AuditEntry>> {
    const after = decodeCursor(page.cursor, /^aud_[0-9a-f]{32}$/);
    const rows = await this.repo.listForProject(projectId, { after, limit: page.limit + 1 });
    const indexes = await this.ledger.indexesOfRows(rows);
    const entries = rows.map((row, i): AuditEntry => {
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
        ledgerIndex: indexes[i] ?? null,
      };
    });
    return toPage(entries, page.limit);
  }
}
