import { base64url } from 'jose';
import { CredentialError } from '../errors.js';
import type { JsonObject } from '../jose/compact.js';
import { sha256Hasher } from './digest.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

export function decodeDisclosure(disclosure: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(base64url.decode(disclosure)));
  } catch (cause) {
    throw new CredentialError('invalid-disclosure', 'a disclosure is not base64url-encoded JSON', { cause });
  }
  if (!Array.isArray(value) || (value.length !== 2 && value.length !== 3) || typeof value[0] !== 'string') {
    throw new CredentialError(
      'invalid-disclosure',
      'a disclosure must be [salt, name, value] or [salt, value]',
    );
  }
  return value;
}

/** Every digest a JSON value references: `_sd` entries of objects and `{"...": digest}` array elements. */
function collectDigests(value: unknown, into: string[]): void {
  if (Array.isArray(value)) {
    for (const element of value) {
      const keys = typeof element === 'object' && element !== null ? Object.keys(element) : [];
      if (keys.length === 1 && keys[0] === '...') into.push(String((element as JsonObject)['...']));
      else collectDigests(element, into);
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, member] of Object.entries(value)) {
      if (key === '_sd' && Array.isArray(member)) into.push(...member.map(String));
      else collectDigests(member, into);
    }
  }
}

/**
 * RFC 9901 §7.1 checks `@sd-jwt` leaves out: every Disclosure must be referenced by a digest in the
 * issuer-signed payload (directly or through another Disclosure), and no digest may appear twice.
 * Without this, a holder could append a Disclosure of their own making and have it ignored silently,
 * or two Disclosures for one digest.
 */
export async function checkDisclosuresReferenced(
  payload: JsonObject,
  disclosures: readonly string[],
): Promise<void> {
  const referenced: string[] = [];
  collectDigests(payload, referenced);
  const digests: string[] = [];
  for (const disclosure of disclosures) {
    if (disclosure.length === 0) throw new CredentialError('invalid-disclosure', 'an empty disclosure');
    const decoded = decodeDisclosure(disclosure);
    collectDigests(decoded[decoded.length - 1], referenced);
    digests.push(base64url.encode(await sha256Hasher(disclosure, 'sha-256')));
  }
  const referencedSet = new Set(referenced);
  if (referencedSet.size !== referenced.length) {
    throw new CredentialError('invalid-disclosure', 'a digest appears more than once in the SD-JWT');
  }
  if (new Set(digests).size !== digests.length) {
    throw new CredentialError('invalid-disclosure', 'a disclosure is repeated');
  }
  for (const digest of digests) {
    if (!referencedSet.has(digest)) {
      throw new CredentialError(
        'invalid-disclosure',
        'a disclosure is not referenced by the issuer-signed JWT',
      );
    }
  }
}
