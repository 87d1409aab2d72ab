import type { Location } from '../../http/geo.js';
import { Problem } from '../../http/problem.js';
import type { AuditEvent } from '../audit/service.js';
import { DEFAULT_RISK_WEIGHTS, type RiskReason, type RiskWeights } from '../policy/risk.js';
import type { AdaptiveMfa, SignInContext } from './adaptive-mfa.js';
import { DEFAULT_RISK_THRESHOLD, type RiskPolicyValue } from './schemas.js';

/** What adaptive MFA decided about a sign-in that passed its first factor. */
export type RiskVerdict = 'allow' | 'second_factor' | 'refused';

export interface GateResult {
  verdict: RiskVerdict;
  /** For the user when a second factor is asked for: plain words, no numbers. */
  message: string;
  location: Location | null;
}

/** Records one audit event (in its own transaction). */
export type RiskAuditor = (event: AuditEvent) => Promise<void>;
/** Logs at info; fields hold no personal data. */
export type RiskLogger = (fields: Record<string, unknown>, message: string) => void;

/** What a user refused by adaptive MFA is told: why in general, nothing about the score or the place. */
export const SECOND_FACTOR_UNAVAILABLE =
  "We could not confirm it's you from this device or place, and the account has no second factor to " +
  'confirm it with. Sign in from a device you have used before, or ask your administrator.';

/** Adaptive MFA found the sign-in risky and the user has no second factor to confirm it with. */
export function secondFactorUnavailableProblem(): Problem {
  return new Problem('forbidden', SECOND_FACTOR_UNAVAILABLE, {
    extensions: { code: 'second_factor_unavailable' },
  });
}

const LOCATION_SIGNALS = new Set(['new_address', 'new_country', 'impossible_travel']);

/** "We need to confirm it's you: this is a new device / unusual location", from the reasons. */
export function riskMessage(reasons: readonly RiskReason[]): string {
  const causes: string[] = [];
  if (reasons.some((reason) => reason.signal === 'new_device')) causes.push('this is a new device');
  if (reasons.some((reason) => LOCATION_SIGNALS.has(reason.signal))) causes.push('an unusual location');
  if (reasons.some((reason) => reason.signal === 'velocity')) causes.push('unusually many sign-ins');
  if (reasons.some((reason) => reason.signal === 'failed_attempts')) causes.push('recent failed attempts');
  return causes.length > 0
    ? `We need to confirm it's you: ${causes.join(', ')}.`
    : "We need to confirm it's you.";
}

/**
 * The decision step of adaptive MFA: scores a sign-in against the project's threshold, audits and logs
 * the decision with its reasons (signal names and points only: never the address, place or device), and
 * remembers the sign-ins that complete.
 */
export class RiskGate {
  constructor(
    private readonly adaptive: AdaptiveMfa,
    private readonly audit: RiskAuditor,
    private readonly log: RiskLogger,
  ) {}

  /**
   * `secondFactorAvailable`: whether the user has a second factor this sign-in may ask for. Without one,
   * a risky sign-in is refused: letting it through on its first factor would make the threshold moot.
   */
  async decide(
    projectId: string,
    userId: string,
    policy: RiskPolicyValue | undefined,
    context: SignInContext,
    secondFactorAvailable: boolean,
  ): Promise<GateResult> {
    const weights: RiskWeights = { ...DEFAULT_RISK_WEIGHTS, ...policy?.weights };
    const threshold = policy?.threshold ?? DEFAULT_RISK_THRESHOLD;
    const assessment = await this.adaptive.assess(projectId, userId, context, weights);
    const verdict: RiskVerdict =
      assessment.score < threshold ? 'allow' : secondFactorAvailable ? 'second_factor' : 'refused';
    const fields = {
      score: assessment.score,
      threshold,
      decision: verdict,
      reasons: assessment.reasons.map((reason) => `${reason.signal}:${reason.points}`),
    };
    await this.audit({
      type: 'sign_in.risk_assessed',
      orgId: null,
      projectId,
      actor: userId,
      subject: userId,
      details: fields,
    });
    this.log({ projectId, userId, ...fields }, 'sign-in risk assessed');
    return { verdict, message: riskMessage(assessment.reasons), location: assessment.location };
  }

  /** Remembers a completed sign-in; `location` when the assessment already looked it up. */
  remember(
    projectId: string,
    userId: string,
    context: Pick<SignInContext, 'ip' | 'deviceId'>,
    location?: Location | null,
  ): Promise<void> {
    return this.adaptive.remember(projectId, userId, context, location);
  }
}
