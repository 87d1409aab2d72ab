import { CredentialError } from '../errors.js';
import { decodeCompactJws, type JsonObject, signCompactJws, verifyCompactJwsSignature } from './compact.js';
import { checkCredential } from './document.js';
import { checkKeyHints, type ResolveKey, resolveKeyOrFail } from './key-resolution.js';
import { checkMediaType } from './media-type.js';
import type { SignatureCheckOptions } from './signature-check.js';
import type { JwsSigner } from './signer.js';
import { checkValidity, type ValidityOptions, validityWindow } from './validity.js';

export const VC_JWT_MEDIA_TYPE = 'application/vc+jwt';

/** Registered JWT claims an issuer may add next to the credential's own properties. */
export interface JwtClaims {
  iss?: string;
  sub?: string;
  jti?: string;
  iat?: number;
  nbf?: number;
  exp?: number;
  cnf?: JsonObject;
}

export interface IssueVcJwtInput {
  credential: JsonObject;
  signer: JwsSigner;
  claims?: JwtClaims;
}

/**
 * Secures a VCDM 2.0 credential as `application/vc+jwt` (VC-JOSE-COSE §3.1.1): the credential is the
 * JWS payload, the header is `{ alg, kid, typ: "vc+jwt", cty: "vc" }`.
 */
export async function issueVcJwt({ credential, signer, claims = {} }: IssueVcJwtInput): Promise<string> {
  const payload = { ...credential, ...claims };
  const issuer = checkCredential(payload);
  checkKeyHints({ kid: signer.kid }, payload, issuer);
  validityWindow(payload); // syntax only: a credential may be issued before its window opens
  return signCompactJws({ typ: 'vc+jwt', cty: 'vc' }, payload, signer);
}

export interface VerifyVcJwtOptions extends ValidityOptions, SignatureCheckOptions {
  resolveKey: ResolveKey;
}

export interface VerifiedVcJwt {
  /** The credential: the JWS payload, including any registered JWT claims it carries. */
  credential: JsonObject;
  header: JsonObject;
  issuer: string;
}

/**
 * Verifies an `application/vc+jwt` (VC-JOSE-COSE §5.1): typed header, VCDM 2.0 structure, issuer/key
 * hints, the signature (jose, with the key from `resolveKey`), then the validity window. Any failure
 * is a CredentialError whose code names the reason.
 */
export async function verifyVcJwt(jws: unknown, options: VerifyVcJwtOptions): Promise<VerifiedVcJwt> {
  const { header, payload } = decodeCompactJws(jws);
  checkMediaType(header, 'vc+jwt', 'vc');
  const issuer = checkCredential(payload, 'malformed');
  checkKeyHints(header, payload, issuer);
  const jwk = await resolveKeyOrFail(options.resolveKey, header.kid, issuer);
  await verifyCompactJwsSignature(jws as string, jwk, header.alg, options);
  checkValidity(payload, options);
  return { credential: payload, header, issuer };
}

/** The compact JWS inside an EnvelopedVerifiableCredential id (`data:application/vc+jwt,<jws>`). */
export function parseEnvelopedId(id: unknown): { mediaType: string; data: string } {
  if (typeof id !== 'string' || !id.startsWith('data:')) {
    throw new CredentialError('malformed', 'an enveloped credential id must be a data: URL');
  }
  const comma = id.indexOf(',');
  if (comma < 0) throw new CredentialError('malformed', 'the data: URL has no data');
  return { mediaType: id.slice('data:'.length, comma).toLowerCase(), data: id.slice(comma + 1) };
}
