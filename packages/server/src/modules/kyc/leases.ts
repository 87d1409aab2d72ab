import type { KycRepo } from './repo.js';

/**
 * Who dispatches a submitted session: one dispatcher at a time, so that no provider is asked twice for the
 * same attempt (the submit request's own dispatch and the worker's safety net may both try).
 */
export interface DispatchLeases {
  /** True when this caller now holds the session; false when a dispatcher holds it already. */
  take(sessionId: string): Promise<boolean>;
  release(sessionId: string): Promise<void>;
}

/**
 * One process owns the database (the embedded SQLite holds its lock exclusively), so the sessions it is
 * dispatching, kept in memory, are every lease there is. A crash forgets them with everything else, and
 * after the restart the worker dispatches what was left submitted at once.
 */
export class ProcessLeases implements DispatchLeases {
  private readonly held = new Set<string>();

  async take(sessionId: string): Promise<boolean> {
    if (this.held.has(sessionId)) return false;
    this.held.add(sessionId);
    return true;
  }

  async release(sessionId: string): Promise<void> {
    this.held.delete(sessionId);
  }
}

/** How long a process owns a session it dispatches: a crashed owner's sessions are taken over after it. */
const LEASE_MS = 5 * 60_000;

/** Several processes share the database: the lease is a column with an expiry. */
export class DatabaseLeases implements DispatchLeases {
  constructor(
    private readonly repo: KycRepo,
    private readonly now: () => Date,
  ) {}

  take(sessionId: string): Promise<boolean> {
    const nowMs = this.now().getTime();
    return this.repo.takeLease(sessionId, nowMs, nowMs + LEASE_MS);
  }

  release(sessionId: string): Promise<void> {
    return this.repo.releaseLease(sessionId);
  }
}
