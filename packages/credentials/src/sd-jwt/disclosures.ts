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

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): CredentialError {
  return new CredentialError('invalid-disclosure', message);
}

/**
 * Walks the payload through the disclosures it references: a digest under `_sd` must refer to an object
 * property disclosure (`[salt, name, value]`) and one in an array (`{"...": digest}`) to an array element
 * disclosure (`[salt, value]`); `_sd` is an array of strings; a disclosed name is neither `_sd` nor `...` and
 * does not already exist at its level (the library would silently overwrite it).
 */
function checkStructure(node: unknown, byDigest: ReadonlyMap<string, unknown[]>): void {
  if (Array.isArray(node)) {
    for (const element of node) {
      const keys = isObject(element) ? Object.keys(element) : [];
      if (keys.length !== 1 || keys[0] !== '...') {
        checkStructure(element, byDigest);
        continue;
      }
      const digest = (element as JsonObject)['...'];
      if (typeof digest !== 'string') throw invalid('an array element digest ("...") must be a string');
      const disclosure = byDigest.get(digest);
      if (disclosure === undefined) continue;
      if (disclosure.length !== 2)
        throw invalid('an array element digest refers to an object property disclosure');
      checkStructure(disclosure[1], byDigest);
    }
    return;
  }
  if (!isObject(node)) return;
  const digests = node._sd;
  const names = new Set(Object.keys(node));
  if (digests !== undefined) {
    if (!Array.isArray(digests) || !digests.every((digest) => typeof digest === 'string')) {
      throw invalid('_sd must be an array of digest strings');
    }
    for (const digest of digests) {
      const disclosure = byDigest.get(digest);
      if (disclosure === undefined) continue;
      if (disclosure.length !== 3) throw invalid('an _sd digest refers to an array element disclosure');
      const [, name, value] = disclosure;
      if (typeof name !== 'string' || name === '_sd' || name === '...') {
        throw invalid(`a disclosure cannot name the claim ${JSON.stringify(name)}`);
      }
      if (names.has(name)) throw invalid(`the disclosed claim "${name}" already exists at its level`);
      names.add(name);
      checkStructure(value, byDigest);
    }
  }
  for (const [key, value] of Object.entries(node)) {
    if (key !== '_sd') checkStructure(value, byDigest);
  }
}

/**
 * RFC 9901 §7.1 checks `@sd-jwt` leaves out, for every SD-JWT this package verifies (SD-JWT VC, and
 * VC-JOSE-COSE vc+sd-jwt / vp+sd-jwt): every Disclosure must be referenced by a digest in the issuer-signed
 * payload (directly or through another Disclosure), no digest may appear twice, and each Disclosure must fit
 * the place of its digest (checkStructure). Without this, a holder could append a Disclosure of their own
 * making and have it ignored silently, send two for one digest, or overwrite a signed claim.
 */
export async function checkDisclosures(payload: JsonObject, disclosures: readonly string[]): Promise<void> {
  const referenced: string[] = [];
  collectDigests(payload, referenced);
  const byDigest = new Map<string, unknown[]>();
  for (const disclosure of disclosures) {
    if (disclosure.length === 0) throw invalid('an empty disclosure');
    const decoded = decodeDisclosure(disclosure);
    collectDigests(decoded[decoded.length - 1], referenced);
    const digest = base64url.encode(await sha256Hasher(disclosure, 'sha-256'));
    if (byDigest.has(digest)) throw invalid('a disclosure is repeated');
    byDigest.set(digest, decoded);
  }
  const referencedSet = new Set(referenced);
  if (referencedSet.size !== referenced.length)
    throw invalid('a digest appears more than once in the SD-JWT');
  for (const digest of byDigest.keys()) {
    if (!referencedSet.has(digest)) throw invalid('a disclosure is not referenced by the issuer-signed JWT');
  }
  checkStructure(payload, byDigest);
}
