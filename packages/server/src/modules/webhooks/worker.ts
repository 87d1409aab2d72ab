import { randomBytes } from 'node:crypto';
import type { RateLimitConfig } from '../../config.js';
import type { RateLimiter } from '../../http/rate-limit.js';
import { GroupCommit } from '../../store/group-commit.js';
import type { EndpointKeys } from './endpoint-keys.js';
import type { DueDelivery, WebhookRepo } from './repo.js';
import { DEFAULT_RETRY_SCHEDULE_MS, decide, HOUR, type Verdict } from './schedule.js';
import { type AttemptResult, sendDelivery } from './sender.js';
import { type SigningKey, signatureHeader } from './signing.js';

const DAY = 24 * HOUR;

export interface WebhookWorkerOptions {
  /** Delay before attempt n+1 after n failures (index 0: the first attempt); its length is the number of attempts. */
  retryScheduleMs: readonly number[];
  /** ±fraction of random jitter on each delay (0.2 = ±20 %). */
  jitter: number;
  /** The longest an attempt may take, connection included; longer is a failure. */
  timeoutMs: number;
  /** How often the worker looks for due deliveries when nothing wakes it (retries, other replicas' events). */
  pollIntervalMs: number;
  /** Deliveries in flight at once in this process. */
  maxInFlight: number;
  /** Cap on a receiver's `Retry-After`. */
  maxRetryAfterMs: number;
  /** 429 answers per delivery that do not use up an attempt. */
  maxThrottles: number;
  /** An endpoint with no successful delivery for this long after a failure is disabled. */
  disableAfterMs: number;
  /** Deliveries per second to one project's endpoints (a token bucket; shared across replicas with Redis). */
  projectRateLimit: RateLimitConfig;
  /** How long finished deliveries, their attempts and events are kept. */
  retentionMs: number;
  /** How often deliveries past retention are deleted. */
  purgeIntervalMs: number;
  /** How long closing waits for deliveries in flight before cutting them off (they are sent again later). */
  closeTimeoutMs: number;
}

export const DEFAULT_WORKER_OPTIONS: WebhookWorkerOptions = {
  retryScheduleMs: DEFAULT_RETRY_SCHEDULE_MS,
  jitter: 0.2,
  timeoutMs: 15_000,
  pollIntervalMs: 1_000,
  maxInFlight: 64,
  maxRetryAfterMs: 10 * HOUR,
  maxThrottles: 20,
  disableAfterMs: 5 * DAY,
  projectRateLimit: { perSecond: 500, burst: 1_000 },
  retentionMs: 30 * DAY,
  purgeIntervalMs: HOUR,
  closeTimeoutMs: 5_000,
};

/** Endpoint ids per head query: keeps the statement's parameter list short. */
const TARGET_CHUNK = 500;
const PURGE_BATCH = 5_000;

const UNSENT: AttemptResult = {
  statusCode: null,
  retryAfter: null,
  abort: false,
  durationMs: 0,
  error: null,
  interrupted: false,
};

interface Finished {
  delivery: DueDelivery;
  /** When the attempt started: its time in the log, and the start of a failing period. */
  startedAt: number;
  result: AttemptResult;
  verdict: Verdict;
}

/**
 * Sends due deliveries. Each endpoint has a queue (its unfinished deliveries in id order) and the worker
 * only ever sends its head, so an endpoint receives events one at a time, in order, each exactly once
 * unless an answer is lost; while the head waits for a retry the rest of that queue waits behind it, and
 * other endpoints are unaffected (each has its own head). Deliveries are claimed with a lease in the
 * database, so several replicas share the work without sending one delivery twice at the same time.
 *
 * The worker is woken three ways: `request(endpointIds)` after events were enqueued or a delivery
 * finished (only those endpoints are looked at), a timer every `pollIntervalMs` (all endpoints: retries
 * that came due, events of other replicas, leases of a replica that died), and a timer when a rate limit
 * held deliveries back.
 */
export class DeliveryWorker {
  /** Identifies this process's leases. */
  private readonly owner = randomBytes(12).toString('hex');
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Finished deliveries whose endpoint's next delivery was claimed along with their result. */
  private readonly followedUp = new Set<string>();
  private readonly shutdown = new AbortController();
  private readonly finisher: GroupCommit<Finished>;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  /** Endpoints to look at in the next round, or all of them. */
  private wanted: Set<string> | 'all' | null = null;
  private running: Promise<void> | null = null;
  private purging: Promise<void> | null = null;
  /** Endpoints held back by a rate limit, looked at again when `wakeAt` comes. */
  private readonly heldBack = new Set<string>();
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeAt = 0;

  constructor(
    private readonly repo: WebhookRepo,
    private readonly keys: EndpointKeys,
    private readonly fetch: typeof globalThis.fetch,
    private readonly limiter: RateLimiter,
    private readonly options: WebhookWorkerOptions,
    private readonly onError: (error: unknown, context: string) => void,
  ) {
    this.finisher = new GroupCommit((items) => this.finishAll(items), 256);
  }

  start(): void {
    this.timers.push(setInterval(() => this.request('all'), this.options.pollIntervalMs).unref());
    this.timers.push(
      setInterval(() => {
        this.purging ??= this.purge().finally(() => {
          this.purging = null;
        });
      }, this.options.purgeIntervalMs).unref(),
    );
    this.request('all');
  }

  /**
   * Looks for due deliveries of these endpoints (or all) soon; with none, only resumes what waited for a
   * free slot.
   */
  request(targets: Iterable<string> | 'all'): void {
    if (this.stopped) return;
    if (targets === 'all' || this.wanted === 'all') this.wanted = 'all';
    else {
      const wanted = this.wanted ?? new Set<string>();
      for (const id of targets) wanted.add(id);
      if (wanted.size > 0) this.wanted = wanted;
    }
    if (this.wanted !== null && !this.running) this.running = this.rounds();
  }

  /** Stops looking for work, lets deliveries in flight finish (cut off after closeTimeoutMs), records them. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    await Promise.all([this.running, this.purging]);
    const cutOff = setTimeout(() => this.shutdown.abort(), this.options.closeTimeoutMs);
    await Promise.allSettled([...this.inFlight.values()]);
    clearTimeout(cutOff);
  }

  private async rounds(): Promise<void> {
    // Requests made in this turn of the event loop (one per enqueued event, say) make one round.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.wanted !== null && !this.stopped) {
        const capacity = this.options.maxInFlight - this.inFlight.size;
        // Full: a delivery that finishes asks for another round, and `wanted` waits until then.
        if (capacity <= 0) break;
        const targets = this.wanted;
        this.wanted = null;
        try {
          const more = await this.round(targets, capacity);
          if (more) this.request(targets === 'all' ? 'all' : targets);
        } catch (error) {
          this.onError(error, 'webhooks: could not look for due deliveries');
        }
      }
    } finally {
      // In the same synchronous step as the loop's last check: a later request starts a new run.
      this.running = null;
    }
  }

  /** Claims and sends up to `capacity` due heads; true when there may be more. */
  private async round(targets: Set<string> | 'all', capacity: number): Promise<boolean> {
    const { claimed, more } = await this.claimDue(this.repo, targets, capacity);
    for (const delivery of claimed) this.dispatch(delivery);
    return more;
  }

  /**
   * Claims up to `capacity` due heads of these endpoints (or all) that the rate limits admit. Returns them,
   * and whether there may be more: only when all of the capacity was used (then the next round waits for
   * a free slot). Heads held back by a rate limit come back when it allows, not in a loop.
   */
  private async claimDue(
    repo: WebhookRepo,
    targets: Set<string> | 'all',
    capacity: number,
  ): Promise<{ claimed: DueDelivery[]; more: boolean }> {
    const now = Date.now();
    let candidates: DueDelivery[];
    if (targets === 'all') candidates = await repo.dueHeads(now, capacity);
    else {
      candidates = [];
      const ids = [...targets];
      for (let i = 0; i < ids.length && candidates.length < capacity; i += TARGET_CHUNK) {
        const chunk = ids.slice(i, i + TARGET_CHUNK);
        candidates.push(...(await repo.dueHeads(now, capacity - candidates.length, chunk)));
      }
    }
    const admitted: DueDelivery[] = [];
    for (const candidate of candidates) {
      if (!this.inFlight.has(candidate.id) && (await this.admit(candidate, now))) admitted.push(candidate);
    }
    const leaseUntil = now + 2 * this.options.timeoutMs + 30_000;
    const ids = admitted.map((delivery) => delivery.id);
    const claimed = new Set(await repo.claim(ids, this.owner, leaseUntil, now));
    const taken = admitted.filter((delivery) => claimed.has(delivery.id));
    return { claimed: taken, more: taken.length >= capacity };
  }

  /** Takes a token from the endpoint's and the project's buckets; a delivery without one waits. */
  private async admit(delivery: DueDelivery, now: number): Promise<boolean> {
    const buckets: [string, RateLimitConfig][] = [];
    if (delivery.rate_limit !== null) {
      const perSecond = delivery.rate_limit;
      buckets.push([`webhooks:endpoint:${delivery.endpoint_id}`, { perSecond, burst: perSecond }]);
    }
    buckets.push([`webhooks:project:${delivery.project_id}`, this.options.projectRateLimit]);
    for (const [bucket, limit] of buckets) {
      const taken = await this.limiter.take(bucket, limit);
      if (!taken.allowed) {
        this.holdBack(delivery.endpoint_id, now + taken.retryAfterSeconds * 1000);
        return false;
      }
    }
    return true;
  }

  private holdBack(endpointId: string, until: number): void {
    this.heldBack.add(endpointId);
    if (this.wakeTimer && this.wakeAt <= until) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = until;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = null;
        const endpoints = [...this.heldBack];
        this.heldBack.clear();
        this.request(endpoints);
      },
      Math.max(0, until - Date.now()),
    ).unref();
  }

  private dispatch(delivery: DueDelivery): void {
    const task = this.deliver(delivery)
      .catch((error) => this.onError(error, 'webhooks: could not record a delivery attempt'))
      .finally(() => {
        this.inFlight.delete(delivery.id);
        // Unless its successor was claimed with its result, the endpoint's next delivery may be due now;
        // either way a slot is free for deliveries that waited for one.
        this.request(this.followedUp.delete(delivery.id) ? [] : [delivery.endpoint_id]);
      });
    this.inFlight.set(delivery.id, task);
  }

  private async deliver(delivery: DueDelivery): Promise<void> {
    const startedAt = Date.now();
    const timestamp = Math.floor(startedAt / 1000);
    let keys: SigningKey[];
    try {
      keys = await this.keys.signingKeys({ ...delivery, id: delivery.endpoint_id }, startedAt);
    } catch (error) {
      // A key that does not open (the master key changed): the attempt fails like any other, and is logged.
      this.onError(error, 'webhooks: could not open an endpoint signing key');
      const result = { ...UNSENT, error: 'the endpoint signing key could not be opened' };
      return this.finish(delivery, startedAt, result);
    }
    const result = await sendDelivery(
      this.fetch,
      {
        url: delivery.url,
        id: delivery.event_id,
        timestamp,
        signature: signatureHeader(keys, delivery.event_id, timestamp, delivery.body),
        body: delivery.body,
      },
      this.options.timeoutMs,
      this.shutdown.signal,
    );
    if (result.interrupted) {
      await this.repo.release(delivery.id, this.owner, Date.now());
      return;
    }
    await this.finish(delivery, startedAt, result);
  }

  private async finish(delivery: DueDelivery, startedAt: number, result: AttemptResult): Promise<void> {
    const verdict = decide(result, delivery, Date.now(), {
      retryScheduleMs: this.options.retryScheduleMs,
      jitter: this.options.jitter,
      maxRetryAfterMs: this.options.maxRetryAfterMs,
      maxThrottles: this.options.maxThrottles,
      random: Math.random,
    });
    await this.finisher.add({ delivery, startedAt, result, verdict });
  }

  /**
   * Writes the attempts that finished meanwhile in one transaction, and in the same transaction claims the
   * next delivery of each endpoint whose queue moved on, so an endpoint's deliveries follow each other
   * with one commit apiece. Items are written in endpoint id order, the order in which enqueueing
   * transactions share-lock endpoints on PostgreSQL (repo.enabledEndpoints), so the two never wait for
   * each other in a cycle.
   */
  private async finishAll(items: Finished[]): Promise<void> {
    const ordered = [...items].sort((x, y) => compare(x.delivery.endpoint_id, y.delivery.endpoint_id));
    let next: DueDelivery[] = [];
    const movedOn = new Map<string, string>();
    await this.repo.transaction(async (repo) => {
      for (const item of ordered) {
        if (await this.record(repo, item)) movedOn.set(item.delivery.endpoint_id, item.delivery.id);
      }
      if (movedOn.size === 0 || this.stopped) return;
      // The finishing deliveries still count as in flight until this commits.
      const capacity = this.options.maxInFlight - this.inFlight.size + items.length;
      if (capacity > 0) next = (await this.claimDue(repo, new Set(movedOn.keys()), capacity)).claimed;
    });
    for (const delivery of next) {
      this.followedUp.add(movedOn.get(delivery.endpoint_id) as string);
      this.dispatch(delivery);
    }
  }

  /**
   * Writes one attempt: the log row, the delivery's new state, and what it means for the endpoint.
   * Returns whether the endpoint's queue moved on (the delivery is finished and the endpoint enabled).
   */
  private async record(
    repo: WebhookRepo,
    { delivery, startedAt, result, verdict }: Finished,
  ): Promise<boolean> {
    const now = Date.now();
    const attempt = delivery.attempt_count + 1;
    const state =
      verdict.kind === 'succeeded'
        ? { status: 'succeeded', failures: delivery.failures, throttles: delivery.throttles, next: null }
        : verdict.kind === 'gone'
          ? { status: 'failed', failures: delivery.failures + 1, throttles: delivery.throttles, next: null }
          : verdict.kind === 'failed'
            ? { status: 'failed', failures: verdict.failures, throttles: verdict.throttles, next: null }
            : {
                status: 'pending',
                failures: verdict.failures,
                throttles: verdict.throttles,
                next: verdict.nextAttemptAt,
              };
    const mine = await repo.finishAttempt(delivery.id, this.owner, {
      status: state.status,
      attempt_count: attempt,
      failures: state.failures,
      throttles: state.throttles,
      next_attempt_at: state.next,
      last_attempt_at: startedAt,
      last_status_code: result.statusCode,
      last_error: result.error,
      updated_at: now,
    });
    // Another replica took the delivery over after our lease ran out, or the endpoint was deleted.
    if (!mine) return false;
    await repo.insertAttempt({
      delivery_id: delivery.id,
      number: attempt,
      project_id: delivery.project_id,
      endpoint_id: delivery.endpoint_id,
      at: startedAt,
      status_code: result.statusCode,
      duration_ms: result.durationMs,
      error: result.error,
      next_attempt_at: state.next,
    });
    if (verdict.kind === 'succeeded') {
      // Only an endpoint that was failing has anything to clear (as read when the delivery was claimed).
      if (delivery.failing_since !== null) await repo.markHealthy(delivery.endpoint_id);
      return true;
    }
    if (verdict.kind === 'gone') {
      await repo.disableEndpoint(delivery.endpoint_id, 'gone', now);
      return false;
    }
    const failing = await repo.markFailing(delivery.endpoint_id, startedAt);
    if (!failing) return false;
    if (failing.enabled && startedAt - failing.failingSince >= this.options.disableAfterMs) {
      await repo.disableEndpoint(delivery.endpoint_id, 'failing', now);
      return false;
    }
    if (!failing.enabled && state.status === 'pending') {
      // Disabled while this attempt was under way: its retry is canceled like the rest of the queue.
      await repo.cancelPending(delivery.endpoint_id, now);
    }
    return failing.enabled && state.status === 'failed';
  }

  private async purge(): Promise<void> {
    const cutoff = Date.now() - this.options.retentionMs;
    try {
      let deleted: number;
      do deleted = await this.repo.purgeDeliveries(cutoff, PURGE_BATCH);
      while (deleted === PURGE_BATCH && !this.stopped);
      await this.repo.purgeEvents(cutoff);
    } catch (error) {
      this.onError(error, 'webhooks: could not purge old deliveries');
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
