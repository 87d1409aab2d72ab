import { CryptoError, type JsonValue, canonicalJson as jcs } from '@personachain/crypto';
import { PersonaError } from './errors.js';

export type { JsonValue };

/** The canonical (RFC 8785) UTF-8 bytes of `value`; a value JCS cannot represent is 'malformed'. */
export function canonicalJson(value: unknown): Uint8Array {
  try {
    return jcs(value);
  } catch (error) {
    if (error instanceof CryptoError) throw new PersonaError('malformed', error.message);
    throw error;
  }
}

/**
 * Parses bytes that must already be canonical: any other encoding of the same value (whitespace, key
 * order, escapes, duplicate keys, `1.0`) is refused, so one operation has exactly one byte string and
 * therefore one hash.
 */
export function parseCanonicalJson(bytes: Uint8Array): JsonValue {
  let value: JsonValue;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (error) {
    throw new PersonaError('malformed', 'the operation is not UTF-8 JSON', undefined, { cause: error });
  }
  const canonical = canonicalJson(value);
  if (canonical.length !== bytes.length || canonical.some((byte, i) => byte !== bytes[i])) {
    throw new PersonaError('malformed', 'the operation is not in canonical (RFC 8785) form');
  }
  return value;
}
