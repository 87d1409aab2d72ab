import { CredentialError } from '../errors.js';
import { decodeCompactJws, type JsonObject, signCompactJws, verifyCompactJwsSignature } from './compact.js';
import { checkPresentation } from './document.js';
import { checkKeyHints, type ResolveKey, resolveKeyOrFail } from './key-resolution.js';
import { checkMediaType } from './media-type.js';
import type { JwsSigner } from './signer.js';
import { checkValidity, type ValidityOptions, validityWindow } from './validity.js';
import { parseEnvelopedId, type VerifiedVcJwt, verifyVcJwt } from './vc-jwt.js';

export const VP_JWT_MEDIA_TYPE = 'application/vp+jwt';

export interface IssueVpJwtInput {
  /** A VCDM 2.0 presentation whose credentials are EnvelopedVerifiableCredentials. */
  presentation: JsonObject;
  /** The holder's signer. */
  signer: JwsSigner;
  /** The verifier's challenge, carried as the `nonce` claim. */
  nonce?: string;
  /** The verifier (domain), carried as the `aud` claim. */
  audience?: string;
  /** `iat` in seconds; defaults to now. */
  issuedAt?: number;
  /** `exp` in seconds, if the presentation should expire. */
  expiresAt?: number;
}

function envelopedCredentials(presentation: JsonObject, code: string): JsonObject[] {
  const value = presentation.verifiableCredential;
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  // VC-JOSE-COSE §3.1.2: credentials in a JOSE-secured presentation are secured, and enveloped.
  for (const entry of list) {
    const types = typeof entry === 'object' && entry !== null ? (entry as JsonObject).type : undefined;
    const typeList = Array.isArray(types) ? types : [types];
    if (!typeList.includes('EnvelopedVerifiableCredential')) {
      throw new CredentialError(code, 'credentials in a vp+jwt must be EnvelopedVerifiableCredentials');
    }
    parseEnvelopedId((entry as JsonObject).id);
  }
  return list as JsonObject[];
}

/** Secures a VCDM 2.0 presentation as `application/vp+jwt`, signed by the holder. */
export async function issueVpJwt(input: IssueVpJwtInput): Promise<string> {
  const payload: JsonObject = {
    ...input.presentation,
    iat: input.issuedAt ?? Math.floor(Date.now() / 1000),
    ...(input.expiresAt === undefined ? {} : { exp: input.expiresAt }),
    ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    ...(input.audience === undefined ? {} : { aud: input.audience }),
  };
  const holder = checkPresentation(payload);
  envelopedCredentials(payload, 'invalid-presentation');
  checkKeyHints({ kid: input.signer.kid }, payload, holder);
  validityWindow(payload);
  return signCompactJws({ typ: 'vp+jwt', cty: 'vp' }, payload, input.signer);
}

/** Verifies one enveloped credential given its media type and data; returns the credential. */
export type VerifyEnvelopedCredential = (mediaType: string, data: string) => Promise<JsonObject>;

export interface VerifyVpJwtOptions extends ValidityOptions {
  /** Resolves the holder's key (for the VP) and the issuers' keys (for enveloped vc+jwt credentials). */
  resolveKey: ResolveKey;
  /** The challenge the verifier issued: the VP's `nonce` must equal it. */
  nonce?: string;
  /** The verifier's identifier (domain): the VP's `aud` must contain it. */
  audience?: string;
  /**
   * Verifies enveloped credentials of other media types (vc+sd-jwt, vc+cose). Without it only
   * `application/vc+jwt` credentials are accepted, verified with verifyVcJwt.
   */
  verifyEnvelopedCredential?: VerifyEnvelopedCredential;
}

export interface VerifiedVpJwt {
  presentation: JsonObject;
  header: JsonObject;
  holder: string | undefined;
  /** The verified credentials, in the presentation's order. */
  credentials: JsonObject[];
}

function checkChallenge(payload: JsonObject, options: VerifyVpJwtOptions): void {
  if (options.nonce !== undefined && payload.nonce !== options.nonce) {
    throw new CredentialError('nonce-mismatch', 'the presentation nonce does not match the challenge');
  }
  if (options.audience !== undefined) {
    const aud = payload.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(options.audience)) {
      throw new CredentialError(
        'audience-mismatch',
        'the presentation is not addressed to this verifier (aud)',
      );
    }
  }
}

async function verifyEnveloped(entry: JsonObject, options: VerifyVpJwtOptions): Promise<JsonObject> {
  const { mediaType, data } = parseEnvelopedId(entry.id);
  if (mediaType === 'application/vc+jwt') {
    const verified: VerifiedVcJwt = await verifyVcJwt(data, options);
    return verified.credential;
  }
  if (options.verifyEnvelopedCredential === undefined) {
    throw new CredentialError(
      'invalid-media-type',
      `enveloped credentials of type ${mediaType} are not supported`,
    );
  }
  return options.verifyEnvelopedCredential(mediaType, data);
}

export interface VerifiedVpJwtHolder {
  presentation: JsonObject;
  header: JsonObject;
  holder: string | undefined;
  /** The presentation's EnvelopedVerifiableCredentials, in order: well-formed, not yet verified. */
  envelopes: JsonObject[];
}

/**
 * The holder's part of verifyVpJwt: the holder's signature, nonce/aud against the challenge and domain, and
 * the window. The enveloped credentials are left to the caller, which can then report on each of them.
 */
export async function verifyVpJwtHolder(
  jws: unknown,
  options: Omit<VerifyVpJwtOptions, 'verifyEnvelopedCredential'>,
): Promise<VerifiedVpJwtHolder> {
  const { header, payload } = decodeCompactJws(jws);
  checkMediaType(header, 'vp+jwt', 'vp');
  const holder = checkPresentation(payload, 'malformed');
  const envelopes = envelopedCredentials(payload, 'malformed');
  checkKeyHints(header, payload, holder);
  const jwk = await resolveKeyOrFail(options.resolveKey, header.kid, holder ?? payload.iss);
  await verifyCompactJwsSignature(jws as string, jwk, header.alg);
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
  const credentials: JsonObject[] = [];
  for (const entry of envelopes) credentials.push(await verifyEnveloped(entry, options));
  return { presentation, header, holder, credentials };
}
