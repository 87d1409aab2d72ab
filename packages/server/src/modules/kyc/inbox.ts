import { Problem } from '../../http/problem.js';
import { SecretBox } from '../identity/secret-box.js';
import type { Orchestrator } from './orchestrator.js';
import type { KycProcessor, ProcessingLog } from './processing.js';
import type { HeaderBag, ProviderAdapter, ProviderEvent, ProviderSettings } from './providers/types.js';
import { WebhookRejected } from './providers/types.js';
import type { InboxRow, KycRepo } from './repo.js';
import type { KycSettings } from './settings.js';
import { FINAL_STATUSES, type ProviderOutcome } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How long an event about a reference not known yet stays pending before it is dropped. */
const UNKNOWN_REF_GRACE_MS = 10 * 60_000;

/** A stored event's outcome; dates travel as ISO strings. */
type StoredOutcome = Omit<ProviderOutcome, 'occurredAt'> & { occurredAt: string };

/**
 * Inbound provider webhooks: verified on their raw bytes by the provider's adapter, recorded once per
 * dedupe key (a repeated delivery is acknowledged and dropped), answered at once, and applied
 * asynchronously — from the inbox table, so an event received just before a crash is applied after it.
 * Events are kept sealed (they may carry personal data) until applied, then erased.
 */
export class KycInbox {
  private readonly box: SecretBox;

  constructor(
    private readonly repo: KycRepo,
    private readonly settings: KycSettings,
    private readonly processor: KycProcessor,
    private readonly orchestrator: Orchestrator,
    private readonly adapterFor: (settings: ProviderSettings) => ProviderAdapter,
    masterKey: Uint8Array,
    private readonly log: ProcessingLog,
    private readonly now: () => Date,
  ) {
    this.box = new SecretBox(masterKey, 'kyc inbound events');
  }

  /** Verifies and records one delivery; returns whether it was new. Throws 401/404 problems. */
  async receive(
    providerId: string,
    rawBody: Uint8Array,
    headers: HeaderBag,
  ): Promise<{ duplicate: boolean }> {
    const found = await this.settings.choice(providerId);
    if (!found) throw new Problem('not-found', 'No such verification provider configuration.');
    let event: ProviderEvent | null;
    try {
      event = this.adapterFor(found.choice.settings).parseWebhook(rawBody, headers, this.now());
    } catch (error) {
      if (error instanceof WebhookRejected)
        throw new Problem('unauthorized', `The webhook was refused: ${error.message}`);
      throw new Problem('validation-error', 'The webhook body is not what this provider sends.');
    }
    if (!event) return { duplicate: false };
    const stored = {
      ref: event.ref,
      outcome: event.outcome
        ? { ...event.outcome, occurredAt: event.outcome.occurredAt.toISOString() }
        : null,
    };
    const isNew = await this.repo.insertInbox({
      provider_id: providerId,
      dedupe_key: event.dedupeKey,
      project_id: found.projectId,
      ref: event.ref,
      occurred_at: event.occurredAt.getTime(),
      sealed_event: await this.box.seal(
        encoder.encode(JSON.stringify(stored)),
        `${providerId}\n${event.dedupeKey}`,
      ),
      received_at: this.now().getTime(),
      processed_at: null,
      outcome: null,
    });
    if (isNew) void this.apply(providerId, event.dedupeKey).catch(() => {});
    return { duplicate: !isNew };
  }

  /** Applies every event not applied yet (after a crash, or one whose processing failed), oldest first. */
  async drain(limit = 100): Promise<number> {
    const rows = await this.repo.pendingInbox(limit);
    for (const row of rows) await this.applyRow(row);
    return rows.length;
  }

  private async apply(providerId: string, dedupeKey: string): Promise<void> {
    const row = await this.repo.inboxRow(providerId, dedupeKey);
    if (row && row.processed_at === null) await this.applyRow(row);
  }

  private async applyRow(row: InboxRow): Promise<void> {
    const finish = (outcome: string) =>
      this.repo.finishInbox(row.provider_id, row.dedupe_key, outcome, this.now().getTime());
    if (!row.sealed_event) return finish('unknown_ref');
    const session = await this.repo.sessionByProviderRef(row.provider_id, row.ref);
    if (!session) {
      // A provider may call back before its submit call has returned to us: wait for the reference a while.
      if (this.now().getTime() - Number(row.received_at) < UNKNOWN_REF_GRACE_MS) return;
      return finish('unknown_ref');
    }
    const stored = JSON.parse(
      decoder.decode(await this.box.open(row.sealed_event, `${row.provider_id}\n${row.dedupe_key}`)),
    ) as { ref: string; outcome: StoredOutcome | null };
    let outcome: ProviderOutcome | null = stored.outcome
      ? { ...stored.outcome, occurredAt: new Date(stored.outcome.occurredAt) }
      : null;
    // An event without a decision (Onfido's check.completed), or a decision without what the provider
    // read (Sumsub's GREEN carries no date of birth): ask the provider for the full result.
    const incomplete =
      outcome !== null && FINAL_STATUSES.has(outcome.status) && Object.keys(outcome.extracted).length === 0;
    if (outcome === null || incomplete) {
      const found = await this.settings.choice(row.provider_id);
      if (!found) return finish('unknown_provider');
      try {
        outcome = await this.orchestrator.fetchResult(found.choice, row.ref);
      } catch (error) {
        // Without a decision there is nothing to apply: the worker retries. A decision stands on its own.
        if (outcome === null) return;
        this.log.warn(
          { providerId: row.provider_id, err: (error as Error).message },
          'kyc: could not fetch the full result',
        );
      }
    }
    const applied = await this.processor.decide(session.id, outcome, row.provider_id, row.dedupe_key);
    await finish(applied);
  }
}
