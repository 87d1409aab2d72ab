import type { Kysely } from 'kysely';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { newId } from '../../ids.js';
import type { Database } from '../../store/schema.js';
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
  | 'did.created'
  | 'did.updated';

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

  constructor(
    db: Kysely<Database>,
    private readonly ledger: LedgerService,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.repo = new AuditRepo(db);
  }

  /** Records an act inside the caller's transaction `trx`; call `committed()` once it commits. */
  async record(trx: Kysely<Database>, event: AuditEvent): Promise<void> {
    const id = newId('aud');
    const at = this.now().toISOString();
    const entry = JSON.stringify({
      v: 1,
      id,
      type: event.type,
      at,
      org: event.orgId,
      project: event.projectId,
      actor: event.actor,
      subject: event.subject,
      details: event.details ?? {},
    });
    const seq = await this.ledger.enqueue(trx, new TextEncoder().encode(entry));
    await new AuditRepo(trx).insert({
      id,
      org_id: event.orgId,
      project_id: event.projectId,
      type: event.type,
      ledger_seq: seq,
      entry,
      created_at: at,
    });
  }

  /**
   * Records an act that writes nothing else (issuing a credential) in a transaction of its own; once this
   * resolves the entry is committed, and if it throws the act must fail.
   */
  async recordAlone(event: AuditEvent): Promise<void> {
    await this.repo.db.transaction().execute((trx) => this.record(trx, event));
    this.committed();
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
