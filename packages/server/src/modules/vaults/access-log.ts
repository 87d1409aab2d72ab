import type { Kysely } from 'kysely';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import type { Database } from '../../store/schema.js';
import type { RecordWriter } from '../ledger/sequencer.js';
import type { LedgerService } from '../ledger/service.js';
import type { AccessDecision, VaultAction } from '../policy/access/index.js';
import { type AccessLogRow, VaultsRepo } from './repo.js';

const ENTRY_ID = /^vac_[0-9a-f]{32}$/;
const encoder = new TextEncoder();

/** One decided access, ready to be written: the row and its exact ledger entry. */
export interface AccessRecord {
  id: string;
  projectId: string;
  vaultId: string;
  subject: string;
  action: VaultAction;
  itemId: string | null;
  outcome: AccessDecision['outcome'];
  score: number;
  at: number;
  /** The ledger entry (UTF-8 JSON): never item contents, never a raw IP. */
  entry: string;
}

export interface AccessEntryInput {
  id: string;
  at: number;
  projectId: string;
  vaultId: string;
  subject: string;
  action: VaultAction;
  itemId: string | null;
  decision: AccessDecision;
  ipHash: string | null;
  country: string | null;
  deviceRegistered: boolean;
  manifest: { sequence: number; hash: string } | null;
  /** The guardian approval that let a `guardian_approval_required` access through, if one did. */
  approvalId: string | null;
}

/** Builds the record of one decision, its ledger entry in the documented field order. */
export function accessRecord(input: AccessEntryInput): AccessRecord {
  const { decision } = input;
  const entry: Record<string, unknown> = {
    v: 1,
    type: 'vault.access',
    id: input.id,
    at: new Date(input.at).toISOString(),
    project: input.projectId,
    vault: input.vaultId,
    subject: input.subject,
    action: input.action,
    item: input.itemId,
    outcome: decision.outcome,
    score: decision.score,
    votes: decision.votes.map((vote) => ({
      evaluator: vote.evaluator,
      vote: vote.vote,
      reasons: vote.reasons,
    })),
    ipHash: input.ipHash,
    country: input.country,
    deviceRegistered: input.deviceRegistered,
    manifest: input.manifest,
  };
  if (input.approvalId !== null) entry.approval = input.approvalId;
  return {
    id: input.id,
    projectId: input.projectId,
    vaultId: input.vaultId,
    subject: input.subject,
    action: input.action,
    itemId: input.itemId,
    outcome: decision.outcome,
    score: decision.score,
    at: input.at,
    entry: JSON.stringify(entry),
  };
}

export interface AccessLogEntry {
  id: string;
  at: string;
  subject: string;
  action: string;
  itemId: string | null;
  outcome: string;
  score: number;
  entry: string;
  ledgerIndex: number | null;
}

/**
 * The vault access log: one row and one ledger entry per access decision on a member route. Reads are
 * written with their ledger entry, in the ledger's transaction that many decisions share (one fsync for
 * them all); commits write theirs inside their own transaction, so a write and its log entry commit
 * together or not at all.
 */
export class AccessLog {
  private readonly repo: VaultsRepo;
  private readonly rowWriter: RecordWriter<AccessLogRow> = {
    write: (db, rows) =>
      new VaultsRepo(db).insertAccessLogs(rows.map(({ row, index }) => ({ ...row, ledger_index: index }))),
  };

  constructor(
    db: Kysely<Database>,
    private readonly ledger: LedgerService,
  ) {
    this.repo = new VaultsRepo(db);
  }

  /** Writes the record with other decisions of the moment; resolves once it is committed and in the log. */
  async record(record: AccessRecord): Promise<void> {
    const row = rowOf(record, null);
    await this.ledger.appendRecorded({
      writer: this.rowWriter,
      make: () => ({ entry: encoder.encode(record.entry), row }),
    });
  }

  /** Writes the record inside the caller's transaction; call `committed()` once that commits. */
  async recordIn(trx: Kysely<Database>, record: AccessRecord): Promise<void> {
    const seq = await this.ledger.enqueue(trx, encoder.encode(record.entry));
    await new VaultsRepo(trx).insertAccessLog(rowOf(record, seq));
  }

  committed(): void {
    this.ledger.notifyQueued();
  }

  /** A vault's entries, oldest first, each with its ledger index once integrated. */
  async list(
    vaultId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<AccessLogEntry>> {
    const after = decodeCursor(page.cursor, ENTRY_ID);
    const rows = await this.repo.listAccessLog(vaultId, { after, limit: page.limit + 1 });
    const indexes = await this.ledger.indexesOfRows(rows);
    const entries = rows.map((row: AccessLogRow, i) => ({
      id: row.id,
      at: new Date(Number(row.at)).toISOString(),
      subject: row.subject,
      action: row.action,
      itemId: row.item_id,
      outcome: row.outcome,
      score: row.score,
      entry: row.entry,
      ledgerIndex: indexes[i] ?? null,
    }));
    return toPage(entries, page.limit);
  }
}

/** The row of `record`; `seq` is its queued ledger entry, null when the row is written with its entry. */
function rowOf(record: AccessRecord, seq: number | null): AccessLogRow {
  return {
    id: record.id,
    project_id: record.projectId,
    vault_id: record.vaultId,
    subject: record.subject,
    action: record.action,
    item_id: record.itemId,
    outcome: record.outcome,
    score: record.score,
    ledger_seq: seq,
    ledger_index: null,
    entry: record.entry,
    at: record.at,
  };
}
