import { parseVcCoseDataUrl, verifyVcCose } from '../cose/vc-cose.js';
import { CredentialError } from '../errors.js';
import type { JsonObject } from './compact.js';
import { checkPresentation } from './document.js';
import { checkKeyHints, type ResolveKey } from './key-resolution.js';
import type { SignatureCheckOptions } from './signature-check.js';
import type { JwsSigner } from './signer.js';
import { type ValidityOptions, validityWindow } from './validity.js';
import { parseEnvelopedId, verifyVcJwt } from './vc-jwt.js';
import { verifyVcSdJwt } from './vc-sd-jwt.js';

/*
 * What the VC-JOSE-COSE presentations (vp+jwt §3.1.2, vp+sd-jwt §3.2.2, vp+cose §3.3.2) share: their credentials
 * are EnvelopedVerifiableCredentials, the challenge and domain are the `nonce` and `aud` members of the secured
 * presentation, and each enveloped credential is verified by its media type's verifier.
 */

/**
 * The presentation's credentials, each an EnvelopedVerifiableCredential with a data: URL id (credentials in a
 * secured presentation are secured, and enveloped); `format` names the presentation's media type in messages.
 */
export function envelopedCredentials(presentation: JsonObject, code: string, format: string): JsonObject[] {
  const value = presentation.verifiableCredential;
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const entry of list) {
    const types = typeof entry === 'object' && entry !== null ? (entry as JsonObject).type : undefined;
    const typeList = Array.isArray(types) ? types : [types];
    if (!typeList.includes('EnvelopedVerifiableCredential')) {
      throw new CredentialError(code, `credentials in a ${format} must be EnvelopedVerifiableCredentials`);
    }
    parseEnvelopedId((entry as JsonObject).id);
  }
  return list as JsonObject[];
}

/** The challenge and domain a verifier expects of a presentation. */
export interface ExpectedChallenge {
  /** The challenge the verifier issued: the presentation's `nonce` must equal it. */
  nonce?: string;
  /** The verifier's identifier (domain): the presentation's `aud` must contain it. */
  audience?: string;
}

export function checkChallenge(presentation: JsonObject, expected: ExpectedChallenge): void {
  if (expected.nonce !== undefined && presentation.nonce !== expected.nonce) {
    throw new CredentialError('nonce-mismatch', 'the presentation nonce does not match the challenge');
  }
  if (expected.audience !== undefined) {
    const aud = presentation.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(expected.audience)) {
      throw new CredentialError(
        'audience-mismatch',
        'the presentation is not addressed to this verifier (aud)',
      );
    }
  }
}

/** The challenge and domain as the secured presentation's `nonce` and `aud` members. */
export function challengeClaims(expected: ExpectedChallenge): JsonObject {
  return {
    ...(expected.nonce === undefined ? {} : { nonce: expected.nonce }),
    ...(expected.audience === undefined ? {} : { aud: expected.audience }),
  };
}

/** What a holder-signed JOSE presentation carries besides the presentation: its time and challenge claims. */
export interface PresentationClaimsInput extends ExpectedChallenge {
  presentation: JsonObject;
  signer: JwsSigner;
  /** `iat` in seconds; defaults to now. */
  issuedAt?: number;
  /** `exp` in seconds, if the presentation should expire. */
  expiresAt?: number;
}

/**
 * The payload of a holder-signed `vp+jwt` or `vp+sd-jwt`: the presentation with `iat`, `exp`, `nonce` and
 * `aud`, checked as a VCDM 2.0 presentation of enveloped credentials whose holder the signer's kid may name.
 */
export function presentationPayload(input: PresentationClaimsInput, mediaType: string): JsonObject {
  const payload: JsonObject = {
    ...input.presentation,
    iat: input.issuedAt ?? Math.floor(Date.now() / 1000),
    ...(input.expiresAt === undefined ? {} : { exp: input.expiresAt }),
    ...challengeClaims(input),
  };
  const holder = checkPresentation(payload);
  envelopedCredentials(payload, 'invalid-presentation', mediaType);
  checkKeyHints({ kid: input.signer.kid }, payload, holder);
  validityWindow(payload);
  return payload;
}

/** Verifies one enveloped credential given its media type and data; returns the credential. */
export type VerifyEnvelopedCredential = (mediaType: string, data: string) => Promise<JsonObject>;

export interface VerifyEnvelopesOptions extends ValidityOptions, SignatureCheckOptions {
  /** Resolves the issuers' keys. */
  resolveKey: ResolveKey;
  /**
   * Verifies enveloped credentials other than vc+jwt (vc+sd-jwt, vc+cose, others). Without it vc+sd-jwt and
   * vc+cose are verified with verifyVcSdJwt and verifyVcCose, and other media types are refused.
   */
  verifyEnvelopedCredential?: VerifyEnvelopedCredential;
}

async function verifyEnvelope(entry: JsonObject, options: VerifyEnvelopesOptions): Promise<JsonObject> {
  const { mediaType, data } = parseEnvelopedId(entry.id);
  if (mediaType === 'application/vc+jwt') return (await verifyVcJwt(data, options)).credential;
  if (options.verifyEnvelopedCredential !== undefined)
    return options.verifyEnvelopedCredential(mediaType, data);
  if (mediaType === 'application/vc+sd-jwt') return (await verifyVcSdJwt(data, options)).credential;
  if (mediaType === 'application/vc+cose;base64') {
    return (await verifyVcCose(parseVcCoseDataUrl(entry.id), options)).credential;
  }
  throw new CredentialError(
    'invalid-media-type',
    `enveloped credentials of type ${mediaType} are not supported`,
  );
}

/** Every enveloped credential verified, in order: a presentation is only as good as the credentials in it. */
export async function verifyEnvelopes(
  envelopes: readonly JsonObject[],
  options: VerifyEnvelopesOptions,
): Promise<JsonObject[]> {
  const credentials: JsonObject[] = [];
  for (const entry of envelopes) credentials.push(await verifyEnvelope(entry, options));
  return credentials;
}
