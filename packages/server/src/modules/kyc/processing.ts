import type { BlobStore } from '../../store/blob-store.js';
import type { Decision, Decisions } from './decisions.js';
import { type DocumentOpener, UnreadableDocument } from './document-opener.js';
import { documentAad } from './documents.js';
import type { DispatchLeases } from './leases.js';
import type { AttemptRecord, Orchestrator } from './orchestrator.js';
import type { KycRepo, SessionRow, SettingsRow } from './repo.js';
import { route } from './routing.js';
import type { KycSettings } from './settings.js';
import { type SessionStatus, TERMINAL } from './state-machine.js';
import type { Transitions } from './transitions.js';
import {
  type CheckRequest,
  type DocumentType,
  FINAL_STATUSES,
  type PlainDocument,
  type ProviderOutcome,
  type SubmittedFields,
} from './types.js';

const decoder = new TextDecoder();

/** The submitted fields, and their plaintext zeroed; fields that are no JSON object never will be. */
function parsedFields(bytes: Uint8Array): SubmittedFields {
  try {
    const fields: unknown = JSON.parse(decoder.decode(bytes));
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields))
      throw new Error('not an object');
    return fields as SubmittedFields;
  } catch (error) {
    throw new UnreadableDocument(`the submitted fields are not a JSON object: ${(error as Error).message}`);
  } finally {
    bytes.fill(0);
  }
}

/**
 * What a dispatch came to: the provider calls made, and either the provider that took the session (with
 * its answer, when it gave one at once; the platform itself for connector-only sessions) or why none did.
 */
type Handover = { calls: AttemptRecord[] } & (
  | {
      taken: {
        provider?: { id: string; ref: string };
        outcome: ProviderOutcome | null;
        actorId: string;
      };
      failed?: undefined;
    }
  | { taken?: undefined; failed: 'no_provider' | 'providers_failed' | 'documents_unreadable' }
);

export interface ProcessingLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * Carries submitted sessions through the providers: opens the documents in memory, routes, dispatches
 * with fallback, records every provider call, and applies outcomes — synchronous ones at once, later
 * ones from webhooks or polling — under the ordering rules: a late non-final event never overwrites a
 * decision, an older event never overwrites a newer one, and only an explicit provider decline after an
 * approval reverses it.
 */
export class KycProcessor {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly repo: KycRepo,
    private readonly settings: KycSettings,
    private readonly orchestrator: Orchestrator,
    private readonly decisions: Decisions,
    private readonly transitions: Transitions,
    private readonly blobs: BlobStore,
    private readonly opener: DocumentOpener,
    private readonly leases: DispatchLeases,
    private readonly log: ProcessingLog,
    private readonly now: () => Date,
  ) {}

  /** Starts dispatching a submitted session in the background (the submit request does not wait). */
  kick(sessionId: string): void {
    const job = this.dispatch(sessionId)
      .catch((error: unknown) =>
        this.log.warn(
          { sessionId, err: (error as Error).message },
          'kyc: dispatch failed; the worker retries',
        ),
      )
      .finally(() => this.running.delete(job));
    this.running.add(job);
  }

  /** Waits for background dispatches (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async dispatch(sessionId: string): Promise<void> {
    if (!(await this.leases.take(sessionId))) return;
    try {
      const submitted = await this.repo.sessionById(sessionId);
      if (submitted?.status !== 'submitted') return;
      await this.process(submitted);
    } finally {
      await this.leases.release(sessionId);
    }
  }

  private async process(session: SessionRow): Promise<void> {
    const checks = JSON.parse(session.checks) as CheckRequest[];
    const providerChecks = [...new Set(checks.filter((c) => c.type !== 'connector').map((c) => c.type))];
    if (providerChecks.length === 0) {
      // Connector checks only: the platform decides alone.
      const outcome: ProviderOutcome = {
        status: 'approved',
        reasons: [],
        checks: {},
        extracted: {},
        raw: null,
        occurredAt: this.now(),
      };
      await this.conclude(session, { calls: [], taken: { outcome, actorId: 'policy' } });
      return;
    }
    let opened: Awaited<ReturnType<KycProcessor['openDocuments']>>;
    try {
      opened = await this.openDocuments(session);
    } catch (error) {
      // Another try would fail alike (a blob store that does not answer, though, is retried).
      if (!(error instanceof UnreadableDocument)) throw error;
      this.log.warn({ sessionId: session.id, err: error.message }, 'kyc: the documents cannot be opened');
      await this.conclude(session, { calls: [], failed: 'documents_unreadable' });
      return;
    }
    const { documents, fields } = opened;
    try {
      const candidates = route(
        await this.settings.rules(session.project_id),
        await this.settings.choices(session.project_id),
        {
          ...(fields.issuingCountry ? { country: fields.issuingCountry } : {}),
          ...(fields.documentType ? { documentType: fields.documentType as DocumentType } : {}),
          checks: providerChecks,
        },
      );
      if (candidates.length === 0) {
        await this.conclude(session, { calls: [], failed: 'no_provider' });
        return;
      }
      const dispatched = await this.orchestrator.dispatch(candidates, {
        sessionId: session.id,
        attemptId: `${session.id}.${session.attempt}`,
        // Connector checks are the platform's own: providers see only theirs.
        checks: checks.filter((check) => check.type !== 'connector'),
        documents,
        fields,
      });
      await this.conclude(
        session,
        dispatched.ok
          ? {
              calls: dispatched.attempts,
              taken: {
                provider: { id: dispatched.provider.settings.id, ref: dispatched.submission.ref },
                outcome: dispatched.submission.outcome ?? null,
                actorId: dispatched.provider.settings.id,
              },
            }
          : { calls: dispatched.attempts, failed: 'providers_failed' },
      );
    } finally {
      for (const document of documents) document.bytes.fill(0);
    }
  }

  /**
   * Commits what a dispatch came to, in one transaction: the move to processing with the provider that
   * took the session, the provider calls, and the decision when the provider answered at once (or the
   * error when none could take it). No provider reference is stored without the call that made it, and
   * nobody sees a session processing without its provider.
   *
   * On a 409 another dispatcher moved the session first (a lease outlived): only the calls made here are
   * recorded. When the decision cannot be made or applied (a connector, a credential offer, a failed
   * commit), what the providers did is committed first on its own, so that no provider is asked again,
   * and then the decision alone; if that fails too, the session stays processing, as with a provider
   * that has not answered yet.
   */
  private async conclude(session: SessionRow, handover: Handover): Promise<void> {
    let decided: { decision: Decision; settings: SettingsRow } | null = null;
    try {
      decided = await this.judged(session, handover);
      await this.repo.transaction(async (repo) => {
        const processing = await this.handOver(repo, session, handover, decided);
        if (decided) await this.decisions.apply(repo, processing, decided.decision, decided.settings);
      });
    } catch (error) {
      if ((error as { status?: number }).status === 409) {
        await this.repo.transaction((repo) => this.recordCalls(repo, session, handover.calls));
        return;
      }
      const processing = await this.repo.transaction((repo) =>
        this.handOver(repo, session, handover, decided),
      );
      this.transitions.committed(session.id);
      if (!decided) throw error;
      const { decision, settings } = decided;
      await this.repo.transaction((repo) => this.decisions.apply(repo, processing, decision, settings));
    }
    this.transitions.committed(session.id);
  }

  /** The decision a provider's immediate answer leads to, if it moves the session. */
  private async judged(
    session: SessionRow,
    { taken }: Handover,
  ): Promise<{ decision: Decision; settings: SettingsRow } | null> {
    if (!taken?.outcome) return null;
    const decision = await this.decisions.judge(session, taken.outcome, taken.actorId, null);
    if (!decision || decision.to === 'processing') return null;
    return { decision, settings: await this.settings.ensure(session.project_id) };
  }

  /** The move to processing (to error, when no provider took the session) and the provider calls. */
  private async handOver(
    repo: KycRepo,
    session: SessionRow,
    { taken, calls, failed }: Handover,
    decided: { decision: Decision } | null,
  ): Promise<SessionRow> {
    const patch: Partial<SessionRow> = {};
    if (taken?.provider) {
      patch.provider_id = taken.provider.id;
      patch.provider_ref = taken.provider.ref;
    }
    // An answer that moves nothing (a provider's first word: still at work) still dates the session.
    if (taken?.outcome && !decided) patch.last_event_at = taken.outcome.occurredAt.getTime();
    const processing = await this.transitions.apply(repo, session, {
      to: 'processing',
      actor: 'system',
      actorId: 'system',
      patch,
    });
    await this.recordCalls(repo, session, calls);
    if (!failed) return processing;
    return this.transitions.apply(repo, processing, {
      to: 'error',
      actor: 'system',
      actorId: 'system',
      reason: failed,
    });
  }

  private async recordCalls(repo: KycRepo, session: SessionRow, calls: AttemptRecord[]): Promise<void> {
    if (calls.length === 0) return;
    const at = Math.floor(this.now().getTime() / 1000);
    let seq = await repo.lastProviderCallSeq(session.id);
    await repo.insertProviderCalls(
      calls.map((call) => ({
        session_id: session.id,
        seq: ++seq,
        project_id: session.project_id,
        attempt: session.attempt,
        provider_id: call.providerId,
        kind: call.kind,
        try: call.try,
        result: call.result,
        error_kind: call.errorKind ?? null,
        status: call.status ?? null,
        message: call.message ?? null,
        duration_ms: Math.round(call.durationMs),
        at,
      })),
    );
  }

  /**
   * Applies a provider outcome to the session it is about. Returns what happened: `applied`, `stale`
   * (older or non-final after a decision) or `ignored` (it changes nothing).
   */
  async decide(
    sessionId: string,
    outcome: ProviderOutcome,
    actorId: string,
    dedupeKey: string | null,
  ): Promise<'applied' | 'stale' | 'ignored'> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const session = await this.repo.sessionById(sessionId);
      if (!session) return 'ignored';
      const status = session.status as SessionStatus;
      const eventAt = outcome.occurredAt.getTime();
      const reversal = status === 'approved' && outcome.status === 'declined';
      if (TERMINAL.has(status) && !reversal) return 'stale';
      if (
        !FINAL_STATUSES.has(outcome.status) &&
        session.last_event_at !== null &&
        eventAt < Number(session.last_event_at)
      ) {
        return 'stale';
      }
      let decision: Decision | null;
      if (reversal) {
        decision = {
          to: 'declined',
          actor: 'provider',
          actorId,
          reason: `provider_reversal${outcome.reasons.length ? `:${outcome.reasons.join(',')}` : ''}`,
          raw: outcome.raw,
          providerEvent: dedupeKey,
          eventAt,
        };
        await this.decisions.revoke(session, 'provider reversed its approval');
      } else {
        decision = await this.decisions.judge(session, outcome, actorId, dedupeKey);
      }
      if (!decision || decision.to === status) {
        await this.repo.touchSession(sessionId, {
          last_event_at: Math.max(eventAt, Number(session.last_event_at ?? 0)),
        });
        return 'ignored';
      }
      const settings = await this.settings.ensure(session.project_id);
      try {
        await this.repo.transaction((repo) =>
          this.decisions.apply(repo, session, decision as Decision, settings),
        );
        this.transitions.committed(session.id);
        return 'applied';
      } catch (error) {
        // A concurrent move (another event, a reviewer) got there first: judge again on the new state.
        if ((error as { status?: number }).status !== 409) throw error;
      }
    }
    return 'stale';
  }

  /** The attempt's documents, opened in memory (on the document thread); `fields` parsed. Never written. */
  private async openDocuments(
    session: SessionRow,
  ): Promise<{ documents: PlainDocument[]; fields: SubmittedFields }> {
    const keyPair = await this.settings.keyPair(session.project_id);
    const rows = (await this.repo.documents(session.id, session.attempt)).filter((row) => row.sealed_key);
    const sealed = await Promise.all(
      rows.map(async (row) => {
        const ciphertext = await this.blobs.get(row.blob_key);
        if (!ciphertext) throw new UnreadableDocument(`document ${row.id} is missing from blob storage`);
        return {
          sealedKey: new Uint8Array(row.sealed_key as Uint8Array),
          ciphertext,
          aad: documentAad(session.id, row.attempt, row.kind),
        };
      }),
    );
    const plain = await this.opener.open(keyPair, sealed);
    const documents: PlainDocument[] = [];
    let fields: SubmittedFields = {};
    try {
      for (const [index, row] of rows.entries()) {
        const bytes = plain[index] as Uint8Array;
        if (row.kind === 'fields') fields = parsedFields(bytes);
        else
          documents.push({ kind: row.kind as PlainDocument['kind'], contentType: row.content_type, bytes });
      }
    } catch (error) {
      for (const bytes of plain) bytes.fill(0);
      throw error;
    }
    return { documents, fields };
  }
}
