import type { BlobStore } from '../../store/blob-store.js';
import type { KycInbox } from './inbox.js';
import type { Orchestrator } from './orchestrator.js';
import type { KycProcessor, ProcessingLog } from './processing.js';
import type { KycRepo } from './repo.js';
import type { KycSettings } from './settings.js';
import type { Transitions } from './transitions.js';

export interface KycWorkerOptions {
  /** How often the worker looks for due work. */
  intervalMs: number;
  /** A session at a provider with no answer for this long is polled (webhooks can be lost). */
  pollAfterMs: number;
}

export const DEFAULT_WORKER_OPTIONS: KycWorkerOptions = { intervalMs: 5_000, pollAfterMs: 10 * 60_000 };

const BATCH = 100;

/**
 * The clock and the safety net of verification: expires sessions whose time is up, dispatches submitted
 * sessions nobody is dispatching (a crash between submit and dispatch), applies inbound events left
 * pending, polls providers whose webhook did not come, and destroys documents whose retention ended —
 * their sealed data keys first (after that the ciphertext is unreadable), then the blobs, then the
 * session's data key (which makes its encrypted raw result unreadable too).
 */
export class KycWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly repo: KycRepo,
    private readonly processor: KycProcessor,
    private readonly inbox: KycInbox,
    private readonly orchestrator: Orchestrator,
    private readonly settings: KycSettings,
    private readonly transitions: Transitions,
    private readonly blobs: BlobStore,
    private readonly log: ProcessingLog,
    private readonly now: () => Date,
    private readonly options: KycWorkerOptions = DEFAULT_WORKER_OPTIONS,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.processor.idle();
  }

  /** One pass over every kind of due work; concurrent calls share the pass in progress. */
  tick(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    for (const [name, step] of [
      ['expire', () => this.expire()],
      ['dispatch', () => this.dispatch()],
      ['inbox', () => this.inbox.drain(BATCH)],
      ['poll', () => this.poll()],
      ['purge', () => this.purge()],
    ] as const) {
      try {
        await step();
      } catch (error) {
        this.log.warn({ step: name, err: (error as Error).message }, 'kyc: worker step failed');
      }
    }
  }

  private async expire(): Promise<void> {
    const now = Math.floor(this.now().getTime() / 1000);
    for (const session of await this.repo.expiredSessions(now, BATCH)) {
      try {
        await this.repo.transaction((repo) =>
          this.transitions.apply(repo, session, {
            to: 'expired',
            actor: 'system',
            actorId: 'system',
            reason: 'session_ttl',
            patch: { decided_at: now, decided_by: 'system', purge_at: now },
          }),
        );
        this.transitions.committed(session.id);
      } catch (error) {
        if ((error as { status?: number }).status !== 409) throw error;
      }
    }
  }

  private async dispatch(): Promise<void> {
    for (const session of await this.repo.sessionsToDispatch(this.now().getTime(), BATCH)) {
      await this.processor.dispatch(session.id);
    }
  }

  private async poll(): Promise<void> {
    const olderThan = Math.floor((this.now().getTime() - this.options.pollAfterMs) / 1000);
    for (const session of await this.repo.sessionsToPoll(olderThan, BATCH)) {
      const found = session.provider_id ? await this.settings.choice(session.provider_id) : undefined;
      if (!found || !session.provider_ref) continue;
      try {
        const outcome = await this.orchestrator.fetchResult(found.choice, session.provider_ref);
        const applied = await this.processor.decide(session.id, outcome, found.choice.settings.id, null);
        // Nothing new: wait another period before asking again.
        if (applied !== 'applied')
          await this.repo.touchSession(session.id, { updated_at: Math.floor(this.now().getTime() / 1000) });
      } catch (error) {
        this.log.warn(
          { sessionId: session.id, err: (error as Error).message },
          'kyc: polling a provider failed',
        );
        await this.repo.touchSession(session.id, { updated_at: Math.floor(this.now().getTime() / 1000) });
      }
    }
  }

  private async purge(): Promise<void> {
    const now = Math.floor(this.now().getTime() / 1000);
    for (const session of await this.repo.sessionsToPurge(now, BATCH)) {
      // Keys first (after that the ciphertext is unreadable wherever it survives), then the blobs, then the
      // mark: a crash in between leaves the session due, and every step is safe to repeat.
      const blobKeys = await this.repo.transaction(async (repo) => {
        const keys = await repo.shredDocuments(session.id);
        await repo.touchSession(session.id, { sealed_data_key: null, sealed_offer: null });
        return keys;
      });
      for (const key of blobKeys) await this.blobs.delete(key);
      await this.repo.touchSession(session.id, { purged_at: now });
    }
  }
}
