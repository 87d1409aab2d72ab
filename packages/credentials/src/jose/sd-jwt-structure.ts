import { base64url } from 'jose';
import { CredentialError } from '../errors.js';
import { sha256Hasher } from '../sd-jwt/digest.js';
import { decodeDisclosure } from '../sd-jwt/disclosures.js';
import type { JsonObject } from './compact.js';

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): CredentialError {
  return new CredentialError('invalid-disclosure', message);
}

/** The decoded disclosures by their digest (base64url SHA-256 of the disclosure as sent). */
async function disclosuresByDigest(disclosures: readonly string[]): Promise<Map<string, unknown[]>> {
  const byDigest = new Map<string, unknown[]>();
  for (const disclosure of disclosures) {
    byDigest.set(base64url.encode(await sha256Hasher(disclosure, 'sha-256')), decodeDisclosure(disclosure));
  }
  return byDigest;
}

function walk(node: unknown, byDigest: Map<string, unknown[]>): void {
  if (Array.isArray(node)) {
    for (const element of node) {
      const keys = isObject(element) ? Object.keys(element) : [];
      if (keys.length !== 1 || keys[0] !== '...') {
        walk(element, byDigest);
        continue;
      }
      const digest = (element as JsonObject)['...'];
      if (typeof digest !== 'string') throw invalid('an array element digest ("...") must be a string');
      const disclosure = byDigest.get(digest);
      if (disclosure === undefined) continue;
      if (disclosure.length !== 2)
        throw invalid('an array element digest refers to an object property disclosure');
      walk(disclosure[1], byDigest);
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
      walk(value, byDigest);
    }
  }
  for (const [key, value] of Object.entries(node)) {
    if (key !== '_sd') walk(value, byDigest);
  }
}

/**
 * RFC 9901 §7.1 step 3 checks the SD-JWT library leaves out when it rebuilds the claims: `_sd` is an array of
 * strings; a digest under `_sd` refers to an object property disclosure (`[salt, name, value]`) and one in an
 * array (`{"...": digest}`) to an array element disclosure (`[salt, value]`); a disclosed name is neither `_sd`
 * nor `...` and does not already exist at its level (the library would silently overwrite it). Together with
 * checkDisclosuresReferenced (every disclosure referenced, no digest twice) a holder cannot add or reshape claims.
 */
export async function checkDisclosureStructure(
  payload: JsonObject,
  disclosures: readonly string[],
): Promise<void> {
  walk(payload, await disclosuresByDigest(disclosures));
}
