import { DidError } from './errors.js';

/**
 * DID and DID URL syntax, W3C DID Core 1.0 §3.1–3.2:
 *
 *   did                = "did:" method-name ":" method-specific-id
 *   method-name        = 1*method-char            ; method-char = %x61-7A / DIGIT
 *   method-specific-id = *( *idchar ":" ) 1*idchar
 *   idchar             = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded
 *   did-url            = did path-abempty [ "?" query ] [ "#" fragment ]   ; RFC 3986 §3.3–3.5
 */

export interface ParsedDid {
  did: string;
  method: string;
  methodSpecificId: string;
}

export interface ParsedDidUrl extends ParsedDid {
  didUrl: string;
  /** RFC 3986 path-abempty: empty or starting with "/". */
  path: string;
  /** Without the leading "?"; undefined when absent (an empty query "?" is ""). */
  query?: string;
  /** Without the leading "#"; undefined when absent. */
  fragment?: string;
}

const PCT = '%[0-9A-Fa-f]{2}';
const IDCHAR = `(?:[A-Za-z0-9._-]|${PCT})`;
const METHOD_NAME = /^[a-z0-9]+$/;
const METHOD_SPECIFIC_ID = new RegExp(`^(?:${IDCHAR}*:)*${IDCHAR}+$`);
// pchar = unreserved / pct-encoded / sub-delims / ":" / "@"
const PCHAR = `(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@]|${PCT})`;
const PATH_ABEMPTY = new RegExp(`^(?:/${PCHAR}*)*$`);
const QUERY_OR_FRAGMENT = new RegExp(`^(?:${PCHAR}|[/?])*$`);

/** DIDs and DID URLs longer than this are refused before any parsing (no spec limit; a resource bound). */
export const MAX_DID_URL_LENGTH = 8192;

function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

function splitDid(did: string, code: 'invalidDid' | 'invalidDidUrl', what: string): ParsedDid {
  if (!did.startsWith('did:'))
    throw new DidError(code, `${what} ${describe(did)} does not start with "did:"`);
  const rest = did.slice(4);
  const colon = rest.indexOf(':');
  if (colon < 0) throw new DidError(code, `${what} ${describe(did)} has no method-specific identifier`);
  const method = rest.slice(0, colon);
  const methodSpecificId = rest.slice(colon + 1);
  if (!METHOD_NAME.test(method)) {
    throw new DidError(
      code,
      `${what} ${describe(did)}: the method name must be lowercase letters and digits`,
    );
  }
  if (!METHOD_SPECIFIC_ID.test(methodSpecificId)) {
    throw new DidError(
      code,
      `${what} ${describe(did)}: the method-specific identifier may contain only letters, digits, ".", "-", "_", ` +
        '"%" + two hex digits and ":" (not at the end)',
    );
  }
  return { did, method, methodSpecificId };
}

function checkLength(
  value: unknown,
  code: 'invalidDid' | 'invalidDidUrl',
  what: string,
): asserts value is string {
  if (typeof value !== 'string') throw new DidError(code, `${what} must be a string`);
  if (value.length > MAX_DID_URL_LENGTH) {
    throw new DidError(code, `${what} is longer than ${MAX_DID_URL_LENGTH} characters`);
  }
}

/** Parses a DID (no path, query or fragment); throws `DidError('invalidDid')` naming what is wrong. */
export function parseDid(did: string): ParsedDid {
  checkLength(did, 'invalidDid', 'a DID');
  if (/[/?#]/.test(did)) {
    throw new DidError(
      'invalidDid',
      `${describe(did)} is a DID URL (it has a path, query or fragment), not a DID`,
    );
  }
  return splitDid(did, 'invalidDid', 'DID');
}

export function isDid(value: unknown): value is string {
  try {
    parseDid(value as string);
    return true;
  } catch {
    return false;
  }
}

/** Parses a DID URL (a DID alone is a DID URL too); throws `DidError('invalidDidUrl')`. */
export function parseDidUrl(didUrl: string): ParsedDidUrl {
  checkLength(didUrl, 'invalidDidUrl', 'a DID URL');
  const hash = didUrl.indexOf('#');
  const beforeFragment = hash < 0 ? didUrl : didUrl.slice(0, hash);
  const fragment = hash < 0 ? undefined : didUrl.slice(hash + 1);
  const question = beforeFragment.indexOf('?');
  const beforeQuery = question < 0 ? beforeFragment : beforeFragment.slice(0, question);
  const query = question < 0 ? undefined : beforeFragment.slice(question + 1);
  const slash = beforeQuery.indexOf('/');
  const did = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash < 0 ? '' : beforeQuery.slice(slash);

  const parsed = splitDid(did, 'invalidDidUrl', 'the DID of DID URL');
  if (!PATH_ABEMPTY.test(path)) {
    throw new DidError('invalidDidUrl', `DID URL ${describe(didUrl)} has characters not allowed in a path`);
  }
  if (query !== undefined && !QUERY_OR_FRAGMENT.test(query)) {
    throw new DidError('invalidDidUrl', `DID URL ${describe(didUrl)} has characters not allowed in a query`);
  }
  if (fragment !== undefined && !QUERY_OR_FRAGMENT.test(fragment)) {
    throw new DidError(
      'invalidDidUrl',
      `DID URL ${describe(didUrl)} has characters not allowed in a fragment`,
    );
  }
  const result: ParsedDidUrl = { ...parsed, didUrl, path };
  if (query !== undefined) result.query = query;
  if (fragment !== undefined) result.fragment = fragment;
  return result;
}
