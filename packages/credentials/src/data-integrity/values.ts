/** Small predicates on JSON values that the VC Data Model's MUSTs are written in. */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A JSON-LD "one or more": a single value or an array of them. */
export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** An absolute URL in the WHATWG sense (a scheme is required): `https:…`, `did:…`, `urn:uuid:…`. */
export function isAbsoluteUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

// XML Schema 1.1 dateTime (https://www.w3.org/TR/xmlschema11-2/#dateTime), anchored; the time zone is
// optional here and required in a dateTimeStamp.
const DATE_TIME =
  /^-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|24:00:00(\.0+)?)(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?$/;
const TIME_ZONE = /(Z|[+-]\d\d:\d\d)$/;

/** xsd:dateTime that JavaScript can also place on the time line (VC 1.1 `issuanceDate`, `expirationDate`). */
export function isDateTime(value: unknown): value is string {
  return typeof value === 'string' && DATE_TIME.test(value) && Number.isFinite(Date.parse(value));
}

/** xsd:dateTimeStamp: a dateTime with a time zone (VC 2.0 `validFrom`/`validUntil`, proof `created`/`expires`). */
export function isDateTimeStamp(value: unknown): value is string {
  return isDateTime(value) && TIME_ZONE.test(value);
}
