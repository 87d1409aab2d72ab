/**
 * When a delivery is tried again, and when it is given up: Svix's schedule (docs.svix.com/retries) with
 * the platform's rules (kyc-providers-and-webhooks reference §4.1, §4.2). Pure: the worker supplies the
 * clock and the random source.
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** Delay before each attempt, from the previous failure: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  0,
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
];

export interface RetryPolicy {
  /** Delay before attempt n+1 (index n) after n failures; its length is the number of attempts. */
  retryScheduleMs: readonly number[];
  /** ±fraction of each delay drawn at random (0.2: ±20 %), so failed receivers are not hit in waves. */
  jitter: number;
  /** The longest wait a `Retry-After` may impose. */
  maxRetryAfterMs: number;
  /** 429 answers a delivery may get without using up attempts; later ones count as failures. */
  maxThrottles: number;
  random: () => number;
}

/** What one attempt came back with. */
export interface AttemptOutcome {
  /** The HTTP status; null when no response came (refused, timed out, not a public address). */
  statusCode: number | null;
  /** The `Retry-After` header as sent, if any. */
  retryAfter: string | null;
  /** The receiver answered `webhook-delivery: abort-message`: stop retrying this message. */
  abort: boolean;
}

/** Where a delivery stands after an attempt. */
export interface DeliveryState {
  failures: number;
  throttles: number;
}

export type Verdict =
  | { kind: 'succeeded' }
  /** The receiver answered 410 Gone: the delivery fails and its endpoint is disabled. */
  | { kind: 'gone' }
  | { kind: 'failed'; failures: number; throttles: number }
  | { kind: 'retry'; failures: number; throttles: number; nextAttemptAt: number };

/** Statuses whose `Retry-After` is honoured. */
const THROTTLING = new Set([429, 502, 504]);

export function decide(
  outcome: AttemptOutcome,
  state: DeliveryState,
  now: number,
  policy: RetryPolicy,
): Verdict {
  const { statusCode } = outcome;
  if (statusCode !== null && statusCode >= 200 && statusCode < 300) return { kind: 'succeeded' };
  if (statusCode === 410) return { kind: 'gone' };
  if (outcome.abort) return { kind: 'failed', failures: state.failures + 1, throttles: state.throttles };

  const retryAfterMs =
    statusCode !== null && THROTTLING.has(statusCode) ? retryAfterDelay(outcome.retryAfter, now) : null;
  const schedule = policy.retryScheduleMs;
  if (statusCode === 429 && state.throttles < policy.maxThrottles) {
    // Throttled, not failed: the attempt is not used up. Wait at least the first retry delay.
    const base = schedule[Math.max(state.failures, 1)] ?? schedule.at(-1) ?? 0;
    return {
      kind: 'retry',
      failures: state.failures,
      throttles: state.throttles + 1,
      nextAttemptAt: now + waitMs(base, retryAfterMs, policy),
    };
  }
  const failures = state.failures + 1;
  const base = schedule[failures];
  if (base === undefined) return { kind: 'failed', failures, throttles: state.throttles };
  return {
    kind: 'retry',
    failures,
    throttles: state.throttles,
    nextAttemptAt: now + waitMs(base, retryAfterMs, policy),
  };
}

/** The scheduled delay with jitter, or the receiver's `Retry-After` if later (capped). */
function waitMs(base: number, retryAfterMs: number | null, policy: RetryPolicy): number {
  const scheduled = jittered(base, policy.jitter, policy.random);
  if (retryAfterMs === null) return scheduled;
  return Math.max(scheduled, Math.min(retryAfterMs, policy.maxRetryAfterMs));
}

export function jittered(delayMs: number, jitter: number, random: () => number): number {
  return Math.max(0, Math.round(delayMs * (1 + jitter * (2 * random() - 1))));
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date; null when absent or unreadable. */
export function retryAfterDelay(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * SECOND;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
