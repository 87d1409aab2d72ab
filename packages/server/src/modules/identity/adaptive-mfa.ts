import { distanceKm, type Location, locate } from '../../http/geo.js';
import type { IdentitySignInsTable } from '../../store/schema.js';
import { assessRisk, type RiskAssessment, type RiskSignals, type RiskWeights } from '../policy/risk.js';
import type { SignInHistory } from './sign-in-history.js';

/** A sign-in that has proved its password, as adaptive MFA sees it. */
export interface SignInContext {
  ip: string;
  /** The browser's device cookie, when it sent one. */
  deviceId: string | null;
  /** Failed password attempts for this identifier from this address before this one. */
  recentFailures: number;
}

export interface RiskDecision extends RiskAssessment {
  /** Where the address is, to remember with the sign-in once it completes. */
  location: Location | null;
}

function locationOf(row: IdentitySignInsTable): Location | null {
  if (row.country === null || row.latitude === null || row.longitude === null) return null;
  return {
    country: row.country,
    latitude: row.latitude,
    longitude: row.longitude,
    accuracyKm: row.accuracy_km ?? 0,
  };
}

/**
 * The signals of a sign-in against the user's history (newest first). "New" signals need a history:
 * a user's very first sign-in is only ever from a new device, which alone stays below any sensible
 * threshold. Travel is measured beyond both locations' accuracy radii, so two guesses of the same city
 * never look like a flight.
 */
export function signalsOf(
  history: readonly IdentitySignInsTable[],
  current: { addressHash: string; deviceHash: string | null; location: Location | null; at: Date },
  recentFailures: number,
): RiskSignals {
  const located = history.map(locationOf).filter((location): location is Location => location !== null);
  const previous = history[0];
  const previousLocation = previous ? locationOf(previous) : null;
  let travel: RiskSignals['travel'] = null;
  if (previous && previousLocation && current.location) {
    const km = Math.max(
      0,
      distanceKm(previousLocation, current.location) -
        previousLocation.accuracyKm -
        current.location.accuracyKm,
    );
    const hours = Math.max(0, current.at.getTime() - Date.parse(previous.at)) / 3_600_000;
    if (km > 0) travel = { km, hours };
  }
  const hourAgo = current.at.getTime() - 3_600_000;
  return {
    newDevice: current.deviceHash === null || !history.some((row) => row.device_hash === current.deviceHash),
    newAddress: history.length > 0 && !history.some((row) => row.address_hash === current.addressHash),
    newCountry:
      current.location !== null &&
      located.length > 0 &&
      !located.some((location) => location.country === current.location?.country),
    travel,
    signInsLastHour: history.filter((row) => Date.parse(row.at) > hourAgo).length,
    recentFailures,
  };
}

/** Scores sign-ins for projects whose MFA policy is adaptive, and remembers the ones that complete. */
export class AdaptiveMfa {
  constructor(
    private readonly history: SignInHistory,
    private readonly now: () => Date,
  ) {}

  async assess(
    projectId: string,
    userId: string,
    context: SignInContext,
    weights?: RiskWeights,
  ): Promise<RiskDecision> {
    const [history, location] = await Promise.all([
      this.history.recent(projectId, userId),
      locate(context.ip),
    ]);
    const signals = signalsOf(
      history,
      {
        addressHash: this.history.addressHash(projectId, context.ip),
        deviceHash: context.deviceId === null ? null : this.history.deviceHash(projectId, context.deviceId),
        location,
        at: this.now(),
      },
      context.recentFailures,
    );
    return { ...assessRisk(signals, weights), location };
  }

  /** Remembers a completed sign-in (whatever its factors), so the next one is compared with it. */
  async remember(
    projectId: string,
    userId: string,
    context: Pick<SignInContext, 'ip' | 'deviceId'>,
    location?: Location | null,
  ): Promise<void> {
    await this.history.record(projectId, userId, {
      ip: context.ip,
      deviceId: context.deviceId,
      location: location === undefined ? await locate(context.ip) : location,
    });
  }
}
