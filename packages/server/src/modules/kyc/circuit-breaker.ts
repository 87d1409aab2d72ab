/**
 * Circuit breakers, one per provider configuration (`vpc_…`), so a provider that is down is not called
 * (and waited for) on every verification while it recovers.
 *
 * closed: calls go through. After `consecutiveFailures` failures in a row, or when at least `rateMinimumCalls`
 * of the last `rateWindow` calls were made and `failureRate` of them failed, the breaker opens.
 * open: calls are refused at once for `cooldownMs`.
 * half_open: after the cooldown, one trial call goes through (others are refused while it runs); its success
 * closes the breaker, its failure opens it for another cooldown.
 *
 * State is in process memory: with several server replicas each has its own breakers, so a provider that is
 * down is called a few times per replica before every replica stops calling it. That is acceptable: the
 * breaker saves latency and provider load; it does not guard correctness.
 */
export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Failures in a row that open a closed breaker. Default 5. */
  consecutiveFailures: number;
  /** Share of failed calls among the last `rateWindow` that opens it. Default 0.5. */
  failureRate: number;
  /** How many recent calls the failure rate looks at. Default 20. */
  rateWindow: number;
  /** The failure rate counts only once this many calls are in the window. Default 10. */
  rateMinimumCalls: number;
  /** How long an open breaker refuses calls. Default 30 s. */
  cooldownMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  consecutiveFailures: 5,
  failureRate: 0.5,
  rateWindow: 20,
  rateMinimumCalls: 10,
  cooldownMs: 30_000,
};

interface Breaker {
  /** 'open' also covers a finished cooldown until the next call asks; `state()` reports that as half_open. */
  state: 'closed' | 'open' | 'half_open';
  consecutive: number;
  /** The last calls' results while closed, oldest first: true for a failure. */
  recent: boolean[];
  openedAt: number;
  /** When the running half-open trial call was let through. */
  trialStartedAt: number;
}

export class CircuitBreakers {
  private readonly options: BreakerOptions;
  private readonly breakers = new Map<string, Breaker>();

  constructor(
    options: Partial<BreakerOptions> = {},
    private readonly now: () => Date = () => new Date(),
    /** Told of every state change (for logs and metrics). */
    private readonly onTransition?: (id: string, from: BreakerState, to: BreakerState) => void,
  ) {
    this.options = { ...DEFAULT_BREAKER_OPTIONS, ...options };
  }

  /** The breaker's state as a caller would find it now. */
  state(id: string): BreakerState {
    const breaker = this.breakers.get(id);
    if (!breaker) return 'closed';
    if (breaker.state === 'open' && this.cooledDown(breaker)) return 'half_open';
    return breaker.state;
  }

  /**
   * Whether a call may go now. Every allowed call must be followed by `succeeded` or `failed`. In half_open
   * only one trial is let through; should its result never be reported, another is allowed after a cooldown.
   */
  allow(id: string): boolean {
    const breaker = this.breakers.get(id);
    if (!breaker || breaker.state === 'closed') return true;
    const now = this.now().getTime();
    if (breaker.state === 'open') {
      if (!this.cooledDown(breaker)) return false;
      this.move(id, breaker, 'half_open');
      breaker.trialStartedAt = now;
      return true;
    }
    if (now - breaker.trialStartedAt < this.options.cooldownMs) return false;
    breaker.trialStartedAt = now;
    return true;
  }

  // While open, reports are late answers of calls let through before the breaker opened: they are ignored,
  // only the half-open trial decides.

  succeeded(id: string): void {
    const breaker = this.breakers.get(id) ?? this.create(id);
    if (breaker.state === 'open') return;
    if (breaker.state === 'half_open') this.move(id, breaker, 'closed');
    breaker.consecutive = 0;
    this.remember(breaker, false);
  }

  failed(id: string): void {
    const breaker = this.breakers.get(id) ?? this.create(id);
    if (breaker.state === 'open') return;
    if (breaker.state === 'half_open') {
      this.open(id, breaker);
      return;
    }
    breaker.consecutive += 1;
    this.remember(breaker, true);
    const failures = breaker.recent.filter(Boolean).length;
    const rateTripped =
      breaker.recent.length >= this.options.rateMinimumCalls &&
      failures / breaker.recent.length >= this.options.failureRate;
    if (breaker.consecutive >= this.options.consecutiveFailures || rateTripped) this.open(id, breaker);
  }

  /** Forgets a breaker, e.g. when its provider configuration is changed or deleted. */
  reset(id: string): void {
    const breaker = this.breakers.get(id);
    if (!breaker) return;
    const from = this.state(id);
    this.breakers.delete(id);
    if (from !== 'closed') this.onTransition?.(id, from, 'closed');
  }

  private create(id: string): Breaker {
    const breaker: Breaker = { state: 'closed', consecutive: 0, recent: [], openedAt: 0, trialStartedAt: 0 };
    this.breakers.set(id, breaker);
    return breaker;
  }

  private open(id: string, breaker: Breaker): void {
    if (breaker.state !== 'open') this.move(id, breaker, 'open');
    breaker.openedAt = this.now().getTime();
    breaker.consecutive = 0;
    breaker.recent = [];
  }

  private move(id: string, breaker: Breaker, to: BreakerState): void {
    const from = breaker.state;
    breaker.state = to;
    this.onTransition?.(id, from, to);
  }

  private remember(breaker: Breaker, failure: boolean): void {
    breaker.recent.push(failure);
    if (breaker.recent.length > this.options.rateWindow) breaker.recent.shift();
  }

  private cooledDown(breaker: Breaker): boolean {
    return this.now().getTime() - breaker.openedAt >= this.options.cooldownMs;
  }
}
