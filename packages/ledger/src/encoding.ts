import { LedgerError } from './errors.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** RFC 4648 §4 standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Strict standard base64: padding required, no whitespace, and canonical (unused trailing bits zero),
 * so every byte string has exactly one accepted spelling. Throws LedgerError('malformed').
 */
export function fromBase64(text: string, what = 'base64'): Uint8Array {
  if (!BASE64.test(text)) throw new LedgerError('malformed', `${what} is not valid base64`);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (toBase64(bytes) !== text) throw new LedgerError('malformed', `${what} is not canonical base64`);
  return bytes;
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Unsigned decimal without leading zeros ("0" for zero), as every C2SP text format requires. */
export function parseDecimal(text: string, what: string): number {
  if (!/^(?:0|[1-9][0-9]*)$/.test(text))
    throw new LedgerError('malformed', `${what} is not a canonical decimal`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new LedgerError('malformed', `${what} is larger than 2^53 - 1`);
  return value;
}

// A lone UTF-16 surrogate cannot be encoded as UTF-8: such a string is not valid note text.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Valid UTF-8 and no ASCII control characters (below U+0020) except "\n" (signed-note §Format). */
export function isNoteSafe(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && code !== 0x0a) return false;
  }
  return !LONE_SURROGATE.test(text);
}

// Go's unicode.IsSpace: ASCII spaces, U+0085, U+00A0 and the Unicode Z categories.
const UNICODE_SPACE = /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/;

/** signed-note key names: non-empty, no Unicode spaces, no "+" (and nothing a note could not carry). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !name.includes('+') && !UNICODE_SPACE.test(name) && isNoteSafe(name);
}
