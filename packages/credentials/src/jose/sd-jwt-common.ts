import { SDJwtInstance } from '@sd-jwt/core';
import { assertPointers, pointerPath } from '../data-integrity/selective-disclosure.js';
import { CredentialError } from '../errors.js';
import { type ClaimPath, disclosureFrame } from '../sd-jwt/claim-paths.js';
import { saltGenerator, sha256Hasher } from '../sd-jwt/digest.js';
import { checkDisclosures } from '../sd-jwt/disclosures.js';
import { librarySigner } from '../sd-jwt/key-binding.js';
import { type DecodedJws, decodeCompactJws, type JsonObject } from './compact.js';
import { checkMediaType } from './media-type.js';
import type { JwsSigner } from './signer.js';

/*
 * What VC-JOSE-COSE §3.2 credentials (vc+sd-jwt) and presentations (vp+sd-jwt) share: the document is the
 * SD-JWT payload (RFC 9901), with a disclosure per disclosable pointer, signed through a JwsSigner.
 */

/** The library's disclosure frame type for a VCDM payload (claim-paths builds it for SD-JWT VC payloads). */
type DisclosureFrame = Parameters<SDJwtInstance<JsonObject>['issue']>[1];

/** A library failure as a CredentialError; ours pass through. */
export function libraryError(cause: unknown): CredentialError {
  if (cause instanceof CredentialError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new CredentialError('malformed', `SD-JWT rejected: ${message}`, { cause });
}

/**
 * RFC 6901 pointers (checked to select a value of `document`) as claim paths: a token under an array is its
 * index. Pointers to the whole document or to a top-level property of `alwaysDisclosed` are `invalid-pointer`.
 */
export function claimPaths(
  document: JsonObject,
  pointers: readonly string[],
  what: string,
  alwaysDisclosed: ReadonlySet<string>,
): ClaimPath[] {
  assertPointers(document, pointers, what);
  return pointers.map((pointer) => {
    const path = pointerPath(document, pointer) as (string | number)[];
    if (path.length === 0 || (path.length === 1 && alwaysDisclosed.has(String(path[0])))) {
      throw new CredentialError(
        'invalid-pointer',
        `The ${what} "${pointer}" cannot be selectively disclosable.`,
        {
          details: { pointer },
        },
      );
    }
    return path;
  });
}

/** Signs `payload` as an SD-JWT with a disclosure per path; returns `<jwt>~<disclosure>~…~`. */
export async function issueSdJwt(
  payload: JsonObject,
  paths: readonly ClaimPath[],
  header: { typ: string; cty: string },
  signer: JwsSigner,
): Promise<string> {
  const sdjwt = new SDJwtInstance({
    hasher: sha256Hasher,
    saltGenerator,
    signer: librarySigner(signer),
    signAlg: signer.alg,
  });
  try {
    return await sdjwt.issue(
      payload,
      paths.length === 0 ? undefined : (disclosureFrame(payload, paths) as DisclosureFrame),
      { header: { ...header, kid: signer.kid } },
    );
  } catch (cause) {
    throw libraryError(cause);
  }
}

export interface DecodedSdJwt extends DecodedJws {
  /** The issuer-signed JWT (its signature not yet verified). */
  jwt: string;
  /** The `~`-separated parts: the JWT, the disclosures, the KB-JWT (empty when there is none). */
  parts: string[];
}

/**
 * Parses an SD-JWT without trusting it: `<jwt>~<disclosures>~[<kb-jwt>]`, the issuer-signed JWT a compact JWS
 * typed `typ`/`cty`. Its payload is as signed: the disclosures are neither checked nor applied (openSdJwt does).
 */
export function decodeSdJwt(sdJwt: unknown, typ: string, cty: string): DecodedSdJwt {
  if (typeof sdJwt !== 'string') throw new CredentialError('malformed', 'an SD-JWT must be a string');
  const parts = sdJwt.split('~');
  const jwt = parts[0] ?? '';
  if (parts.length < 2 || jwt.length === 0) {
    throw new CredentialError('malformed', 'an SD-JWT is <jwt>~<disclosures>~[<kb-jwt>]');
  }
  const { header, payload } = decodeCompactJws(jwt);
  checkMediaType(header, typ, cty);
  return { jwt, header, payload, parts };
}

export interface OpenedSdJwt extends Omit<DecodedSdJwt, 'payload'> {
  /** The document rebuilt from the disclosures received (RFC 9901 §7.1): withheld claims are absent. */
  claims: JsonObject;
}

/**
 * RFC 9901 §7.1 before the signature: `typ`/`cty` as expected, `_sd_alg` sha-256, every disclosure referenced
 * once and in a place of its kind, then the document rebuilt. The caller checks the document, then the signature.
 */
export async function openSdJwt(sdJwt: unknown, typ: string, cty: string): Promise<OpenedSdJwt> {
  const { jwt, header, payload, parts } = decodeSdJwt(sdJwt, typ, cty);
  const disclosures = parts.slice(1, -1);
  if (payload._sd_alg !== undefined && payload._sd_alg !== 'sha-256') {
    throw new CredentialError(
      'unsupported-alg',
      `_sd_alg ${JSON.stringify(payload._sd_alg)} is not supported`,
    );
  }
  await checkDisclosures(payload, disclosures);
  let claims: JsonObject;
  try {
    // decodeSdJwt has checked it is a string.
    claims = (await new SDJwtInstance({ hasher: sha256Hasher }).getClaims(sdJwt as string)) as JsonObject;
  } catch (cause) {
    throw libraryError(cause);
  }
  return { jwt, header, claims, parts };
}
