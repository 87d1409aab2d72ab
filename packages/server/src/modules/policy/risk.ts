/**
 * Risk of a sign-in, for adaptive MFA: a score from 0 to 100 made of named signals, each with the
 * points it added and why, so every decision can be explained to the user's admin (and is audited).
 * Pure: the identity module gathers the signals; this only weighs them.
 */

/** What is known about a sign-in that has just proved its password. */
export interface RiskSignals {
  /** The browser's device cookie is absent or was never seen on one of this user's sign-ins. */
  newDevice: boolean;
  /** The user has signed in before, never from this address. */
  newAddress: boolean;
  /** The user has signed in before from located addresses, never from this address's country. */
  newCountry: boolean;
  /**
   * Since the user's previous located sign-in: how far (beyond both locations' accuracy) and how fast
   * they would have travelled; null when either sign-in could not be located.
   */
  travel: { km: number; hours: number } | null;
  /** The user's completed sign-ins in the last hour, this one excluded. */
  signInsLastHour: number;
  /** Failed password attempts for this identifier from this address, before this one succeeded. */
  recentFailures: number;
}

export type RiskSignalName =
  | 'new_device'
  | 'new_address'
  | 'new_country'
  | 'impossible_travel'
  | 'velocity'
  | 'failed_attempts';

/** Points each signal adds when present. */
export type RiskWeights = Record<RiskSignalName, number>;

export const DEFAULT_RISK_WEIGHTS: RiskWeights = {
  new_device: 30,
  new_address: 10,
  new_country: 30,
  impossible_travel: 60,
  velocity: 20,
  failed_attempts: 20,
};

/** Faster than an airliner between two sign-ins is not one person travelling. */
export const IMPOSSIBLE_SPEED_KMH = 900;
/** Sign-ins per hour above which an account looks automated or shared. */
export const VELOCITY_LIMIT = 5;
/** Failed attempts before the successful one that make it look like guessing. */
export const FAILURES_LIMIT = 3;

export interface RiskReason {
  signal: RiskSignalName;
  points: number;
  /** Human-readable, without personal data (no addresses, no places). */
  detail: string;
}

export interface RiskAssessment {
  /** 0–100. */
  score: number;
  /** The signals that added points, highest first. */
  reasons: RiskReason[];
}

function present(signals: RiskSignals): Array<{ signal: RiskSignalName; detail: string }> {
  const found: Array<{ signal: RiskSignalName; detail: string }> = [];
  if (signals.newDevice) found.push({ signal: 'new_device', detail: 'first sign-in from this browser' });
  if (signals.newAddress) found.push({ signal: 'new_address', detail: 'first sign-in from this address' });
  if (signals.newCountry) found.push({ signal: 'new_country', detail: 'first sign-in from this country' });
  if (signals.travel) {
    // A clock that did not advance (same instant) counts as infinitely fast once the distance is real.
    const speed =
      signals.travel.hours > 0 ? signals.travel.km / signals.travel.hours : Number.POSITIVE_INFINITY;
    if (speed > IMPOSSIBLE_SPEED_KMH) {
      found.push({
        signal: 'impossible_travel',
        detail: `${Math.round(signals.travel.km)} km from the previous sign-in in ${formatHours(signals.travel.hours)}`,
      });
    }
  }
  if (signals.signInsLastHour >= VELOCITY_LIMIT) {
    found.push({ signal: 'velocity', detail: `${signals.signInsLastHour} sign-ins in the last hour` });
  }
  if (signals.recentFailures >= FAILURES_LIMIT) {
    found.push({
      signal: 'failed_attempts',
      detail: `${signals.recentFailures} failed attempts before this one`,
    });
  }
  return found;
}

function formatHours(hours: number): string {
  return hours >= 1 ? `${hours.toFixed(1)} h` : `${Math.round(hours * 60)} min`;
}

/** Weighs the signals: the score is the sum of their points, capped at 100. */
export function assessRisk(
  signals: RiskSignals,
  weights: RiskWeights = DEFAULT_RISK_WEIGHTS,
): RiskAssessment {
  const reasons = present(signals)
    .map(({ signal, detail }) => ({ signal, points: weights[signal], detail }))
    .filter((reason) => reason.points > 0)
    .sort((a, b) => b.points - a.points);
  const score = Math.min(
    100,
    reasons.reduce((sum, reason) => sum + reason.points, 0),
  );
  return { score, reasons };
}
