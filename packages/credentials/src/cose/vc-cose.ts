import { base64 } from '@scure/base';
import type { JsonObject } from '../jose/compact.js';
import { checkCredential } from '../jose/document.js';
import { checkKeyHints, type ResolveKey, resolveKeyOrFail } from '../jose/key-resolution.js';
import type { SignatureCheckOptions } from '../jose/signature-check.js';
import type { JwsSigner } from '../jose/signer.js';
import { checkValidity, type ValidityOptions, validityWindow } from '../jose/validity.js';
import { checkCoseMediaType, cwtClaims, decodeJsonPayload, parseBase64DataUrl } from './cose-json.js';
import {
  decodeCoseSign1,
  HEADER,
  type HeaderMap,
  keyId,
  signCoseSign1,
  verifyCoseSign1Signature,
} from './cose-sign1.js';

export const VC_COSE_MEDIA_TYPE = 'application/vc+cose';
const VC_MEDIA_TYPE = 'application/vc';
/** VC-JOSE-COSE §3.3.1: a COSE-secured credential in a data: URL is base64 encoded (RFC 2397). */
export const VC_COSE_DATA_URL = `data:${VC_COSE_MEDIA_TYPE};base64,`;

const encoder = new TextEncoder();

export interface IssueVcCoseInput {
  credential: JsonObject;
  /** Any JWS signer: COSE takes the same raw signatures (ECDSA `r‖s`). */
  signer: JwsSigner;
}

/**
 * Secures a VCDM 2.0 credential as `application/vc+cose` (VC-JOSE-COSE §3.3.1): a tagged COSE_Sign1 whose
 * payload is the credential's JSON, with `alg`, `kid`, `typ` (16) `application/vc+cose` and content type
 * (3) `application/vc` in the protected header.
 */
export async function issueVcCose({ credential, signer }: IssueVcCoseInput): Promise<Uint8Array> {
  const issuer = checkCredential(credential);
  checkKeyHints({ kid: signer.kid }, credential, issuer);
  validityWindow(credential);
  const header: HeaderMap = new Map<number, unknown>([
    [HEADER.contentType, VC_MEDIA_TYPE],
    [HEADER.typ, VC_COSE_MEDIA_TYPE],
  ]);
  return signCoseSign1(header, encoder.encode(JSON.stringify(credential)), signer);
}

export interface VerifyVcCoseOptions extends ValidityOptions, SignatureCheckOptions {
  resolveKey: ResolveKey;
}

export interface VerifiedVcCose {
  /** The credential: the decoded COSE_Sign1 payload. */
  credential: JsonObject;
  issuer: string;
  /** The protected header's `kid`, as text. */
  kid: string | undefined;
}

/**
 * Verifies an `application/vc+cose` (VC-JOSE-COSE §5.3): COSE_Sign1 structure and accepted alg, typed header,
 * VCDM 2.0 structure of the payload, issuer/key hints (§4: `iss` from the CWT claims must match the issuer;
 * without it the `kid` must be a verification method URL), the signature (key from `resolveKey`), then the
 * credential's validity window and the CWT `exp`/`nbf`.
 */
export async function verifyVcCose(bytes: Uint8Array, options: VerifyVcCoseOptions): Promise<VerifiedVcCose> {
  const decoded = decodeCoseSign1(bytes);
  checkCoseMediaType(decoded.protectedHeader, VC_COSE_MEDIA_TYPE, VC_MEDIA_TYPE);
  const credential = decodeJsonPayload(decoded.payload);
  const issuer = checkCredential(credential, 'malformed');
  const kid = keyId(decoded);
  const claims = cwtClaims(decoded.protectedHeader);
  checkKeyHints({ kid, iss: claims.iss }, credential, issuer);
  const jwk = await resolveKeyOrFail(options.resolveKey, kid, issuer);
  await verifyCoseSign1Signature(decoded, jwk, options);
  checkValidity(credential, options);
  checkValidity({ exp: claims.exp, nbf: claims.nbf }, options);
  return { credential, issuer, kid };
}

/** The EnvelopedVerifiableCredential id of a vc+cose: `data:application/vc+cose;base64,<base64>`. */
export function vcCoseDataUrl(cose: Uint8Array): string {
  return `${VC_COSE_DATA_URL}${base64.encode(cose)}`;
}

/** The bytes of a `data:application/vc+cose;base64,` URL (see parseBase64DataUrl). */
export function parseVcCoseDataUrl(id: unknown): Uint8Array {
  return parseBase64DataUrl(id, VC_COSE_DATA_URL, 'vc+cose');
}
