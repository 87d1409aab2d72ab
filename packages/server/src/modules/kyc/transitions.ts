import type { Kysely } from 'kysely';
import { Problem } from '../../http/problem.js';
import type { Database } from '../../store/schema.js';
import type { AuditService } from '../audit/service.js';
import type { WebhookService } from '../webhooks/service.js';
import type { KycRepo, SessionRow } from './repo.js';
import type { SessionWatch } from './session-watch.js';
import { type Actor, assertTransition, eventTypeOf, type SessionStatus } from './state-machine.js';

export interface Move {
  to: SessionStatus;
  actor: Actor;
  /** Who exactly: an API key id, `client`, a provider configuration id, or `system`. */
  actorId: string;
  reason?: string | null;
  /** The provider event that caused it (its dedupe key), if one did. */
  providerEvent?: string | null;
  /** Other columns that change with the move (result, decision, provider ref…). */
  patch?: Partial<SessionRow>;
  /** Extra thin webhook data (ids and statuses only). */
  eventData?: Record<string, string | number | boolean | null>;
}

/**
 * Applies one state-machine move in the caller's transaction: the guard, the conditional update (a
 * concurrent move of the same session makes this one a 409), the transition row, the audit entry and the
 * outbox event — all commit together or not at all.
 */
export class Transitions {
  constructor(
    private readonly audit: AuditService,
    private readonly webhooks: WebhookService,
    private readonly watch: SessionWatch,
    private readonly now: () => Date,
  ) {}

  async apply(repo: KycRepo, session: SessionRow, move: Move): Promise<SessionRow> {
    const from = session.status as SessionStatus;
    assertTransition(from, move.to, move.actor);
    const at = Math.floor(this.now().getTime() / 1000);
    const patch: Partial<SessionRow> = {
      ...move.patch,
      status: move.to,
      status_reason: move.reason ?? null,
      updated_at: at,
    };
    if (!(await repo.updateSession(session.id, session.version, patch))) {
      throw new Problem(
        'conflict',
        `Verification session ${session.id} changed meanwhile; read it again and retry.`,
      );
    }
    const moved: SessionRow = { ...session, ...patch, version: session.version + 1 };
    await repo.insertTransition({
      session_id: session.id,
      seq: moved.version,
      project_id: session.project_id,
      from_status: from,
      to_status: move.to,
      actor: move.actor === 'reviewer' || move.actor === 'tenant' ? move.actorId : move.actor,
      reason: move.reason ?? null,
      provider_event: move.providerEvent ?? null,
      at,
    });
    const type = eventTypeOf(move.to);
    await this.audit.record(repo.db, {
      type,
      orgId: session.org_id,
      projectId: session.project_id,
      actor: move.actorId,
      subject: session.id,
      details: { from, to: move.to, by: move.actor, ...(move.reason ? { reason: move.reason } : {}) },
    });
    await this.webhooks.enqueue(repo.db as Kysely<Database>, {
      projectId: session.project_id,
      type,
      data: {
        session_id: session.id,
        status: move.to,
        ...(move.reason ? { reason: move.reason } : {}),
        ...move.eventData,
      },
    });
    return moved;
  }

  /** After the transaction that moved the session committed: integrate audit entries, send events, wake waiters. */
  committed(sessionId: string): void {
    this.audit.committed();
    this.webhooks.notify();
    this.watch.changed(sessionId);
  }
}
