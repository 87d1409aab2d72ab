import { CryptoError } from './errors.js';

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the JSON subset our signed documents use: objects,
 * arrays, strings, booleans, null and safe integers. With no fractions or exponents, JCS number
 * serialization reduces to the shortest decimal integer, and ECMAScript's `JSON.stringify` string
 * escaping is exactly JCS's (RFC 8785 §3.2.2.2); keys are sorted by UTF-16 code units (§3.2.3), which is
 * what `Array.prototype.sort` does on strings.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serialize(value: unknown): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
      throw new CryptoError('malformed-input', `${value} is not a safe integer`);
    }
    return String(value);
  }
  if (typeof value === 'string') {
    // RFC 8785 §3.2.2.2: lone surrogates cannot be represented in UTF-8.
    if (LONE_SURROGATE.test(value)) throw new CryptoError('malformed-input', 'a string has a lone surrogate');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${serialize(k)}:${serialize(v)}`).join(',')}}`;
  }
  throw new CryptoError('malformed-input', `a ${typeof value} cannot be canonical JSON`);
}

/** The canonical UTF-8 bytes of `value` (undefined object members are left out). */
export function canonicalJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(serialize(value));
}
