import { base64urlnopad } from '@scure/base';
import { CredentialError } from '../errors.js';
import type { SelectiveDisclosureSuite } from './suites.js';
import { isObject, type JsonObject } from './values.js';

/**
 * What the selective-disclosure suites share outside the libraries: JSON pointer checks (so a pointer that
 * selects nothing is a typed error before any canonicalization runs) and telling base from derived proofs.
 */

// RFC 6901: "" (the whole document) or "/"-separated reference tokens where "~" only starts "~0" or "~1".
const JSON_POINTER = /^(\/([^~/]|~[01])*)*$/;
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * Checks that every pointer is an RFC 6901 JSON pointer that selects a value of `document`. `what` names the
 * pointers in messages ("mandatory pointer", "selective pointer"). Throws `CredentialError('invalid-pointer')`.
 */
export function assertPointers(
  document: JsonObject,
  pointers: unknown,
  what: string,
): asserts pointers is string[] {
  if (!Array.isArray(pointers) || !pointers.every((p) => typeof p === 'string')) {
    throw new CredentialError('invalid-pointer', `The ${what}s must be an array of JSON pointer strings.`);
  }
  for (const pointer of pointers) {
    if (!JSON_POINTER.test(pointer)) {
      throw new CredentialError(
        'invalid-pointer',
        `The ${what} "${pointer}" is not a JSON pointer (RFC 6901).`,
        {
          details: { pointer },
        },
      );
    }
    if (pointerPath(document, pointer) === undefined) {
      throw new CredentialError(
        'invalid-pointer',
        `The ${what} "${pointer}" selects nothing in the credential.`,
        {
          details: { pointer },
        },
      );
    }
  }
}

/** The keys and array indexes a JSON pointer walks through `document`, or undefined if it selects nothing. */
export function pointerPath(document: JsonObject, pointer: string): (string | number)[] | undefined {
  const path: (string | number)[] = [];
  let value: unknown = document;
  for (const token of pointer.split('/').slice(1)) {
    const key = token.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(value)) {
      if (!ARRAY_INDEX.test(key) || Number(key) >= value.length) return undefined;
      path.push(Number(key));
      value = value[Number(key)];
    } else if (isObject(value) && Object.hasOwn(value, key)) {
      path.push(key);
      value = value[key];
    } else {
      return undefined;
    }
  }
  return path;
}

// The CBOR tag prefixes of the proof values (vc-di-ecdsa and vc-di-bbs "serialize/parse … proof value"):
// 0xd9 0x5d then 0x00 / 0x01 for an ecdsa-sd base / derived proof, 0x02 / 0x03 for a bbs-2023 base / derived
// proof without the optional features (holder binding, pseudonyms), which the libraries do not implement.
const HEADERS: Record<SelectiveDisclosureSuite, { base: number; derived: number }> = {
  'ecdsa-sd-2023': { base: 0x00, derived: 0x01 },
  'bbs-2023': { base: 0x02, derived: 0x03 },
};

/** Whether a proof value is a base or a derived proof of `suite`; `undefined` when it is neither. */
export function proofValueKind(
  suite: SelectiveDisclosureSuite,
  proofValue: unknown,
): 'base' | 'derived' | undefined {
  if (typeof proofValue !== 'string' || !proofValue.startsWith('u')) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = base64urlnopad.decode(proofValue.slice(1));
  } catch {
    return undefined;
  }
  if (bytes[0] !== 0xd9 || bytes[1] !== 0x5d) return undefined;
  const { base, derived } = HEADERS[suite];
  return bytes[2] === base ? 'base' : bytes[2] === derived ? 'derived' : undefined;
}
