import { BoundedCache } from '@personachain/crypto';
import { type EvaluatorContext, Evaluators } from './evaluators.js';
import { applyRule } from './rule.js';
import { type Score, trustScore } from './score.js';
import { DEFAULT_TRUST_TEMPLATE, type TrustTemplate, templateHash } from './template.js';
import type { AccessDecision, AccessRequest, Vote } from './types.js';

/**
 * Four Cedar evaluations through the wasm boundary cost about a millisecond. The votes are a pure
 * function of the evaluator context while the policies are fixed (they load once per process), and
 * contexts repeat a lot (the score and a few flags, not raw counts or times), so votes are memoized by
 * the complete context.
 */
const VOTE_CACHE_SIZE = 20_000;

export interface AccessPolicyOptions {
  /** Memoized evaluator contexts (default 20,000); 0 evaluates every decision (benchmarks compare). */
  cacheSize?: number;
}

/** The access decision point for vaults: trust score, four evaluators, the decision rule, onDeny. */
export class AccessPolicy {
  private readonly cache: BoundedCache<string, Vote[]> | null;

  private constructor(
    private readonly evaluators: Evaluators,
    cacheSize: number,
  ) {
    this.cache = cacheSize > 0 ? new BoundedCache(cacheSize) : null;
  }

  /** Validates and pre-parses the evaluators' policies; throws (failing the start) when they are wrong. */
  static load(options: AccessPolicyOptions = {}): AccessPolicy {
    const sample = evaluatorContext(
      DEFAULT_TRUST_TEMPLATE,
      SAMPLE_REQUEST,
      trustScore(DEFAULT_TRUST_TEMPLATE, SAMPLE_REQUEST),
    );
    return new AccessPolicy(Evaluators.load(sample), options.cacheSize ?? VOTE_CACHE_SIZE);
  }

  /** Synchronous and pure: the same template and request always give the same decision. */
  decide(template: TrustTemplate, request: AccessRequest): AccessDecision {
    const scored = trustScore(template, request);
    const votes = this.votes(evaluatorContext(template, request, scored));
    const rule = template.rule;
    const ruled = applyRule(rule.kind, rule.watchdogVeto, votes);
    const decision = (outcome: AccessDecision['outcome'], explanation: string): AccessDecision => ({
      outcome,
      score: scored.score,
      contributions: scored.contributions,
      votes,
      rule: { kind: rule.kind, watchdogVeto: rule.watchdogVeto, explanation },
      templateHash: templateHash(template),
    });
    if (ruled.allowed) return decision('allow', ruled.explanation);

    const onDeny = template.onDeny;
    if (onDeny.stepUp && !scored.signals.freshMfa) {
      const stepped = this.withFreshMfa(template, request);
      if (stepped.allowed) {
        return decision(
          'step_up_required',
          `${ruled.explanation}; with fresh multi-factor authentication the score would be ${stepped.score} and ` +
            `the access allowed: step-up required`,
        );
      }
    }
    if (
      onDeny.guardianApproval &&
      request.guardiansAvailable &&
      (!ruled.vetoed || onDeny.guardiansOverrideVeto)
    ) {
      return decision(
        'guardian_approval_required',
        `${ruled.explanation}; the vault's guardians may approve it`,
      );
    }
    return decision('deny', ruled.explanation);
  }

  /** The counterfactual of a step-up: the same request right after a multi-factor authentication. */
  private withFreshMfa(template: TrustTemplate, request: AccessRequest): { allowed: boolean; score: number } {
    const methods = request.authentication.methods.includes('mfa')
      ? request.authentication.methods
      : [...request.authentication.methods, 'mfa'];
    const stepped: AccessRequest = { ...request, authentication: { methods, ageSeconds: 0 } };
    const scored = trustScore(template, stepped);
    const votes = this.votes(evaluatorContext(template, stepped, scored));
    return {
      allowed: applyRule(template.rule.kind, template.rule.watchdogVeto, votes).allowed,
      score: scored.score,
    };
  }

  private votes(context: EvaluatorContext): Vote[] {
    // The context is built by one function in one field order, so its JSON is a complete, stable key.
    let known: Vote[];
    if (this.cache) {
      const key = JSON.stringify(context);
      known = this.cache.get(key) ?? this.cache.set(key, this.evaluators.votes(context));
    } else {
      known = this.evaluators.votes(context);
    }
    // Callers get their own copies: cached votes are shared between decisions.
    return known.map((vote) => ({ evaluator: vote.evaluator, vote: vote.vote, reasons: [...vote.reasons] }));
  }
}

/** The Cedar context of a decision: what the evaluators see (exported for the schema check in tests). */
export function evaluatorContext(
  template: TrustTemplate,
  request: AccessRequest,
  scored: Score,
): EvaluatorContext {
  const { signals } = scored;
  const { evaluators } = template;
  return {
    action: request.action,
    role: request.role,
    score: scored.score,
    minimumScore: template.minimumScore[request.action],
    deviceRegistered: signals.deviceRegistered,
    fingerprintPresent: signals.fingerprintPresent,
    country: signals.country,
    businessHours: signals.businessHours,
    overMinuteLimit: signals.overMinuteLimit,
    overHourLimit: signals.overHourLimit,
    deniedLastHour: request.recent.deniedLastHour,
    mfa: signals.mfa,
    passkey: signals.passkey,
    authenticationStale: signals.authenticationStale,
    strict: { allowAt: evaluators.strict.allowAt, deviceAndMfaFor: [...evaluators.strict.deviceAndMfaFor] },
    permissive: { allowAt: evaluators.permissive.allowAt },
    neutral: { allowAt: evaluators.neutral.allowAt, denyBelow: evaluators.neutral.denyBelow },
    watchdog: {
      velocity: evaluators.watchdog.velocity,
      disallowedCountry: evaluators.watchdog.disallowedCountry,
      maxRecentDenials: evaluators.watchdog.maxRecentDenials,
      offHoursActions: [...evaluators.watchdog.offHoursActions],
    },
  };
}

/** A request to check at load that every reason placeholder names a field of the context. */
const SAMPLE_REQUEST: AccessRequest = {
  action: 'read',
  role: 'owner',
  at: new Date(0),
  device: { registered: true, fingerprintPresent: true },
  network: { country: null },
  authentication: { methods: ['pwd'], ageSeconds: 0 },
  recent: { lastMinute: 0, lastHour: 0, deniedLastHour: 0 },
  proofs: { verified: 0, unverified: 0 },
  guardiansAvailable: false,
};
