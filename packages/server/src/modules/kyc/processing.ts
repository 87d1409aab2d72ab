import { openDetached } from '@personachain/crypto';
import type { BlobStore } from '../../store/blob-store.js';
import type { Decision, Decisions } from './decisions.js';
import { documentAad } from './documents.js';
import type { Orchestrator } from './orchestrator.js';
import type { KycRepo, SessionRow } from './repo.js';
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

/** How long one process owns a session it dispatches (a crashed owner's sessions are taken over after it). */
const LEASE_MS = 5 * 60_000;
const decoder = new TextDecoder();

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
    const nowMs = this.now().getTime();
    if (!(await this.repo.takeLease(sessionId, nowMs, nowMs + LEASE_MS))) return;
    try {
      const submitted = await this.repo.sessionById(sessionId);
      if (submitted?.status !== 'submitted') return;
      await this.process(
        await this.move(submitted, { to: 'processing', actor: 'system', actorId: 'system' }),
      );
    } finally {
      await this.repo.releaseLease(sessionId);
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
      await this.decide(session.id, outcome, 'policy', null);
      return;
    }
    const { documents, fields } = await this.openDocuments(session);
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
        await this.move(session, { to: 'error', actor: 'system', actorId: 'system', reason: 'no_provider' });
        return;
      }
      const attemptId = `${session.id}.${session.attempt}`;
      const dispatched = await this.orchestrator.dispatch(candidates, {
        sessionId: session.id,
        attemptId,
        // Connector checks are the platform's own: providers see only theirs.
        checks: checks.filter((check) => check.type !== 'connector'),
        documents,
        fields,
      });
      const at = Math.floor(this.now().getTime() / 1000);
      // The calls and the provider that took the session commit together: no reference at a provider
      // without the call that made it.
      await this.repo.transaction(async (repo) => {
        let seq = await repo.lastProviderCallSeq(session.id);
        await repo.insertProviderCalls(
          dispatched.attempts.map((call) => ({
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
        if (dispatched.ok) {
          await repo.touchSession(session.id, {
            provider_id: dispatched.provider.settings.id,
            provider_ref: dispatched.submission.ref,
          });
        }
      });
      if (!dispatched.ok) {
        await this.move(session, {
          to: 'error',
          actor: 'system',
          actorId: 'system',
          reason: 'providers_failed',
        });
        return;
      }
      const providerId = dispatched.provider.settings.id;
      if (dispatched.submission.outcome) {
        await this.decide(session.id, dispatched.submission.outcome, providerId, null);
      }
    } finally {
      for (const document of documents) document.bytes.fill(0);
    }
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

  private async move(session: SessionRow, move: Parameters<Transitions['apply']>[2]): Promise<SessionRow> {
    const moved = await this.repo.transaction((repo) => this.transitions.apply(repo, session, move));
    this.transitions.committed(session.id);
    return moved;
  }

  /** The attempt's documents, opened in memory; `fields` parsed. Never written anywhere. */
  private async openDocuments(
    session: SessionRow,
  ): Promise<{ documents: PlainDocument[]; fields: SubmittedFields }> {
    const keyPair = await this.settings.keyPair(session.project_id);
    const rows = await this.repo.documents(session.id, session.attempt);
    const documents: PlainDocument[] = [];
    let fields: SubmittedFields = {};
    for (const row of rows) {
      if (!row.sealed_key) continue;
      const ciphertext = await this.blobs.get(row.blob_key);
      if (!ciphertext) throw new Error(`document ${row.id} is missing from blob storage`);
      const plain = await openDetached(
        keyPair,
        { sealedKey: new Uint8Array(row.sealed_key), ciphertext },
        { aad: documentAad(session.id, row.attempt, row.kind) },
      );
      if (row.kind === 'fields') {
        fields = JSON.parse(decoder.decode(plain)) as SubmittedFields;
        plain.fill(0);
      } else {
        documents.push({
          kind: row.kind as PlainDocument['kind'],
          contentType: row.content_type,
          bytes: plain,
        });
      }
    }
    return { documents, fields };
  }
}
