import { describe, expect, it } from 'vitest';
import { type BreakerState, CircuitBreakers } from '../src/modules/kyc/circuit-breaker.js';
import { type AttemptRecord, Orchestrator } from '../src/modules/kyc/orchestrator.js';
import {
  type ProviderAdapter,
  ProviderError,
  type ProviderKind,
  type ProviderRequest,
  type ProviderSettings,
} from '../src/modules/kyc/providers/types.js';
import type { ProviderChoice } from '../src/modules/kyc/routing.js';
import type { ProviderOutcome } from '../src/modules/kyc/types.js';

/** What a fake provider does on one call: answer, fail, or wait until the call is aborted (or forever). */
type Step = { ref: string } | ProviderError | Error | 'hang' | 'ignore-abort';

const REQUEST: ProviderRequest = {
  sessionId: 'vrf_1',
  attemptId: 'vat_1',
  checks: [{ type: 'document' }],
  documents: [{ kind: 'document-front', contentType: 'image/jpeg', bytes: new Uint8Array([1, 2, 3]) }],
  fields: { firstName: 'Ada', lastName: 'Lovelace' },
};

const OUTCOME: ProviderOutcome = {
  status: 'approved',
  reasons: [],
  checks: { document: 'passed' },
  extracted: {},
  raw: {},
  occurredAt: new Date(0),
};

class FakeAdapter implements ProviderAdapter {
  readonly capabilities = { checks: ['document'] as const, documentTypes: null, countries: null };
  calls = 0;
  signals: AbortSignal[] = [];
  constructor(
    readonly kind: ProviderKind,
    private readonly steps: Step[],
  ) {}

  submit(request: ProviderRequest, signal: AbortSignal) {
    expect(request).toBe(REQUEST);
    return this.next(signal).then((ref) => ({ ref }));
  }

  fetchResult(ref: string, signal: AbortSignal) {
    return this.next(signal).then(() => ({ ...OUTCOME, raw: { ref } }));
  }

  parseWebhook(): never {
    throw new Error('not used');
  }

  private next(signal: AbortSignal): Promise<string> {
    const step = this.steps[Math.min(this.calls, this.steps.length - 1)];
    this.calls++;
    this.signals.push(signal);
    if (step === 'hang') {
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    }
    if (step === 'ignore-abort') return new Promise(() => {});
    if (step instanceof Error) return Promise.reject(step);
    return Promise.resolve(step?.ref ?? 'none');
  }
}

function choice(id: string, overrides: Partial<Omit<ProviderChoice, 'settings'>> = {}): ProviderChoice {
  return {
    settings: { id, kind: 'onfido', baseUrl: 'https://api.example', secrets: {}, options: {} },
    capabilities: { checks: ['document'], documentTypes: null, countries: null },
    enabled: true,
    priority: 1,
    costCents: 100,
    timeoutMs: 1_000,
    maxRetries: 0,
    ...overrides,
  };
}

/** An orchestrator on a fake clock: `sleep` records the delay and moves the clock instead of waiting. */
function harness(
  adapters: Record<string, FakeAdapter>,
  options: { random?: number; breakers?: ConstructorParameters<typeof CircuitBreakers>[0] } = {},
) {
  let clock = Date.parse('2025-01-01T00:00:00Z');
  const sleeps: number[] = [];
  const transitions: [string, BreakerState, BreakerState][] = [];
  const now = () => new Date(clock);
  const breakers = new CircuitBreakers(options.breakers, now, (id, from, to) =>
    transitions.push([id, from, to]),
  );
  const orchestrator = new Orchestrator({
    adapterFor: (settings: ProviderSettings) => {
      const adapter = adapters[settings.id];
      if (!adapter) throw new Error(`no adapter ${settings.id}`);
      return adapter;
    },
    breakers,
    now,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    random: () => options.random ?? 0.5,
  });
  return { orchestrator, breakers, sleeps, transitions, advance: (ms: number) => (clock += ms) };
}

const summary = (attempts: AttemptRecord[]) =>
  attempts.map((attempt) => [attempt.providerId, attempt.try, attempt.result, attempt.errorKind ?? null]);

describe('Orchestrator.dispatch', () => {
  it('submits to the first provider when it answers', async () => {
    const a = new FakeAdapter('onfido', [{ ref: 'applicant-1' }]);
    const { orchestrator } = harness({ vpc_a: a });
    const result = await orchestrator.dispatch([choice('vpc_a')], REQUEST);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.submission).toEqual({ ref: 'applicant-1' });
    expect(result.provider.settings.id).toBe('vpc_a');
    expect(result.attempts).toEqual([
      {
        providerId: 'vpc_a',
        kind: 'onfido',
        try: 1,
        startedAt: new Date('2025-01-01T00:00:00Z'),
        durationMs: 0,
        result: 'submitted',
      },
    ]);
  });

  it('falls back to the next provider after a 500, once retries are used up', async () => {
    const a = new FakeAdapter('onfido', [new ProviderError('transient', 'Onfido answered 500', 500)]);
    const b = new FakeAdapter('sumsub', [{ ref: 'sumsub-applicant' }]);
    const { orchestrator, sleeps } = harness({ vpc_a: a, vpc_b: b });
    const result = await orchestrator.dispatch(
      [choice('vpc_a', { maxRetries: 1 }), choice('vpc_b')],
      REQUEST,
    );
    expect(result.ok && result.submission.ref).toBe('sumsub-applicant');
    expect(summary(result.attempts)).toEqual([
      ['vpc_a', 1, 'error', 'transient'],
      ['vpc_a', 2, 'error', 'transient'],
      ['vpc_b', 1, 'submitted', null],
    ]);
    expect(result.attempts[0]).toMatchObject({ status: 500, message: 'Onfido answered 500' });
    expect(a.calls).toBe(2);
    expect(sleeps).toEqual([100]); // one retry: random 0.5 × 200 ms
  });

  it('times out a provider that does not answer (aborting its signal), then falls back', async () => {
    const a = new FakeAdapter('onfido', ['hang']);
    const b = new FakeAdapter('veriff', [{ ref: 'veriff-session' }]);
    const { orchestrator } = harness({ vpc_a: a, vpc_b: b });
    const started = performance.now();
    const result = await orchestrator.dispatch(
      [choice('vpc_a', { timeoutMs: 40 }), choice('vpc_b')],
      REQUEST,
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    expect(result.ok && result.submission.ref).toBe('veriff-session');
    expect(summary(result.attempts)).toEqual([
      ['vpc_a', 1, 'error', 'timeout'],
      ['vpc_b', 1, 'submitted', null],
    ]);
    expect(a.signals[0]?.aborted).toBe(true);
    expect(b.signals[0]?.aborted).toBe(false);
  });

  it('gives up at the deadline even when the adapter ignores the signal', async () => {
    const a = new FakeAdapter('onfido', ['ignore-abort']);
    const { orchestrator } = harness({ vpc_a: a });
    const result = await orchestrator.dispatch([choice('vpc_a', { timeoutMs: 30 })], REQUEST);
    expect(result).toMatchObject({ ok: false });
    expect(summary(result.attempts)).toEqual([['vpc_a', 1, 'error', 'timeout']]);
  });

  it("falls back at once, without retrying, on 'unsupported' and 'rejected'", async () => {
    const a = new FakeAdapter('onfido', [new ProviderError('unsupported', 'Document type not supported')]);
    const b = new FakeAdapter('sumsub', [new ProviderError('rejected', 'Sumsub answered 401', 401)]);
    const c = new FakeAdapter('persona', [{ ref: 'inq_1' }]);
    const { orchestrator, sleeps, breakers } = harness(
      { vpc_a: a, vpc_b: b, vpc_c: c },
      { breakers: { consecutiveFailures: 1 } },
    );
    const result = await orchestrator.dispatch(
      [choice('vpc_a', { maxRetries: 3 }), choice('vpc_b', { maxRetries: 3 }), choice('vpc_c')],
      REQUEST,
    );
    expect(summary(result.attempts)).toEqual([
      ['vpc_a', 1, 'error', 'unsupported'],
      ['vpc_b', 1, 'error', 'rejected'],
      ['vpc_c', 1, 'submitted', null],
    ]);
    expect([a.calls, b.calls, sleeps]).toEqual([1, 1, []]);
    // The providers answered: their breakers do not count these as failures.
    expect([breakers.state('vpc_a'), breakers.state('vpc_b')]).toEqual(['closed', 'closed']);
  });

  it('retries with exponential back-off and full jitter, capped', async () => {
    const failing = new FakeAdapter('onfido', [new ProviderError('transient', 'Onfido answered 503', 503)]);
    const { orchestrator, sleeps } = harness(
      { vpc_a: failing },
      { random: 0.999, breakers: { consecutiveFailures: 99 } },
    );
    const result = await orchestrator.dispatch([choice('vpc_a', { maxRetries: 7 })], REQUEST);
    expect(result.ok).toBe(false);
    expect(failing.calls).toBe(8);
    expect(result.attempts.map((attempt) => attempt.try)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Ceilings 200, 400, 800, 1600, 3200, then the 5 s cap; full jitter takes random × ceiling.
    expect(sleeps).toEqual([199, 399, 799, 1598, 3196, 4995, 4995]);

    const custom = new Orchestrator({
      adapterFor: () => new FakeAdapter('onfido', [new ProviderError('timeout', 'slow')]),
      breakers: new CircuitBreakers({ consecutiveFailures: 99 }),
      now: () => new Date(),
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
      backoff: { baseMs: 10, maxMs: 30 },
    });
    sleeps.length = 0;
    await custom.dispatch([choice('vpc_x', { maxRetries: 3 })], REQUEST);
    expect(sleeps).toEqual([5, 10, 15]);
  });

  it('counts unexpected exceptions as transient, without their message', async () => {
    const a = new FakeAdapter('onfido', [new TypeError('Cannot read name of Ada Lovelace')]);
    const b = new FakeAdapter('sumsub', [{ ref: 'ok' }]);
    const { orchestrator } = harness({ vpc_a: a, vpc_b: b });
    const result = await orchestrator.dispatch(
      [choice('vpc_a', { maxRetries: 1 }), choice('vpc_b')],
      REQUEST,
    );
    expect(result.attempts[0]).toMatchObject({
      errorKind: 'transient',
      message: 'Unexpected TypeError from the adapter',
    });
    expect(JSON.stringify(result.attempts)).not.toContain('Ada');
    expect(a.calls).toBe(2);
  });

  it('falls back when an adapter cannot be set up for a configuration', async () => {
    const b = new FakeAdapter('sumsub', [{ ref: 'ok' }]);
    const orchestrator = new Orchestrator({
      adapterFor: (settings) => {
        if (settings.id === 'vpc_b') return b;
        throw new RangeError('sumsub: levelName is required');
      },
      breakers: new CircuitBreakers(),
      now: () => new Date(0),
      sleep: async () => {},
      random: () => 0,
    });
    const result = await orchestrator.dispatch(
      [choice('vpc_a', { maxRetries: 2 }), choice('vpc_b')],
      REQUEST,
    );
    expect(result.ok).toBe(true);
    expect(result.attempts[0]).toEqual({
      providerId: 'vpc_a',
      kind: 'onfido',
      try: 1,
      startedAt: new Date(0),
      durationMs: 0,
      result: 'error',
      errorKind: 'rejected',
      message: 'The onfido adapter could not be set up (RangeError)',
    });
  });

  it('answers ok:false with every attempt recorded when all providers fail, and for no candidates', async () => {
    const a = new FakeAdapter('onfido', [new ProviderError('transient', 'down')]);
    const b = new FakeAdapter('veriff', [new ProviderError('rejected', 'bad request', 400)]);
    const c = new FakeAdapter('persona', ['hang']);
    const { orchestrator } = harness({ vpc_a: a, vpc_b: b, vpc_c: c });
    const result = await orchestrator.dispatch(
      [
        choice('vpc_a', { maxRetries: 2 }),
        choice('vpc_b', { maxRetries: 2 }),
        choice('vpc_c', { timeoutMs: 20 }),
      ],
      REQUEST,
    );
    expect(result.ok).toBe(false);
    expect(summary(result.attempts)).toEqual([
      ['vpc_a', 1, 'error', 'transient'],
      ['vpc_a', 2, 'error', 'transient'],
      ['vpc_a', 3, 'error', 'transient'],
      ['vpc_b', 1, 'error', 'rejected'],
      ['vpc_c', 1, 'error', 'timeout'],
    ]);
    expect(await orchestrator.dispatch([], REQUEST)).toEqual({ ok: false, attempts: [] });
  });

  it('opens the breaker after consecutive failures and then skips the provider without calling it', async () => {
    const a = new FakeAdapter('onfido', [new ProviderError('transient', 'down', 502)]);
    const b = new FakeAdapter('sumsub', [{ ref: 'fallback' }]);
    const { orchestrator, breakers, transitions, sleeps } = harness(
      { vpc_a: a, vpc_b: b },
      { breakers: { consecutiveFailures: 3, cooldownMs: 30_000 } },
    );
    const candidates = [choice('vpc_a', { maxRetries: 5 }), choice('vpc_b')];
    const first = await orchestrator.dispatch(candidates, REQUEST);
    // Three failures open the breaker; the fourth try is refused without a call or a wait before it.
    expect(summary(first.attempts)).toEqual([
      ['vpc_a', 1, 'error', 'transient'],
      ['vpc_a', 2, 'error', 'transient'],
      ['vpc_a', 3, 'error', 'transient'],
      ['vpc_a', 4, 'skipped_open_circuit', null],
      ['vpc_b', 1, 'submitted', null],
    ]);
    expect(sleeps).toHaveLength(2);
    expect(a.calls).toBe(3);
    expect(breakers.state('vpc_a')).toBe('open');
    expect(transitions).toEqual([['vpc_a', 'closed', 'open']]);

    const second = await orchestrator.dispatch(candidates, REQUEST);
    expect(summary(second.attempts)).toEqual([
      ['vpc_a', 1, 'skipped_open_circuit', null],
      ['vpc_b', 1, 'submitted', null],
    ]);
    expect(a.calls).toBe(3);
  });

  it('lets one trial call through after the cooldown: failure reopens, success closes', async () => {
    const steps: Step[] = [new ProviderError('timeout', 'slow')];
    const a = new FakeAdapter('onfido', steps);
    const b = new FakeAdapter('sumsub', [{ ref: 'fallback' }]);
    const { orchestrator, breakers, transitions, advance } = harness(
      { vpc_a: a, vpc_b: b },
      { breakers: { consecutiveFailures: 2, cooldownMs: 10_000 } },
    );
    const candidates = [choice('vpc_a', { maxRetries: 1 }), choice('vpc_b')];
    await orchestrator.dispatch(candidates, REQUEST);
    expect(breakers.state('vpc_a')).toBe('open');

    advance(9_999);
    expect(breakers.state('vpc_a')).toBe('open');
    advance(1);
    expect(breakers.state('vpc_a')).toBe('half_open');
    // The trial fails: open again for a full cooldown, no retry of the trial.
    const trial = await orchestrator.dispatch(candidates, REQUEST);
    expect(summary(trial.attempts)).toEqual([
      ['vpc_a', 1, 'error', 'timeout'],
      ['vpc_a', 2, 'skipped_open_circuit', null],
      ['vpc_b', 1, 'submitted', null],
    ]);
    expect(a.calls).toBe(3);
    expect(breakers.state('vpc_a')).toBe('open');

    advance(10_000);
    steps[0] = { ref: 'recovered' };
    const recovered = await orchestrator.dispatch(candidates, REQUEST);
    expect(recovered.ok && recovered.submission.ref).toBe('recovered');
    expect(breakers.state('vpc_a')).toBe('closed');
    expect(transitions).toEqual([
      ['vpc_a', 'closed', 'open'],
      ['vpc_a', 'open', 'half_open'],
      ['vpc_a', 'half_open', 'open'],
      ['vpc_a', 'open', 'half_open'],
      ['vpc_a', 'half_open', 'closed'],
    ]);
  });
});

describe('Orchestrator.fetchResult', () => {
  it('retries transient errors and returns the outcome', async () => {
    const a = new FakeAdapter('onfido', [new ProviderError('transient', 'down'), { ref: 'x' }]);
    const { orchestrator, sleeps } = harness({ vpc_a: a });
    const outcome = await orchestrator.fetchResult(choice('vpc_a', { maxRetries: 2 }), 'check-1');
    expect(outcome).toMatchObject({ status: 'approved', raw: { ref: 'check-1' } });
    expect(a.calls).toBe(2);
    expect(sleeps).toEqual([100]);
  });

  it('throws the last ProviderError, and refuses at once while the circuit is open', async () => {
    const a = new FakeAdapter('onfido', [new ProviderError('rejected', 'Onfido answered 404', 404)]);
    const { orchestrator } = harness({ vpc_a: a });
    await expect(
      orchestrator.fetchResult(choice('vpc_a', { maxRetries: 2 }), 'missing'),
    ).rejects.toMatchObject({
      name: 'ProviderError',
      kind: 'rejected',
      status: 404,
    });
    expect(a.calls).toBe(1);

    const down = new FakeAdapter('onfido', ['hang']);
    const { orchestrator: other, breakers } = harness(
      { vpc_a: down },
      { breakers: { consecutiveFailures: 1 } },
    );
    await expect(other.fetchResult(choice('vpc_a', { timeoutMs: 20 }), 'r')).rejects.toMatchObject({
      kind: 'timeout',
    });
    expect(breakers.state('vpc_a')).toBe('open');
    await expect(other.fetchResult(choice('vpc_a'), 'r')).rejects.toMatchObject({
      kind: 'transient',
      message: 'The circuit breaker is open',
    });
    expect(down.calls).toBe(1);
  });
});

describe('CircuitBreakers', () => {
  function breakersOn(options: ConstructorParameters<typeof CircuitBreakers>[0]) {
    let clock = 0;
    const breakers = new CircuitBreakers(options, () => new Date(clock));
    return { breakers, advance: (ms: number) => (clock += ms) };
  }

  it('opens on a failure rate over the recent calls even without a long failure streak', () => {
    const { breakers } = breakersOn({
      consecutiveFailures: 5,
      failureRate: 0.5,
      rateWindow: 10,
      rateMinimumCalls: 6,
    });
    // success, failure, alternating: never two failures in a row.
    for (let call = 0; call < 5; call++) {
      expect(breakers.allow('p')).toBe(true);
      if (call % 2 === 0) breakers.succeeded('p');
      else breakers.failed('p');
    }
    expect(breakers.state('p')).toBe('closed'); // 2 of 5: below the minimum number of calls
    breakers.failed('p'); // 3 of 6 = 0.5
    expect(breakers.state('p')).toBe('open');
    expect(breakers.allow('p')).toBe(false);
  });

  it('computes the rate over the last calls only', () => {
    const { breakers } = breakersOn({
      consecutiveFailures: 3,
      failureRate: 0.4,
      rateWindow: 4,
      rateMinimumCalls: 4,
    });
    for (const failure of [true, false, true, false, false, false, true]) {
      if (failure) breakers.failed('p');
      else breakers.succeeded('p');
    }
    // 3 failures in 7 calls would be over 0.4, but the window holds the last four: one failure.
    expect(breakers.state('p')).toBe('closed');
    breakers.failed('p'); // window s,s,f,f: 0.5, with a streak of only two
    expect(breakers.state('p')).toBe('open');
  });

  it('lets only one trial through while half open, and another if its result never comes', () => {
    const { breakers, advance } = breakersOn({ consecutiveFailures: 1, cooldownMs: 1_000 });
    breakers.failed('p');
    advance(1_000);
    expect(breakers.allow('p')).toBe(true);
    expect(breakers.state('p')).toBe('half_open');
    expect(breakers.allow('p')).toBe(false);
    advance(999);
    expect(breakers.allow('p')).toBe(false);
    advance(1);
    expect(breakers.allow('p')).toBe(true);
    // Late answers while open are ignored: only the trial decides.
    breakers.failed('p');
    expect(breakers.state('p')).toBe('open');
    breakers.succeeded('p');
    expect(breakers.state('p')).toBe('open');
  });

  it('keeps providers apart and forgets one on reset', () => {
    const transitions: string[] = [];
    const breakers = new CircuitBreakers(
      { consecutiveFailures: 1 },
      () => new Date(0),
      (id, from, to) => transitions.push(`${id}:${from}>${to}`),
    );
    breakers.failed('a');
    expect([breakers.state('a'), breakers.state('b')]).toEqual(['open', 'closed']);
    breakers.reset('a');
    breakers.reset('never-seen');
    expect(breakers.state('a')).toBe('closed');
    expect(breakers.allow('a')).toBe(true);
    expect(transitions).toEqual(['a:closed>open', 'a:open>closed']);
  });
});
