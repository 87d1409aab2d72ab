import { CredentialError } from '../errors.js';
import type { JsonObject } from './compact.js';

export interface ValidityOptions {
  /** The verification time; defaults to the current time. */
  now?: Date | number;
  /** Tolerated clock difference with the issuer, in seconds (default 0). */
  clockSkewSeconds?: number;
}

// XML Schema dateTimeStamp, which VCDM 2.0 requires for validFrom/validUntil: the offset is mandatory.
const dateTimeStamp = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const time = typeof value === 'string' && dateTimeStamp.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time))
    throw new CredentialError('malformed', `${name} must be an XML Schema dateTimeStamp`);
  return time;
}

function parseNumericDate(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CredentialError('malformed', `${name} must be a NumericDate (seconds since the epoch)`);
  }
  return value * 1000;
}

interface ValidityWindow {
  validFrom: number | undefined;
  validUntil: number | undefined;
  notBefore: number | undefined;
  expires: number | undefined;
}

/** The window's bounds in ms; malformed values, or validFrom after validUntil, are `malformed`. */
export function validityWindow(document: JsonObject): ValidityWindow {
  const window = {
    validFrom: parseDateTime(document.validFrom, 'validFrom'),
    validUntil: parseDateTime(document.validUntil, 'validUntil'),
    notBefore: parseNumericDate(document.nbf, 'nbf'),
    expires: parseNumericDate(document.exp, 'exp'),
  };
  if (
    window.validFrom !== undefined &&
    window.validUntil !== undefined &&
    window.validFrom > window.validUntil
  ) {
    throw new CredentialError('malformed', 'validFrom is later than validUntil');
  }
  return window;
}

/**
 * The validity window of a VCDM 2.0 document secured as a JWT: `validFrom`/`validUntil` (the data) and
 * `nbf`/`exp` (the signature, RFC 7519 §4.1.4–5). All that are present must hold. `iat` only records
 * when the signature was made and is not evaluated.
 */
export function checkValidity(document: JsonObject, options: ValidityOptions = {}): void {
  const now = options.now === undefined ? Date.now() : Number(options.now);
  const skew = (options.clockSkewSeconds ?? 0) * 1000;
  const { validFrom, validUntil, notBefore, expires } = validityWindow(document);
  if (validUntil !== undefined && now - skew > validUntil) {
    throw new CredentialError(
      'expired',
      `the credential expired at ${String(document.validUntil)} (validUntil)`,
    );
  }
  if (expires !== undefined && now - skew >= expires) {
    throw new CredentialError('expired', `the JWT expired at ${new Date(expires).toISOString()} (exp)`);
  }
  if (validFrom !== undefined && now + skew < validFrom) {
    throw new CredentialError('not-yet-valid', `the credential is valid from ${String(document.validFrom)}`);
  }
  if (notBefore !== undefined && now + skew < notBefore) {
    throw new CredentialError(
      'not-yet-valid',
      `the JWT is not valid before ${new Date(notBefore).toISOString()} (nbf)`,
    );
  }
}
