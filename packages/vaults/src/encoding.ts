import { fromBase64Url, canonicalJson as jcs, toBase64Url } from '@personachain/crypto';
import { VaultFormatError } from './errors.js';

/** base64url without padding: how every byte string of a vault document travels. */
export const b64u = {
  encode: (bytes: Uint8Array): string => toBase64Url(bytes),
  decode: (text: string): Uint8Array => fromBase64Url(text),
};

/** Decodes a base64url field, naming it in the error. */
export function decodeField(text: unknown, path: string, length?: { min: number; max: number }): Uint8Array {
  if (typeof text !== 'string') throw new VaultFormatError('expected a base64url string', path);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text);
  } catch {
    throw new VaultFormatError('not base64url (RFC 4648 §5, no padding)', path);
  }
  if (length && (bytes.length < length.min || bytes.length > length.max)) {
    const expected = length.min === length.max ? `${length.min}` : `${length.min} to ${length.max}`;
    throw new VaultFormatError(`expected ${expected} bytes, got ${bytes.length}`, path);
  }
  return bytes;
}

/** RFC 8785 canonical JSON bytes: one value, one byte string, so one hash and one signature. */
export function canonicalJson(value: unknown): Uint8Array {
  return jcs(value);
}

const encoder = new TextEncoder();

/** `label\n` followed by each part and a newline: unambiguous because no part may contain a newline. */
export function labelled(label: string, ...parts: (string | number)[]): Uint8Array {
  for (const part of parts) {
    if (typeof part === 'string' && part.includes('\n')) {
      throw new VaultFormatError('an identifier may not contain a newline');
    }
  }
  return encoder.encode(`${label}\n${parts.map((part) => `${part}\n`).join('')}`);
}
