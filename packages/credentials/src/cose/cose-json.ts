import { fromBase64Url } from '@personachain/crypto';
import { CredentialError } from '../errors.js';
import type { JsonObject } from '../jose/compact.js';
import { HEADER, type HeaderMap, textHeader } from './cose-sign1.js';

/*
 * What VC-JOSE-COSE §3.3 credentials (vc+cose) and presentations (vp+cose) share: a COSE_Sign1 whose payload is
 * the document's JSON, typed in the protected header, carried in a base64 data: URL.
 */

const decoder = new TextDecoder('utf-8', { fatal: true });

/** `typ` (16) must be `typ`; the content type (3), when present, must be `contentType` (both case-insensitive). */
export function checkCoseMediaType(header: HeaderMap, typ: string, contentType: string): void {
  const actualTyp = textHeader(header, HEADER.typ);
  if (actualTyp?.toLowerCase() !== typ) {
    throw new CredentialError(
      'invalid-media-type',
      `the COSE typ must be ${typ}, got ${JSON.stringify(header.get(HEADER.typ))}`,
    );
  }
  const actualContentType = header.get(HEADER.contentType);
  if (
    actualContentType !== undefined &&
    (typeof actualContentType !== 'string' || actualContentType.toLowerCase() !== contentType)
  ) {
    throw new CredentialError(
      'invalid-media-type',
      `the COSE content type must be ${contentType}, got ${JSON.stringify(actualContentType)}`,
    );
  }
}

export function decodeJsonPayload(payload: Uint8Array): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch (cause) {
    throw new CredentialError('malformed', 'the COSE payload is not UTF-8 JSON', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CredentialError('malformed', 'the COSE payload is not a JSON object');
  }
  return value as JsonObject;
}

/** CWT claims in the protected header (RFC 9597): `iss` (1), `exp` (4), `nbf` (5), as JWT claim names. */
export function cwtClaims(header: HeaderMap): JsonObject {
  const claims = header.get(HEADER.cwtClaims);
  if (claims === undefined) return {};
  if (!(claims instanceof Map)) throw new CredentialError('malformed', 'the CWT claims header is not a map');
  const named: JsonObject = {};
  for (const [label, name] of [
    [1, 'iss'],
    [4, 'exp'],
    [5, 'nbf'],
  ] as const) {
    if (claims.has(label)) named[name] = claims.get(label);
  }
  return named;
}

/**
 * The bytes of a `<prefix><base64>` data: URL (`prefix` ends in `;base64,`): base64 (RFC 4648 §4; padding
 * optional, base64url tolerated). Other encodings (hex, raw CBOR) fail here or then fail to decode as a COSE_Sign1.
 */
export function parseBase64DataUrl(id: unknown, prefix: string, what: string): Uint8Array {
  if (typeof id !== 'string' || !id.toLowerCase().startsWith(prefix)) {
    throw new CredentialError('malformed', `an enveloped ${what} id must start with ${prefix}`);
  }
  const data = id.slice(prefix.length);
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(data)) {
    throw new CredentialError('malformed', `the ${what} data is not base64`);
  }
  try {
    return fromBase64Url(data.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''));
  } catch (cause) {
    throw new CredentialError('malformed', `the ${what} data is not base64`, { cause });
  }
}
