/** A watch on one session: a change seen since the last `next()` is not lost. */
export interface Watching {
  /**
   * Resolves at the session's next committed move (at once if one came since the last call) or after `ms`
   * with true; with false when the wait must end: `signal` aborted, or shutdown began.
   */
  next(ms: number, signal: AbortSignal): Promise<boolean>;
  close(): void;
}

/**
 * Wakes requests waiting on a verification session (`GET …/verifications/{id}?wait=`) when a move of it
 * commits in this process. Moves made by other processes sharing the database are not seen here: their
 * waiters re-read the session at intervals instead (see KycService). At most `limit` requests wait at
 * once; beyond that, or once shutdown began, a watch does not wait and the caller answers at once.
 */
export class SessionWatch {
  private readonly wakers = new Map<string, Set<() => void>>();
  private open = 0;
  private closed = false;

  constructor(private readonly limit: number) {}

  /** A watch starting now, or null when no more requests may wait. */
  watch(sessionId: string): Watching | null {
    if (this.closed || this.open >= this.limit) return null;
    this.open++;
    let changed = false;
    let wake: (() => void) | null = null;
    const onChange = () => {
      changed = true;
      wake?.();
    };
    let wakers = this.wakers.get(sessionId);
    if (!wakers) {
      wakers = new Set();
      this.wakers.set(sessionId, wakers);
    }
    wakers.add(onChange);
    let done = false;
    return {
      next: (ms, signal) =>
        new Promise<boolean>((resolve) => {
          if (this.closed || signal.aborted) return resolve(false);
          if (changed) {
            changed = false;
            return resolve(true);
          }
          const finish = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', finish);
            wake = null;
            changed = false;
            resolve(!this.closed && !signal.aborted);
          };
          const timer = setTimeout(finish, ms);
          signal.addEventListener('abort', finish, { once: true });
          wake = finish;
        }),
      close: () => {
        if (done) return;
        done = true;
        wake?.();
        this.open--;
        const current = this.wakers.get(sessionId);
        current?.delete(onChange);
        if (current?.size === 0) this.wakers.delete(sessionId);
      },
    };
  }

  /** A move of the session has committed. */
  changed(sessionId: string): void {
    const wakers = this.wakers.get(sessionId);
    if (wakers) for (const onChange of wakers) onChange();
  }

  /** Shutdown: every wait ends now, and no new one starts. */
  close(): void {
    this.closed = true;
    for (const wakers of this.wakers.values()) for (const onChange of wakers) onChange();
  }
}
