/**
 * Per-client token buckets (REPRAM's limiter: `rate` tokens per second, up to `burst`), with bounded
 * memory: buckets that have refilled completely carry no information and are dropped by a periodic
 * prune, and beyond `maxClients` the oldest bucket is forgotten (that client starts with a full bucket
 * again, which only ever errs towards admitting).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxClients = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    const refillMs = Math.max(1000, Math.ceil((burst / rate) * 1000));
    this.timer = setInterval(() => this.prune(), refillMs);
    this.timer.unref();
  }

  /** Takes a token for `client`: 0 when admitted, otherwise the whole seconds until a token is available. */
  take(client: string): number {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxClients)
        this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = { tokens: this.burst, updatedAt: now };
      this.buckets.set(client, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.rate);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.rate));
  }

  get clientCount(): number {
    return this.buckets.size;
  }

  /** Drops the buckets that have refilled to `burst`; they behave exactly like absent ones. */
  prune(): void {
    const now = this.now();
    for (const [client, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.rate >= this.burst)
        this.buckets.delete(client);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
