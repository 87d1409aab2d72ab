import { CredentialError } from '../errors.js';
import type { JsonObject } from './compact.js';

/** RFC 7515 §4.1.9–10: media type names compare case-insensitively, `application/` may be omitted. */
function normalise(value: string): string {
  const lower = value.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/**
 * Explicit typing (RFC 8725 §3.11): `typ` must name the expected media type, so a VP, an SD-JWT or an
 * ID token can never pass for a `vc+jwt`. `cty`, when present, must name the secured content.
 */
export function checkMediaType(header: JsonObject, typ: string, cty: string): void {
  if (typeof header.typ !== 'string' || normalise(header.typ) !== typ) {
    throw new CredentialError(
      'invalid-media-type',
      `the JWS typ must be ${typ}, got ${JSON.stringify(header.typ)}`,
    );
  }
  if (header.cty !== undefined && (typeof header.cty !== 'string' || normalise(header.cty) !== cty)) {
    throw new CredentialError(
      'invalid-media-type',
      `the JWS cty must be ${cty}, got ${JSON.stringify(header.cty)}`,
    );
  }
}
