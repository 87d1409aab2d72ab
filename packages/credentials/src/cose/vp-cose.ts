import { base64 } from '@scure/base';
import type { JsonObject } from '../jose/compact.js';
import { checkPresentation } from '../jose/document.js';
import { checkKeyHints, resolveKeyOrFail } from '../jose/key-resolution.js';
import {
  challengeClaims,
  checkChallenge,
  envelopedCredentials,
  verifyEnvelopes,
} from '../jose/presentation-envelopes.js';
import type { JwsSigner } from '../jose/signer.js';
import { checkValidity } from '../jose/validity.js';
import type { VerifyVpJwtOptions } from '../jose/vp-jwt.js';
import { checkCoseMediaType, cwtClaims, decodeJsonPayload, parseBase64DataUrl } from './cose-json.js';
import {
  type DecodedCoseSign1,
  decodeCoseSign1,
  HEADER,
  type HeaderMap,
  keyId,
  signCoseSign1,
  verifyCoseSign1Signature,
} from './cose-sign1.js';

export const VP_COSE_MEDIA_TYPE = 'application/vp+cose';
const VP_MEDIA_TYPE = 'application/vp';
/** A COSE-secured presentation in a data: URL is base64 encoded, like a credential (VC-JOSE-COSE §3.3). */
export const VP_COSE_DATA_URL = `data:${VP_COSE_MEDIA_TYPE};base64,`;

const encoder = new TextEncoder();

export interface IssueVpCoseInput {
  /** A VCDM 2.0 presentation whose credentials are EnvelopedVerifiableCredentials. */
  presentation: JsonObject;
  /** The holder's signer (any JWS signer: COSE takes the same raw signatures). */
  signer: JwsSigner;
  /** The verifier's challenge, carried as the presentation's `nonce` member. */
  nonce?: string;
  /** The verifier (domain), carried as the presentation's `aud` member. */
  audience?: string;
}

/**
 * Secures a VCDM 2.0 presentation as `application/vp+cose` (VC-JOSE-COSE §3.3.2), signed by the holder: a
 * tagged COSE_Sign1 whose payload is the presentation's JSON, `typ` (16) `application/vp+cose` and content type
 * (3) `application/vp` in the protected header. §3.3 defines no place for the verifier's challenge and domain;
 * they go into the signed payload as `nonce` and `aud`, where vp+jwt and vp+sd-jwt carry them.
 */
export async function issueVpCose(input: IssueVpCoseInput): Promise<Uint8Array> {
  const presentation: JsonObject = { ...input.presentation, ...challengeClaims(input) };
  const holder = checkPresentation(presentation);
  envelopedCredentials(presentation, 'invalid-presentation', 'vp+cose');
  checkKeyHints({ kid: input.signer.kid }, presentation, holder);
  const header: HeaderMap = new Map<number, unknown>([
    [HEADER.contentType, VP_MEDIA_TYPE],
    [HEADER.typ, VP_COSE_MEDIA_TYPE],
  ]);
  return signCoseSign1(header, encoder.encode(JSON.stringify(presentation)), input.signer);
}

export interface VerifiedVpCoseHolder {
  presentation: JsonObject;
  holder: string | undefined;
  /** The protected header's `kid`, as text. */
  kid: string | undefined;
  /** The presentation's EnvelopedVerifiableCredentials, in order: well-formed, not yet verified. */
  envelopes: JsonObject[];
}

export interface VerifiedVpCose extends Omit<VerifiedVpCoseHolder, 'envelopes'> {
  /** The verified credentials, in the presentation's order. */
  credentials: JsonObject[];
}

/** Parses a vp+cose without trusting it: a COSE_Sign1 (decodeCoseSign1) typed `vp+cose`, its JSON payload. */
export function decodeVpCose(bytes: Uint8Array): { decoded: DecodedCoseSign1; presentation: JsonObject } {
  const decoded = decodeCoseSign1(bytes);
  checkCoseMediaType(decoded.protectedHeader, VP_COSE_MEDIA_TYPE, VP_MEDIA_TYPE);
  return { decoded, presentation: decodeJsonPayload(decoded.payload) };
}

/**
 * The holder's part of verifyVpCose: COSE_Sign1 structure and typed header, the presentation checked as VCDM
 * 2.0, holder/key hints (CWT `iss`, else a verification method URL `kid` when there is a holder), the holder's
 * signature, nonce/aud against the challenge and domain, and CWT `exp`/`nbf`. The enveloped credentials are left
 * to the caller.
 */
export async function verifyVpCoseHolder(
  bytes: Uint8Array,
  options: Omit<VerifyVpJwtOptions, 'verifyEnvelopedCredential'>,
): Promise<VerifiedVpCoseHolder> {
  const { decoded, presentation } = decodeVpCose(bytes);
  const holder = checkPresentation(presentation, 'malformed');
  const envelopes = envelopedCredentials(presentation, 'malformed', 'vp+cose');
  const kid = keyId(decoded);
  const claims = cwtClaims(decoded.protectedHeader);
  checkKeyHints({ kid, iss: claims.iss }, presentation, holder);
  const jwk = await resolveKeyOrFail(options.resolveKey, kid, holder ?? claims.iss ?? presentation.iss);
  await verifyCoseSign1Signature(decoded, jwk, options);
  checkChallenge(presentation, options);
  checkValidity({ exp: claims.exp, nbf: claims.nbf }, options);
  return { presentation, holder, kid, envelopes };
}

/** Verifies an `application/vp+cose` (VC-JOSE-COSE §3.3.2, §5.3): verifyVpCoseHolder, then every credential. */
export async function verifyVpCose(bytes: Uint8Array, options: VerifyVpJwtOptions): Promise<VerifiedVpCose> {
  const { envelopes, ...verified } = await verifyVpCoseHolder(bytes, options);
  return { ...verified, credentials: await verifyEnvelopes(envelopes, options) };
}

/** The EnvelopedVerifiablePresentation id of a vp+cose: `data:application/vp+cose;base64,<base64>`. */
export function vpCoseDataUrl(cose: Uint8Array): string {
  return `${VP_COSE_DATA_URL}${base64.encode(cose)}`;
}

/** The bytes of a `data:application/vp+cose;base64,` URL (see parseBase64DataUrl). */
export function parseVpCoseDataUrl(id: unknown): Uint8Array {
  return parseBase64DataUrl(id, VP_COSE_DATA_URL, 'vp+cose');
}
