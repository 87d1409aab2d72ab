import type { CheckOutcome, CheckRequest, CheckType, ExtractedFields, ProviderOutcome } from './types.js';

/**
 * What a session keeps of a decision: normalized check outcomes, reason codes and minimal derived claims
 * (age over N, document country and type, validity). Names, numbers and dates of birth stay out: they
 * exist only in the provider's raw result, which is kept encrypted and destroyed with the documents.
 */
export interface SessionResult {
  checks: Partial<Record<CheckType, CheckOutcome>>;
  reasons: string[];
  claims: DerivedClaims;
  /** Claims mapped by connector checks, by connector id. */
  connectorClaims?: Record<string, Record<string, unknown>>;
}

export interface DerivedClaims {
  /** `ageOver18` etc., one per minimum age the session asked for: true, false, or absent if unknown. */
  [ageOver: `ageOver${number}`]: boolean;
  documentCountry?: string;
  documentType?: string;
  /** Whether the document was unexpired on the day of the decision. */
  documentValid?: boolean;
}

/** Whole years between a YYYY-MM-DD birth date and `on` (UTC), or null for an unusable date. */
export function ageOn(dateOfBirth: string, on: Date): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dateOfBirth);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const birth = new Date(Date.UTC(year, month - 1, day));
  if (birth.getUTCMonth() !== month - 1 || birth.getUTCDate() !== day || birth > on) return null;
  let age = on.getUTCFullYear() - year;
  const beforeBirthday =
    on.getUTCMonth() + 1 < month || (on.getUTCMonth() + 1 === month && on.getUTCDate() < day);
  if (beforeBirthday) age -= 1;
  return age;
}

/** The minimum ages a session asked for (its `age` checks). */
export function minimumAges(checks: readonly CheckRequest[]): number[] {
  return [
    ...new Set(
      checks
        .filter((check) => check.type === 'age' && check.minimumAge !== undefined)
        .map((c) => c.minimumAge as number),
    ),
  ].sort((a, b) => a - b);
}

export function deriveClaims(
  extracted: ExtractedFields,
  checks: readonly CheckRequest[],
  now: Date,
): DerivedClaims {
  const claims: DerivedClaims = {};
  const age = extracted.dateOfBirth ? ageOn(extracted.dateOfBirth, now) : null;
  if (age !== null) {
    for (const minimum of minimumAges(checks)) claims[`ageOver${minimum}`] = age >= minimum;
  }
  if (extracted.issuingCountry) claims.documentCountry = extracted.issuingCountry;
  if (extracted.documentType) claims.documentType = extracted.documentType;
  if (extracted.documentExpiresOn) {
    claims.documentValid = extracted.documentExpiresOn >= now.toISOString().slice(0, 10);
  }
  return claims;
}

/**
 * The platform's own rules over a provider's approval: an age check the session asked for must be
 * answered (a provider that approved without a date of birth leaves it to a reviewer) and met.
 */
export function ageVerdict(
  claims: DerivedClaims,
  checks: readonly CheckRequest[],
): { outcome: CheckOutcome; reason?: string } | null {
  const ages = minimumAges(checks);
  if (ages.length === 0) return null;
  const answers = ages.map((minimum) => claims[`ageOver${minimum}`]);
  if (answers.some((answer) => answer === undefined)) return { outcome: 'review', reason: 'age_unknown' };
  if (answers.some((answer) => answer === false)) return { outcome: 'failed', reason: 'under_minimum_age' };
  return { outcome: 'passed' };
}

/** The stored result of an outcome: claims derived, personal data dropped. */
export function resultOf(
  outcome: ProviderOutcome,
  checks: readonly CheckRequest[],
  now: Date,
): SessionResult {
  const claims = deriveClaims(outcome.extracted, checks, now);
  const result: SessionResult = { checks: { ...outcome.checks }, reasons: [...outcome.reasons], claims };
  const age = ageVerdict(claims, checks);
  if (age) result.checks.age = age.outcome;
  return result;
}
