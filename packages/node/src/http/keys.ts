import { BadHeaderError } from './ownership.js';

export const MAX_KEY_BYTES = 256;

/** Half of a UTF-16 surrogate pair on its own cannot be encoded as UTF-8. */
const LONE_SURROGATE = /\p{Cs}/u;

// C0 controls, DEL and C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A storage key: 1..256 bytes of UTF-8 without control characters (`/` allowed, as in REPRAM's TS node). */
export function checkKey(key: string): string {
  if (key.length === 0) throw new BadHeaderError('the key must not be empty');
  if (key.length > MAX_KEY_BYTES || Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new BadHeaderError(`the key must be at most ${MAX_KEY_BYTES} bytes of UTF-8`);
  }
  if (CONTROL.test(key)) throw new BadHeaderError('the key must not contain control characters');
  if (LONE_SURROGATE.test(key)) throw new BadHeaderError('the key must be valid UTF-8');
  return key;
}

/** TTL in whole seconds within [min, max]; anything else is refused, never clamped. */
export function parseTtl(text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined || text === '') return fallback;
  if (!/^\d{1,10}$/.test(text)) {
    throw new BadHeaderError(`the TTL must be a whole number of seconds from ${min} to ${max}`);
  }
  const ttl = Number(text);
  if (ttl < min || ttl > max) {
    throw new BadHeaderError(`the TTL must be a whole number of seconds from ${min} to ${max}, got ${ttl}`);
  }
  return ttl;
}
