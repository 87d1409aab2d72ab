/**
 * Sends a verification attempt to the providers routing chose, one after the other: each call under the
 * provider's timeout, transient errors and timeouts retried with exponential back-off and full jitter, then
 * the next provider; providers whose circuit is open are skipped without a call.
 */
import type { CircuitBreakers } from './circuit-breaker.js';
import {
  type ProviderAdapter,
  ProviderError,
  type ProviderErrorKind,
  type ProviderKind,
  type ProviderRequest,
  type ProviderSettings,
  type ProviderSubmission,
} from './providers/types.js';
import type { ProviderChoice } from './routing.js';
import type { ProviderOutcome } from './types.js';

/** One call to one provider (or one skipped because its circuit was open). Holds no personal data. */
export interface AttemptRecord {
  providerId: string;
  kind: ProviderKind;
  /** 1 for the first call to this provider, 2 for its first retry… */
  try: number;
  startedAt: Date;
  durationMs: number;
  result: 'submitted' | 'error' | 'skipped_open_circuit';
  errorKind?: ProviderErrorKind;
  status?: number;
  message?: string;
}

export type DispatchResult =
  | { ok: true; provider: ProviderChoice; submission: ProviderSubmission; attempts: AttemptRecord[] }
  /** Every provider failed, or there was none: the session goes to 'error'. */
  | { ok: false; attempts: AttemptRecord[] };

export interface OrchestratorDeps {
  adapterFor(settings: ProviderSettings): ProviderAdapter;
  breakers: CircuitBreakers;
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** In [0, 1), for the back-off jitter. */
  random(): number;
  /** Default: 200 ms doubling per retry, capped at 5 s, full jitter. */
  backoff?: { baseMs: number; maxMs: number };
}

const DEFAULT_BACKOFF = { baseMs: 200, maxMs: 5_000 };
/** Attempt records are stored and shown to the project; adapters' messages are cut to this. */
const MAX_MESSAGE_LENGTH = 300;

/** Errors that say the provider is unwell (they count against its circuit breaker and are retried). */
const HEALTH_FAILURES: ReadonlySet<ProviderErrorKind> = new Set(['transient', 'timeout']);

type CallResult<T> = { ok: true; value: T } | { ok: false; error: ProviderError };

export class Orchestrator {
  private readonly backoff: { baseMs: number; maxMs: number };

  constructor(private readonly deps: OrchestratorDeps) {
    this.backoff = deps.backoff ?? DEFAULT_BACKOFF;
  }

  /**
   * Tries the candidates in order until one accepts the attempt. Transient errors and timeouts are retried
   * up to the provider's `maxRetries`, then the next provider is tried; 'unsupported' and 'rejected' move
   * on at once; a provider whose circuit is open is skipped. Never throws for provider errors.
   *
   * A timed-out submit may still have reached the provider; the retry then creates a second applicant there.
   * Adapters pass the session and attempt ids as the provider's external reference, so such duplicates can
   * be matched; the one whose ref is returned here is the one the platform follows.
   */
  async dispatch(candidates: ProviderChoice[], request: ProviderRequest): Promise<DispatchResult> {
    const attempts: AttemptRecord[] = [];
    for (const choice of candidates) {
      let adapter: ProviderAdapter;
      try {
        adapter = this.deps.adapterFor(choice.settings);
      } catch (error) {
        // A configuration the adapter cannot work with (e.g. a required option missing): the next provider.
        attempts.push({
          providerId: choice.settings.id,
          kind: choice.settings.kind,
          try: 1,
          startedAt: this.deps.now(),
          durationMs: 0,
          result: 'error',
          errorKind: 'rejected',
          message: `The ${choice.settings.kind} adapter could not be set up (${errorName(error)})`,
        });
        continue;
      }
      const result = await this.withRetries(choice, attempts, (signal) => adapter.submit(request, signal));
      if (result.ok) return { ok: true, provider: choice, submission: result.value, attempts };
    }
    return { ok: false, attempts };
  }

  /** One provider's current decision on an attempt, under the same rules; throws the last ProviderError. */
  async fetchResult(choice: ProviderChoice, ref: string): Promise<ProviderOutcome> {
    const adapter = this.deps.adapterFor(choice.settings);
    const result = await this.withRetries(choice, [], (signal) => adapter.fetchResult(ref, signal));
    if (result.ok) return result.value;
    throw result.error;
  }

  private async withRetries<T>(
    choice: ProviderChoice,
    attempts: AttemptRecord[],
    call: (signal: AbortSignal) => Promise<T>,
  ): Promise<CallResult<T>> {
    const id = choice.settings.id;
    const base = { providerId: id, kind: choice.settings.kind };
    let last: ProviderError | undefined;
    for (let attempt = 1; attempt <= choice.maxRetries + 1; attempt++) {
      // No waiting for a retry the breaker (opened by the failures so far) would refuse anyway.
      if (attempt > 1 && this.deps.breakers.state(id) !== 'open') {
        await this.deps.sleep(this.delayBefore(attempt - 1));
      }
      const startedAt = this.deps.now();
      if (!this.deps.breakers.allow(id)) {
        attempts.push({ ...base, try: attempt, startedAt, durationMs: 0, result: 'skipped_open_circuit' });
        return { ok: false, error: new ProviderError('transient', 'The circuit breaker is open') };
      }
      const result = await callWithTimeout(choice.timeoutMs, call);
      const durationMs = Math.max(0, this.deps.now().getTime() - startedAt.getTime());
      if (result.ok) {
        this.deps.breakers.succeeded(id);
        attempts.push({ ...base, try: attempt, startedAt, durationMs, result: 'submitted' });
        return result;
      }
      last = result.error;
      const failure: AttemptRecord = {
        ...base,
        try: attempt,
        startedAt,
        durationMs,
        result: 'error',
        errorKind: last.kind,
        message: last.message.slice(0, MAX_MESSAGE_LENGTH),
      };
      if (last.status !== undefined) failure.status = last.status;
      attempts.push(failure);
      if (!HEALTH_FAILURES.has(last.kind)) {
        // The provider answered; the request is what it would not take. Its health is fine.
        this.deps.breakers.succeeded(id);
        return { ok: false, error: last };
      }
      this.deps.breakers.failed(id);
    }
    return { ok: false, error: last ?? new ProviderError('transient', 'No call was made') };
  }

  /** Full jitter: a random delay up to base · 2^(retry-1), capped. */
  private delayBefore(retry: number): number {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** (retry - 1));
    return Math.floor(this.deps.random() * ceiling);
  }
}

/**
 * Runs one adapter call under an AbortSignal.timeout, and gives up at the deadline even if the adapter
 * ignores the signal. Whatever the adapter throws becomes a ProviderError: anything that is not one is
 * 'transient' with only its class name as message (its text could carry request data).
 */
async function callWithTimeout<T>(
  timeoutMs: number,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<CallResult<T>> {
  const signal = AbortSignal.timeout(timeoutMs);
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    onAbort = () => reject(new ProviderError('timeout', `No answer within ${timeoutMs} ms`));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return { ok: true, value: await Promise.race([call(signal), deadline]) };
  } catch (error) {
    if (signal.aborted)
      return { ok: false, error: new ProviderError('timeout', `No answer within ${timeoutMs} ms`) };
    if (error instanceof ProviderError) return { ok: false, error };
    return {
      ok: false,
      error: new ProviderError('transient', `Unexpected ${errorName(error)} from the adapter`),
    };
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** An error's class name only: its message could carry request data. */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
