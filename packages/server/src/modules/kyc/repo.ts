import { type Kysely, type Selectable, type SqlBool, sql, type Updateable } from 'kysely';
import { preparedStatement, rowInserter, rowUpdater } from '../../store/prepared.js';
import type {
  Database,
  KycDocumentsTable,
  KycInboxTable,
  KycProvidersTable,
  KycSessionsTable,
  KycSettingsTable,
  KycTransitionsTable,
} from '../../store/schema.js';
import { relaxedDurability } from '../../store/sqlite-driver.js';

export type SessionRow = Selectable<KycSessionsTable>;
export type DocumentRow = Selectable<KycDocumentsTable>;
export type ProviderRow = Selectable<KycProvidersTable>;
export type SettingsRow = Selectable<KycSettingsTable>;
export type TransitionRow = Selectable<KycTransitionsTable>;
export type InboxRow = Selectable<KycInboxTable>;

/**
 * Statuses the clock expires when the session's time is up, as SQL literals exactly as in the partial index
 * kyc_sessions_expiry (migration 0031): a planner uses a partial index only when the query repeats its
 * condition with the same literals, not parameters.
 */
const EXPIRABLE = sql<SqlBool>`${sql.ref('status')} in (${sql.join(
  ['created', 'awaiting_input', 'resubmission_requested'].map((status) => sql.lit(status)),
)})`;

// The statements on every session's path, compiled once (see store/prepared.ts).
const insertSessionRow = rowInserter('kyc_sessions');
const insertTransitionRow = rowInserter('kyc_transitions');
const insertProviderCallRow = rowInserter('kyc_provider_calls');
const insertDocumentRow = rowInserter('kyc_documents');
const updateSessionAtVersion = rowUpdater('kyc_sessions', ['id', 'version']);
const updateSessionWithId = rowUpdater('kyc_sessions', ['id']);
const sessionInProject = preparedStatement(['prj', 'vrf'], (db, projectId: string, id: string) =>
  db.selectFrom('kyc_sessions').selectAll().where('project_id', '=', projectId).where('id', '=', id),
);
const sessionWithId = preparedStatement(['vrf'], (db, id: string) =>
  db.selectFrom('kyc_sessions').selectAll().where('id', '=', id),
);
const sessionWithTokenHash = preparedStatement(['hash'], (db, hash: string) =>
  db.selectFrom('kyc_sessions').selectAll().where('client_token_hash', '=', hash),
);
const lastCallSeq = preparedStatement(['vrf'], (db, sessionId: string) =>
  db
    .selectFrom('kyc_provider_calls')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('session_id', '=', sessionId),
);
// In the slot index's order (session, attempt, kind): ordering by id made SQLite sort, which cost more than
// the lookup.
const attemptDocuments = preparedStatement(['vrf', 1], (db, sessionId: string, attempt: number) =>
  db
    .selectFrom('kyc_documents')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('attempt', '=', attempt)
    .orderBy('kind'),
);
// From the slot index alone (it holds the kind): no row, no sealed key read.
const attemptDocumentKinds = preparedStatement(['vrf', 1], (db, sessionId: string, attempt: number) =>
  db
    .selectFrom('kyc_documents')
    .select('kind')
    .where('session_id', '=', sessionId)
    .where('attempt', '=', attempt)
    .orderBy('kind'),
);
const documentInSlot = preparedStatement(
  ['vrf', 1, 'kind'],
  (db, sessionId: string, attempt: number, kind: string) =>
    db
      .selectFrom('kyc_documents')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('attempt', '=', attempt)
      .where('kind', '=', kind),
);
const leaseTaker = preparedStatement(['vrf', 2, 1], (db, id: string, until: number, now: number) =>
  db
    .updateTable('kyc_sessions')
    .set({ lease_until: until })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .modifyEnd(relaxedDurability),
);
const leaseReleaser = preparedStatement(['vrf'], (db, id: string) =>
  // null as SQL, not as a bound value: a prepared statement binds only its arguments.
  db
    .updateTable('kyc_sessions')
    .set({ lease_until: sql<null>`null` })
    .where('id', '=', id)
    .modifyEnd(relaxedDurability),
);
const deleteDocument = preparedStatement(['vdc'], (db, id: string) =>
  db.deleteFrom('kyc_documents').where('id', '=', id),
);

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** The kyc_* tables. Only the kyc module calls this; every query is scoped by project where a tenant asks. */
export class KycRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: KycRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new KycRepo(trx as unknown as Kysely<Database>)));
  }

  // ---- settings ----
  settings(projectId: string): Promise<SettingsRow | undefined> {
    return this.db
      .selectFrom('kyc_settings')
      .selectAll()
      .where('project_id', '=', projectId)
      .executeTakeFirst();
  }

  /** Inserts the first settings of a project; false when a concurrent request inserted them first. */
  async insertSettings(row: SettingsRow): Promise<boolean> {
    try {
      await this.db.insertInto('kyc_settings').values(row).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async updateSettings(projectId: string, patch: Updateable<KycSettingsTable>): Promise<void> {
    await this.db.updateTable('kyc_settings').set(patch).where('project_id', '=', projectId).execute();
  }

  // ---- providers ----
  providers(projectId: string): Promise<ProviderRow[]> {
    return this.db
      .selectFrom('kyc_providers')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .execute();
  }

  provider(projectId: string, id: string): Promise<ProviderRow | undefined> {
    return this.db
      .selectFrom('kyc_providers')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** A provider by id alone: inbound webhooks name it in their URL before anything says the project. */
  providerById(id: string): Promise<ProviderRow | undefined> {
    return this.db.selectFrom('kyc_providers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertProvider(row: ProviderRow): Promise<void> {
    await this.db.insertInto('kyc_providers').values(row).execute();
  }

  async updateProvider(projectId: string, id: string, patch: Updateable<KycProvidersTable>): Promise<void> {
    await this.db
      .updateTable('kyc_providers')
      .set(patch)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .execute();
  }

  async deleteProvider(projectId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('kyc_providers')
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // ---- sessions ----
  insertSession(row: SessionRow): Promise<void> {
    return insertSessionRow(this.db, row);
  }

  async session(projectId: string, id: string): Promise<SessionRow | undefined> {
    return (await sessionInProject(this.db, projectId, id)).rows[0];
  }

  async sessionById(id: string): Promise<SessionRow | undefined> {
    return (await sessionWithId(this.db, id)).rows[0];
  }

  async sessionByClientToken(hash: string): Promise<SessionRow | undefined> {
    return (await sessionWithTokenHash(this.db, hash)).rows[0];
  }

  sessionByProviderRef(providerId: string, ref: string): Promise<SessionRow | undefined> {
    return this.db
      .selectFrom('kyc_sessions')
      .selectAll()
      .where('provider_id', '=', providerId)
      .where('provider_ref', '=', ref)
      .executeTakeFirst();
  }

  listSessions(
    projectId: string,
    options: {
      status?: string;
      after?: string;
      limit: number;
      unclaimedOrClaimedBy?: { keyId: string; now: number };
    },
  ): Promise<SessionRow[]> {
    let query = this.db.selectFrom('kyc_sessions').selectAll().where('project_id', '=', projectId);
    if (options.status) query = query.where('status', '=', options.status);
    if (options.after) query = query.where('id', '>', options.after);
    const claim = options.unclaimedOrClaimedBy;
    if (claim) {
      query = query.where((eb) =>
        eb.or([
          eb('claimed_by', 'is', null),
          eb('claimed_until', '<', claim.now),
          eb('claimed_by', '=', claim.keyId),
        ]),
      );
    }
    return query.orderBy('id').limit(options.limit).execute();
  }

  /** Applies `patch` if the session is still at `version` (and bumps it); false when someone moved it first. */
  async updateSession(id: string, version: number, patch: Updateable<KycSessionsTable>): Promise<boolean> {
    const result = await updateSessionAtVersion(this.db, { id, version }, { ...patch, version: version + 1 });
    return Number(result.numAffectedRows) === 1;
  }

  /** Sets fields that are not part of the state (lease, claim) without a version check. */
  async touchSession(id: string, patch: Updateable<KycSessionsTable>): Promise<void> {
    await updateSessionWithId(this.db, { id }, patch);
  }

  /**
   * Takes the dispatch lease of a session if nobody holds it; true when this caller got it. Leases are
   * written without waiting for the disk (`relaxedDurability`): a power cut that loses one loses nothing
   * but the lease, and a session left `submitted` is dispatched again by the worker.
   */
  async takeLease(id: string, now: number, until: number): Promise<boolean> {
    const result = await leaseTaker(this.db, id, until, now);
    return Number(result.numAffectedRows) === 1;
  }

  async releaseLease(id: string): Promise<void> {
    await leaseReleaser(this.db, id);
  }

  expiredSessions(now: number, limit: number): Promise<SessionRow[]> {
    return this.expiredSessionsQuery(now, limit).execute();
  }

  /** The expiry sweep's query (its plan is tested: it must search kyc_sessions_expiry). */
  expiredSessionsQuery(now: number, limit: number) {
    return this.db
      .selectFrom('kyc_sessions')
      .selectAll()
      .where(EXPIRABLE)
      .where('expires_at', '<=', now)
      .limit(limit);
  }

  /** Sessions waiting for a dispatcher: submitted (a crash between submit and dispatch) or unleased. */
  sessionsToDispatch(now: number, limit: number): Promise<SessionRow[]> {
    return this.db
      .selectFrom('kyc_sessions')
      .selectAll()
      .where('status', '=', 'submitted')
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .limit(limit)
      .execute();
  }

  /** Sessions at a provider whose answer has not come for `olderThan` (polled in case a webhook was lost). */
  sessionsToPoll(olderThan: number, limit: number): Promise<SessionRow[]> {
    return this.db
      .selectFrom('kyc_sessions')
      .selectAll()
      .where('status', 'in', ['processing', 'needs_review'])
      .where('provider_ref', 'is not', null)
      .where('updated_at', '<', olderThan)
      .limit(limit)
      .execute();
  }

  sessionsToPurge(now: number, limit: number): Promise<SessionRow[]> {
    return this.sessionsToPurgeQuery(now, limit).execute();
  }

  /** The purge sweep's query (its plan is tested: it must search kyc_sessions_purge). */
  sessionsToPurgeQuery(now: number, limit: number) {
    return this.db
      .selectFrom('kyc_sessions')
      .selectAll()
      .where('purge_at', '<=', now)
      .where('purged_at', 'is', null)
      .limit(limit);
  }

  // ---- transitions and provider calls ----
  insertTransition(row: TransitionRow): Promise<void> {
    return insertTransitionRow(this.db, row);
  }

  transitions(sessionId: string): Promise<TransitionRow[]> {
    return this.db
      .selectFrom('kyc_transitions')
      .selectAll()
      .where('session_id', '=', sessionId)
      .orderBy('seq')
      .execute();
  }

  /** Inserts the rows together: in one transaction, or (outside one) in one of their own. */
  async insertProviderCalls(rows: Selectable<Database['kyc_provider_calls']>[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.db.isTransaction) {
      for (const row of rows) await insertProviderCallRow(this.db, row);
    } else {
      await this.transaction((repo) => repo.insertProviderCalls(rows));
    }
  }

  providerCalls(sessionId: string): Promise<Selectable<Database['kyc_provider_calls']>[]> {
    return this.db
      .selectFrom('kyc_provider_calls')
      .selectAll()
      .where('session_id', '=', sessionId)
      .orderBy('seq')
      .execute();
  }

  async lastProviderCallSeq(sessionId: string): Promise<number> {
    return Number((await lastCallSeq(this.db, sessionId)).rows[0]?.seq ?? 0);
  }

  // ---- documents ----
  /** Stores a document's slot (session, attempt, kind); a new upload of the same kind replaces the old. */
  async putDocument(row: DocumentRow): Promise<DocumentRow | undefined> {
    const previous = (await documentInSlot(this.db, row.session_id, row.attempt, row.kind)).rows[0];
    if (previous) await deleteDocument(this.db, previous.id);
    await insertDocumentRow(this.db, row);
    return previous;
  }

  /** An attempt's documents, with their sealed keys. */
  async documents(sessionId: string, attempt: number): Promise<DocumentRow[]> {
    return (await attemptDocuments(this.db, sessionId, attempt)).rows;
  }

  /** The kinds of the documents an attempt has uploaded. */
  async documentKinds(sessionId: string, attempt: number): Promise<string[]> {
    return (await attemptDocumentKinds(this.db, sessionId, attempt)).rows.map((row) => row.kind);
  }

  /** Destroys the sealed data keys of a session's documents; returns their blob keys to delete. */
  async shredDocuments(sessionId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('kyc_documents')
      .select('blob_key')
      .where('session_id', '=', sessionId)
      .execute();
    await this.db
      .updateTable('kyc_documents')
      .set({ sealed_key: null })
      .where('session_id', '=', sessionId)
      .execute();
    return rows.map((row) => row.blob_key);
  }

  // ---- provider webhooks inbox ----
  /** Records an inbound event once; false when the same event (dedupe key) was received before. */
  async insertInbox(row: InboxRow): Promise<boolean> {
    try {
      await this.db.insertInto('kyc_inbox').values(row).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  inboxRow(providerId: string, dedupeKey: string): Promise<InboxRow | undefined> {
    return this.db
      .selectFrom('kyc_inbox')
      .selectAll()
      .where('provider_id', '=', providerId)
      .where('dedupe_key', '=', dedupeKey)
      .executeTakeFirst();
  }

  pendingInbox(limit: number): Promise<InboxRow[]> {
    return this.db
      .selectFrom('kyc_inbox')
      .selectAll()
      .where('processed_at', 'is', null)
      .orderBy('occurred_at')
      .limit(limit)
      .execute();
  }

  async finishInbox(providerId: string, dedupeKey: string, outcome: string, now: number): Promise<void> {
    await this.db
      .updateTable('kyc_inbox')
      .set({ processed_at: now, outcome, sealed_event: null })
      .where('provider_id', '=', providerId)
      .where('dedupe_key', '=', dedupeKey)
      .execute();
  }
}
