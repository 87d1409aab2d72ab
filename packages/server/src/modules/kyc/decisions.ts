import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { ConnectorService } from '../connectors/service.js';
import {
  CLAIM_NAME_PATTERN,
  MAX_CLAIM_STRING_LENGTH,
  MAX_CLAIMS,
  RESERVED_CLAIMS as OFFER_RESERVED_CLAIMS,
  type Oid4vciService,
} from '../oid4vci/service.js';
import { resultOf, type SessionResult } from './claims.js';
import type { KycRepo, SessionRow, SettingsRow } from './repo.js';
import type { SessionData } from './session-data.js';
import type { KycSettings } from './settings.js';
import type { Actor, SessionStatus } from './state-machine.js';
import type { Move, Transitions } from './transitions.js';
import type { CheckRequest, ProviderOutcome } from './types.js';

/** A decision about a session from a provider's outcome, a reviewer, or the platform's own rules. */
export interface Decision {
  to: SessionStatus;
  actor: Actor;
  actorId: string;
  reason?: string | null;
  result?: SessionResult;
  /** The provider's raw answer (kept encrypted with the session's data key). */
  raw?: unknown;
  providerEvent?: string | null;
  /** Provider time (ms) of the event decided on. */
  eventAt?: number;
}

const DECIDED_BY: Partial<Record<Actor, string>> = {
  provider: 'provider',
  policy: 'policy',
  reviewer: 'reviewer',
};

/**
 * Flat primitive claims a credential can carry: the derived ones, check outcomes, then connector claims
 * as far as the offer's limits allow (names an offer accepts, short strings, at most MAX_CLAIMS in all).
 */
export function credentialClaims(
  result: SessionResult,
  decidedAt: Date,
): Record<string, string | number | boolean> {
  const claims: Record<string, string | number | boolean> = {
    verifiedAt: decidedAt.toISOString().slice(0, 10),
  };
  for (const [name, value] of Object.entries(result.claims)) {
    if (value !== undefined) claims[name] = value;
  }
  for (const [check, outcome] of Object.entries(result.checks)) {
    if (check !== 'connector' && outcome === 'passed') claims[`${check}Verified`] = true;
  }
  for (const mapped of Object.values(result.connectorClaims ?? {})) {
    for (const [name, value] of Object.entries(mapped)) {
      const fits =
        typeof value === 'number' ||
        typeof value === 'boolean' ||
        (typeof value === 'string' && value.length <= MAX_CLAIM_STRING_LENGTH);
      const acceptable = CLAIM_NAME_PATTERN.test(name) && !OFFER_RESERVED_CLAIMS.has(name);
      if (fits && acceptable && !(name in claims) && Object.keys(claims).length < MAX_CLAIMS)
        claims[name] = value;
    }
  }
  return claims;
}

/**
 * Turns decisions into moves with their side effects: the stored result, the retention deadline, the
 * credential offer on approval (in the same transaction), the attempt cap on resubmission, and the
 * revocation of the issued credential on a reversal.
 */
export class Decisions {
  constructor(
    private readonly settings: KycSettings,
    private readonly transitions: Transitions,
    private readonly data: SessionData,
    private readonly connectors: Pick<ConnectorService, 'runCheck'>,
    private readonly offers: Pick<Oid4vciService, 'createOffer' | 'revokeByReference'>,
    private readonly now: () => Date,
  ) {}

  /**
   * What a provider's outcome means for the session under the platform's rules: an approval still needs
   * the requested age met and every connector check passed; a resubmission beyond the attempt cap is a
   * decline.
   */
  async judge(
    session: SessionRow,
    outcome: ProviderOutcome,
    actorId: string,
    dedupeKey: string | null,
  ): Promise<Decision | null> {
    const checks = JSON.parse(session.checks) as CheckRequest[];
    const eventAt = outcome.occurredAt.getTime();
    const base = { actorId, raw: outcome.raw, providerEvent: dedupeKey, eventAt };
    const result = resultOf(outcome, checks, this.now());
    switch (outcome.status) {
      case 'approved': {
        if (result.checks.age === 'failed')
          return { ...base, to: 'declined', actor: 'policy', reason: 'under_minimum_age', result };
        const connectorFailure = await this.runConnectors(session.project_id, checks, result);
        if (connectorFailure)
          return { ...base, to: 'declined', actor: 'policy', reason: connectorFailure, result };
        if (result.checks.age === 'review')
          return { ...base, to: 'needs_review', actor: 'policy', reason: 'age_unknown', result };
        return { ...base, to: 'approved', actor: actorId === 'policy' ? 'policy' : 'provider', result };
      }
      case 'declined':
        return {
          ...base,
          to: 'declined',
          actor: 'provider',
          reason: outcome.reasons.join(',') || 'declined',
          result,
        };
      case 'needs_review':
        return {
          ...base,
          to: 'needs_review',
          actor: 'provider',
          reason: outcome.reasons.join(',') || null,
          result,
        };
      case 'resubmission_requested':
        return {
          ...base,
          ...(await this.resubmission(session, 'provider', outcome.reasons.join(',') || null)),
          result,
        };
      case 'expired':
        return { ...base, to: 'expired', actor: 'provider', reason: 'provider_expired' };
      case 'error':
        return { ...base, to: 'error', actor: 'system', reason: 'provider_error' };
      default:
        return null;
    }
  }

  /** A resubmission request, or a decline by policy once the session used all its attempts. */
  async resubmission(
    session: SessionRow,
    actor: Actor,
    reason: string | null,
  ): Promise<Pick<Decision, 'to' | 'actor' | 'reason'>> {
    const { max_attempts: maxAttempts } = await this.settings.ensure(session.project_id);
    return session.attempt >= maxAttempts
      ? { to: 'declined', actor: 'policy', reason: 'attempts_exhausted' }
      : { to: 'resubmission_requested', actor, reason };
  }

  /**
   * Applies a decision in the caller's transaction; returns the moved session. `settings` are the
   * project's, read before the transaction (on SQLite a read outside it would wait for it to end).
   */
  async apply(
    repo: KycRepo,
    session: SessionRow,
    decision: Decision,
    settings: SettingsRow,
  ): Promise<SessionRow> {
    const now = this.now();
    const at = Math.floor(now.getTime() / 1000);
    const patch: Partial<SessionRow> = { claimed_by: null, claimed_until: null };
    if (decision.eventAt !== undefined) patch.last_event_at = decision.eventAt;
    if (decision.result) patch.result = JSON.stringify(decision.result);
    if (decision.raw !== undefined && session.sealed_data_key) {
      patch.sealed_raw_result = await this.data.seal(session.id, session.sealed_data_key, decision.raw);
    }
    const final =
      decision.to === 'approved' ||
      decision.to === 'declined' ||
      decision.to === 'expired' ||
      decision.to === 'error';
    if (final) {
      patch.decided_at = at;
      patch.decided_by = DECIDED_BY[decision.actor] ?? 'system';
      patch.purge_at = at + Number(settings.retention_seconds);
    }
    const move: Move = {
      to: decision.to,
      actor: decision.actor,
      actorId: decision.actorId,
      reason: decision.reason ?? null,
      providerEvent: decision.providerEvent ?? null,
      patch,
    };
    if (decision.to === 'approved') {
      const offer = await this.offer(
        repo.db,
        settings,
        session,
        decision.result ?? storedResult(session),
        now,
      );
      if (offer) {
        patch.offer_id = offer.offerId;
        patch.offer_uri = offer.credentialOfferUri;
        if (session.sealed_data_key) {
          patch.sealed_offer = await this.data.seal(session.id, session.sealed_data_key, offer);
        }
        move.eventData = { credential_offer_uri: offer.credentialOfferUri };
      }
    }
    if (decision.to === 'resubmission_requested') patch.attempt = session.attempt + 1;
    return this.transitions.apply(repo, session, move);
  }

  /** Revokes what an approval issued; run before the reversal's move (both are idempotent). */
  async revoke(session: SessionRow, reason: string): Promise<void> {
    if (session.offer_id) await this.offers.revokeByReference(session.project_id, session.id, reason);
  }

  private async offer(
    trx: Kysely<Database>,
    settings: SettingsRow,
    session: SessionRow,
    result: SessionResult,
    now: Date,
  ) {
    if (!settings.issuer_id) return null;
    return this.offers.createOffer(trx, {
      projectId: session.project_id,
      issuerId: settings.issuer_id,
      credentialType: settings.credential_type,
      claims: credentialClaims(result, now),
      subjectDid: session.subject.startsWith('did:') ? session.subject : null,
      reference: session.id,
      txCode: settings.tx_code === 1,
    });
  }

  /** Runs the session's connector checks; the reason of the first that fails, or null when all pass. */
  private async runConnectors(
    projectId: string,
    checks: CheckRequest[],
    result: SessionResult,
  ): Promise<string | null> {
    const connectorChecks = checks.filter((check) => check.type === 'connector');
    if (connectorChecks.length === 0) return null;
    result.connectorClaims = {};
    for (const check of connectorChecks) {
      const connectorId = check.connectorId as string;
      const run = await this.connectors.runCheck(projectId, connectorId, check.input ?? {});
      if (!run.success) {
        result.checks.connector = 'failed';
        return `connector_${run.reason ?? 'failed'}`;
      }
      result.connectorClaims[connectorId] = run.claims;
    }
    result.checks.connector = 'passed';
    return null;
  }
}

function storedResult(session: SessionRow): SessionResult {
  return session.result
    ? (JSON.parse(session.result) as SessionResult)
    : { checks: {}, reasons: [], claims: {} };
}
