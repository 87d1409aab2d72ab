import type { DeletionAttestation, EntryMeta, LocalStore, NodeSigner, RemovalReason } from '../types.js';
import type { AttestationLog, InclusionMaterial } from './log.js';
import { signAttestation } from './payload.js';
import type { Publish } from './publisher.js';

export interface AttestationServiceOptions {
  readonly signer: NodeSigner;
  readonly log: AttestationLog;
  /** Publishes to the platform ledger; absent when no platform is configured (the node log is the record). */
  readonly publish?: Publish;
  /** Back-off between delivery attempts: first delay and cap, in ms (defaults 1 s and 5 min). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Where failures are reported (never with values; attestations hold no secrets). */
  readonly onError?: (message: string, err?: unknown) => void;
}

export interface AttestationView {
  readonly attestation: DeletionAttestation;
  readonly inclusion: InclusionMaterial;
  readonly delivered: boolean;
}

/**
 * Turns removals of compliance entries into signed attestations: signs one per removal, appends it to the
 * node's durable log, and (with a platform configured) delivers it to the platform ledger, retrying with
 * exponential back-off until it is accepted. Delivery is recorded in the log, so what was undelivered at
 * a shutdown or crash is retried at the next start; an attestation is never dropped.
 */
export class AttestationService {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<number>();
  private stopped = false;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(private readonly options: AttestationServiceOptions) {
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 300_000;
  }

  get nodeId(): string {
    return this.options.signer.nodeId;
  }

  /** Subscribes to the store's removals. */
  attach(store: Pick<LocalStore, 'onRemoved'>): void {
    store.onRemoved((entry, reason, at) => this.onRemoved(entry, reason, at));
  }

  /** Starts delivering what the log holds undelivered (from before a restart). */
  start(): void {
    if (!this.options.publish) return;
    for (const held of this.options.log.undelivered()) this.deliver(held.index, held.attestation, 0);
  }

  /** Signs, logs and (if configured) publishes an attestation for one removal; resolves with the log index. */
  attest(keyCommitment: string, reason: RemovalReason, at: number): Promise<number> {
    const job = (async () => {
      const attestation = await signAttestation(this.options.signer, {
        keyCommitment,
        deletedAt: at,
        reason,
      });
      const index = await this.options.log.append(attestation);
      this.deliver(index, attestation, 0);
      return index;
    })();
    this.track(job);
    return job;
  }

  /** The attestations for a commitment, with inclusion proofs against the returned signed checkpoint. */
  async forCommitment(commitment: string): Promise<{ attestations: AttestationView[]; checkpoint: string }> {
    const { entries, checkpoint } = await this.options.log.snapshot(commitment, this.options.signer);
    return {
      attestations: entries.map((e) => ({
        attestation: e.attestation,
        delivered: e.delivered,
        inclusion: e.inclusion,
      })),
      checkpoint,
    };
  }

  /** Resolves when every removal seen so far is signed and logged (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Waits for logging to finish and cancels pending retries (they resume at the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.settled();
  }

  private onRemoved(entry: EntryMeta, reason: RemovalReason, at: number): void {
    if (entry.keyCommitment === undefined) return;
    this.attest(entry.keyCommitment, reason, at).catch((err) =>
      this.report('could not sign or log a deletion attestation', err),
    );
  }

  private deliver(index: number, attestation: DeletionAttestation, attempt: number): void {
    const publish = this.options.publish;
    if (!publish || this.stopped || this.inFlight.has(index)) return;
    this.inFlight.add(index);
    const job = (async () => {
      const result = await publish(attestation);
      if (result.ok) {
        await this.options.log.markDelivered(index);
        this.inFlight.delete(index);
        return;
      }
      this.inFlight.delete(index);
      if (!result.retry) {
        // Kept undelivered in the log: a configuration fix and restart delivers it.
        this.report(`the platform refused attestation ${index}; it stays in the node log (${result.error})`);
        return;
      }
      const backoff = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(attempt, 30));
      // Full jitter keeps a fleet of nodes from retrying in lockstep after a platform outage.
      const delay = Math.max(
        result.retryAfterMs ?? 0,
        Math.floor(backoff / 2 + Math.random() * (backoff / 2)),
      );
      this.schedule(() => this.deliver(index, attestation, attempt + 1), delay);
    })().catch((err) => {
      this.inFlight.delete(index);
      this.report(`delivering attestation ${index} failed`, err);
      this.schedule(() => this.deliver(index, attestation, attempt + 1), this.retryMaxMs);
    });
    this.track(job);
  }

  private schedule(fn: () => void, delay: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private track(job: Promise<unknown>): void {
    const tracked = job.catch(() => undefined).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private report(message: string, err?: unknown): void {
    if (this.options.onError) this.options.onError(message, err);
    else console.error(`[attestations] ${message}`, err instanceof Error ? err.message : '');
  }
}
