import type { TrustTemplate, Weekday } from './template.js';
import type { AccessRequest, Contribution } from './types.js';

/**
 * The trust score: a pure function of the template and the request, from the template's base plus
 * the points of each signal, kept in 0..100. Every signal that was looked at is listed (neutral ones
 * with 0 points), so the contributions always add up to the score.
 */

/** RFC 8176 amr values by authentication factor kind. */
const KNOWLEDGE = new Set(['pwd', 'pin', 'kba']);
const POSSESSION = new Set(['otp', 'sms', 'tel', 'hwk', 'swk', 'sc']);
const INHERENCE = new Set(['fpt', 'face', 'iris', 'retina', 'vbm']);

/**
 * How strong the authentication was: MFA when the amr says `mfa` or names factors of two kinds
 * (knowledge, possession, inherence); a passkey is an `hwk` (device-bound) or `swk` (synced) key, which
 * the identity module always reports with `user` and `mfa` because passkeys verify the user.
 */
export function authenticationStrength(methods: string[]): { mfa: boolean; passkey: boolean } {
  const passkey = methods.includes('hwk') || methods.includes('swk');
  let kinds = 0;
  for (const kind of [KNOWLEDGE, POSSESSION, INHERENCE]) {
    if (methods.some((method) => kind.has(method))) kinds += 1;
  }
  return { mfa: methods.includes('mfa') || kinds >= 2, passkey };
}

export type CountryStatus = 'allowed' | 'not_allowed' | 'unknown';

/** The signals as facts, for the evaluators (which see these, not the raw counts). */
export interface Signals {
  deviceRegistered: boolean;
  fingerprintPresent: boolean;
  country: CountryStatus;
  businessHours: boolean;
  overMinuteLimit: boolean;
  overHourLimit: boolean;
  mfa: boolean;
  freshMfa: boolean;
  passkey: boolean;
  authenticationStale: boolean;
}

export interface Score {
  score: number;
  contributions: Contribution[];
  signals: Signals;
}

export function trustScore(template: TrustTemplate, request: AccessRequest): Score {
  const weights = template.signals;
  const contributions: Contribution[] = [
    { signal: 'base', points: weights.base, detail: 'the template\u2019s base score' },
  ];
  const add = (signal: string, points: number, detail: string) =>
    contributions.push({ signal, points, detail });

  const { registered, fingerprintPresent } = request.device;
  if (registered) add('device', weights.device.registered, 'a registered device of the member');
  else if (fingerprintPresent)
    add('device', weights.device.unknown, 'a device the member has not registered');
  else add('device', weights.device.noFingerprint, 'no device fingerprint');

  const country = countryStatus(template, request.network.country);
  if (country === 'allowed') {
    const scope = template.countries.allowed.length === 0 ? 'every country is allowed' : 'an allowed country';
    add('country', weights.country.allowed, `${request.network.country}: ${scope}`);
  } else if (country === 'not_allowed') {
    add('country', weights.country.notAllowed, `${request.network.country} is not an allowed country`);
  } else {
    add('country', weights.country.unknown, 'no known country for the address');
  }

  const hours = template.businessHours;
  const local = localTime(request.at, hours.timeZone);
  const businessHours = isBusinessHours(template, local);
  const when = `${local.day} ${local.clock} ${hours.timeZone}`;
  if (businessHours) add('hours', weights.hours.business, `${when}: business hours`);
  else add('hours', weights.hours.off, `${when}: outside business hours`);

  const { lastMinute, lastHour, deniedLastHour } = request.recent;
  const limits = template.velocity;
  const overMinuteLimit = lastMinute > limits.perMinute;
  const overHourLimit = lastHour > limits.perHour;
  add(
    'velocity.minute',
    overMinuteLimit ? weights.velocity.overMinuteLimit : 0,
    `${count(lastMinute, 'access', 'accesses')} in the last minute, ${overMinuteLimit ? 'over' : 'within'} the limit of ${limits.perMinute}`,
  );
  add(
    'velocity.hour',
    overHourLimit ? weights.velocity.overHourLimit : 0,
    `${count(lastHour, 'access', 'accesses')} in the last hour, ${overHourLimit ? 'over' : 'within'} the limit of ${limits.perHour}`,
  );

  if (deniedLastHour > 0) {
    const denials = weights.recentDenials;
    add(
      'recent-denials',
      bounded(deniedLastHour * denials.each, denials.atMost),
      `${count(deniedLastHour, 'denied access', 'denied accesses')} in the last hour`,
    );
  }

  const { methods, ageSeconds } = request.authentication;
  const strength = authenticationStrength(methods);
  const amr = methods.length > 0 ? methods.join(', ') : 'none';
  if (strength.mfa) add('authentication.factors', weights.authentication.mfa, `multi-factor (amr ${amr})`);
  else add('authentication.factors', weights.authentication.singleFactor, `single factor (amr ${amr})`);
  if (strength.passkey) add('authentication.passkey', weights.authentication.passkey, 'a passkey');
  const authenticationStale = ageSeconds > template.authentication.maxAgeSeconds;
  add(
    'authentication.age',
    authenticationStale ? weights.authentication.stale : 0,
    `authenticated ${ageSeconds} s ago${authenticationStale ? `, more than ${template.authentication.maxAgeSeconds} s` : ''}`,
  );

  const { verified, unverified } = request.proofs;
  if (verified > 0) {
    add(
      'proofs',
      bounded(verified * weights.proofs.eachVerified, weights.proofs.atMost),
      count(verified, 'verified context proof', 'verified context proofs'),
    );
  }
  if (unverified > 0) {
    add(
      'proofs.unverified',
      0,
      `${count(unverified, 'unverified context proof', 'unverified context proofs')}: not counted`,
    );
  }

  const sum = contributions.reduce((total, c) => total + c.points, 0);
  const score = Math.min(100, Math.max(0, sum));
  if (score !== sum) add('bounds', score - sum, `the score is kept in 0..100 (signals sum to ${sum})`);

  return {
    score,
    contributions,
    signals: {
      deviceRegistered: registered,
      fingerprintPresent: registered || fingerprintPresent,
      country,
      businessHours,
      overMinuteLimit,
      overHourLimit,
      mfa: strength.mfa,
      freshMfa: strength.mfa && ageSeconds <= template.authentication.freshSeconds,
      passkey: strength.passkey,
      authenticationStale,
    },
  };
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `points` limited to at most `limit` in size, keeping its sign. */
function bounded(points: number, limit: number): number {
  return Math.sign(points) * Math.min(Math.abs(points), limit);
}

function countryStatus(template: TrustTemplate, country: string | null): CountryStatus {
  if (country === null) return 'unknown';
  const allowed = template.countries.allowed;
  return allowed.length === 0 || allowed.includes(country.toUpperCase()) ? 'allowed' : 'not_allowed';
}

interface LocalTime {
  day: Weekday;
  /** HH:MM, 24-hour. */
  clock: string;
}

interface Zone {
  formatter: Intl.DateTimeFormat;
  /** The last time read in this zone, by its whole second: decisions mostly ask about now. */
  second: number;
  local: LocalTime | null;
}

/**
 * Zones by name, each with its formatter (building one costs far more than using it) and the last time
 * read in it (formatting costs ~15 µs; a zone's offset is whole seconds, so one second has one local
 * time). Zones come from valid templates.
 */
const zones = new Map<string, Zone>();

function localTime(at: Date, timeZone: string): LocalTime {
  let zone = zones.get(timeZone);
  if (!zone) {
    const formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    zone = { formatter, second: Number.NaN, local: null };
    zones.set(timeZone, zone);
  }
  const second = Math.floor(at.getTime() / 1000);
  if (zone.local && zone.second === second) return zone.local;
  zone.local = formatParts(zone.formatter, at);
  zone.second = second;
  return zone.local;
}

function formatParts(formatter: Intl.DateTimeFormat, at: Date): LocalTime {
  let day = '';
  let hour = '';
  let minute = '';
  for (const part of formatter.formatToParts(at)) {
    if (part.type === 'weekday') day = part.value.toLowerCase();
    else if (part.type === 'hour') hour = part.value;
    else if (part.type === 'minute') minute = part.value;
  }
  return { day: day as Weekday, clock: `${hour}:${minute}` };
}

function isBusinessHours(template: TrustTemplate, local: LocalTime): boolean {
  const { days, start, end } = template.businessHours;
  return days.includes(local.day) && local.clock >= start && local.clock < end;
}
