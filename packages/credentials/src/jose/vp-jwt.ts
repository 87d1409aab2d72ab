import {
  type DecodedJws,
  decodeCompactJws,
  type JsonObject,
  signCompactJws,
  verifyCompactJwsSignature,
} from './compact.js';
import { checkPresentation } from './document.js';
import { checkKeyHints, resolveKeyOrFail } from './key-resolution.js';
import { checkMediaType } from './media-type.js';
import {
  checkChallenge,
  type ExpectedChallenge,
  envelopedCredentials,
  type PresentationClaimsInput,
  presentationPayload,
  type VerifyEnvelopesOptions,
  verifyEnvelopes,
} from './presentation-envelopes.js';
import { checkValidity } from './validity.js';

export const VP_JWT_MEDIA_TYPE = 'application/vp+jwt';
/** A vp+jwt in a data: URL is its compact JWS as is (VC-JOSE-COSE §3.1.2). */
export const VP_JWT_DATA_URL = `data:${VP_JWT_MEDIA_TYPE},`;

/** The presentation, the holder's signer, and the `iat`/`exp`/`nonce`/`aud` claims to add. */
export type IssueVpJwtInput = PresentationClaimsInput;

/** Secures a VCDM 2.0 presentation as `application/vp+jwt`, signed by the holder. */
export async function issueVpJwt(input: IssueVpJwtInput): Promise<string> {
  const payload = presentationPayload(input, 'vp+jwt');
  return signCompactJws({ typ: 'vp+jwt', cty: 'vp' }, payload, input.signer);
}

/** Resolves the holder's key (for the VP) and the issuers' keys (for the enveloped credentials). */
export interface VerifyVpJwtOptions extends VerifyEnvelopesOptions, ExpectedChallenge {}

export interface VerifiedVpJwt {
  presentation: JsonObject;
  header: JsonObject;
  holder: string | undefined;
  /** The verified credentials, in the presentation's order. */
  credentials: JsonObject[];
}

export interface VerifiedVpJwtHolder {
  presentation: JsonObject;
  header: JsonObject;
  holder: string | undefined;
  /** The presentation's EnvelopedVerifiableCredentials, in order: well-formed, not yet verified. */
  envelopes: JsonObject[];
}

/** Parses a vp+jwt without trusting it: a compact JWS (decodeCompactJws) typed `vp+jwt`. */
export function decodeVpJwt(jws: unknown): DecodedJws {
  const decoded = decodeCompactJws(jws);
  checkMediaType(decoded.header, 'vp+jwt', 'vp');
  return decoded;
}

/**
 * The holder's part of verifyVpJwt: the holder's signature, nonce/aud against the challenge and domain, and
 * the window. The enveloped credentials are left to the caller, which can then report on each of them.
 */
export async function verifyVpJwtHolder(
  jws: unknown,
  options: Omit<VerifyVpJwtOptions, 'verifyEnvelopedCredential'>,
): Promise<VerifiedVpJwtHolder> {
  const { header, payload } = decodeVpJwt(jws);
  const holder = checkPresentation(payload, 'malformed');
  const envelopes = envelopedCredentials(payload, 'malformed', 'vp+jwt');
  checkKeyHints(header, payload, holder);
  const jwk = await resolveKeyOrFail(options.resolveKey, header.kid, holder ?? payload.iss);
  await verifyCompactJwsSignature(jws as string, jwk, header.alg, options);
  checkChallenge(payload, options);
  checkValidity(payload, options);
  return { presentation: payload, header, holder, envelopes };
}

/**
 * Verifies an `application/vp+jwt`: the holder's signature, nonce/aud against the challenge and domain,
 * the window, then every enveloped credential (each must verify: a presentation is only as good as the
 * credentials in it).
 */
export async function verifyVpJwt(jws: unknown, options: VerifyVpJwtOptions): Promise<VerifiedVpJwt> {
  const { presentation, header, holder, envelopes } = await verifyVpJwtHolder(jws, options);
  return { presentation, header, holder, credentials: await verifyEnvelopes(envelopes, options) };
}
