import { SDJwtInstance } from '@sd-jwt/core';
import { base64url, type JWK } from 'jose';
import { CredentialError } from '../errors.js';
import { presentationFrame } from '../sd-jwt/claim-paths.js';
import { sha256Hasher } from '../sd-jwt/digest.js';
import {
  checkKeyBindingClaims,
  type HolderKeyBinding,
  holderKey,
  type KeyBindingRequirement,
  keyBindingOptions,
} from '../sd-jwt/key-binding.js';
import { decodeCompactJws, type JsonObject, verifyCompactJwsSignature } from './compact.js';
import { checkCredential } from './document.js';
import { checkKeyHints, type ResolveKey, resolveKeyOrFail } from './key-resolution.js';
import { checkMediaType } from './media-type.js';
import { claimPaths, issueSdJwt, libraryError, openSdJwt } from './sd-jwt-common.js';
import type { SignatureCheckOptions } from './signature-check.js';
import type { JwsSigner } from './signer.js';
import { checkValidity, type ValidityOptions, validityWindow } from './validity.js';
import type { JwtClaims } from './vc-jwt.js';

export const VC_SD_JWT_MEDIA_TYPE = 'application/vc+sd-jwt';
/** An SD-JWT in a data: URL is its compact form as is (VC-JOSE-COSE §3.2, Example 5). */
export const VC_SD_JWT_DATA_URL = `data:${VC_SD_JWT_MEDIA_TYPE},`;

/**
 * VC-JOSE-COSE §3.2.1: properties needed to validate a credential SHOULD NOT be selectively disclosable. We
 * refuse them at the top level, with the JWT claims that carry the signature's own window and binding.
 */
const ALWAYS_DISCLOSED = new Set([
  '@context',
  'type',
  'issuer',
  'validFrom',
  'validUntil',
  'credentialStatus',
  'credentialSchema',
  'relatedResource',
  'iss',
  'nbf',
  'exp',
  'iat',
  'cnf',
]);

export interface IssueVcSdJwtInput {
  credential: JsonObject;
  signer: JwsSigner;
  /** JSON pointers (RFC 6901) to the claims the holder may disclose or withhold, e.g. `/credentialSubject/name`. */
  disclosable?: readonly string[];
  /** The holder's public key, bound as `cnf.jwk` (VC-JOSE-COSE §4.1.3): presentations can then carry a KB-JWT. */
  holderKey?: JWK;
  claims?: JwtClaims;
}

/**
 * Secures a VCDM 2.0 credential as `application/vc+sd-jwt` (VC-JOSE-COSE §3.2.1): the credential is the
 * JWT claims set, turned into an SD-JWT payload (RFC 9901) with a disclosure per disclosable pointer; the
 * header is `{ alg, kid, typ: "vc+sd-jwt", cty: "vc" }`. Returns `<jwt>~<disclosure>~…~`.
 */
export async function issueVcSdJwt(input: IssueVcSdJwtInput): Promise<string> {
  if (input.holderKey?.d !== undefined) {
    throw new CredentialError('invalid-argument', 'the holder key must be a public JWK');
  }
  const payload: JsonObject = {
    ...input.credential,
    ...input.claims,
    ...(input.holderKey === undefined ? {} : { cnf: { jwk: input.holderKey } }),
  };
  const issuer = checkCredential(payload);
  checkKeyHints({ kid: input.signer.kid }, payload, issuer);
  validityWindow(payload);
  const paths = claimPaths(payload, input.disclosable ?? [], 'disclosable pointer', ALWAYS_DISCLOSED);
  return issueSdJwt(payload, paths, { typ: 'vc+sd-jwt', cty: 'vc' }, input.signer);
}

export interface PresentVcSdJwtInput {
  sdJwt: string;
  /** JSON pointers into the full credential: the disclosures to keep. Every other one is left out. */
  disclose: readonly string[];
  /** Appends a KB-JWT signed with the `cnf` key, bound to the verifier's nonce and audience. */
  keyBinding?: HolderKeyBinding;
}

/** The holder's selection: the issuer JWT, the disclosures the pointers need, and optionally a KB-JWT. */
export async function presentVcSdJwt(input: PresentVcSdJwtInput): Promise<string> {
  const kb = keyBindingOptions(input.keyBinding);
  const sdjwt = new SDJwtInstance({ hasher: sha256Hasher, ...kb.instance });
  let claims: JsonObject;
  try {
    claims = (await sdjwt.getClaims(input.sdJwt)) as JsonObject;
  } catch (cause) {
    throw libraryError(cause);
  }
  const frame = presentationFrame(claimPaths(claims, input.disclose, 'disclosed pointer', ALWAYS_DISCLOSED));
  try {
    return await sdjwt.present(input.sdJwt, frame, kb.present);
  } catch (cause) {
    throw libraryError(cause);
  }
}

export interface VerifyVcSdJwtOptions extends ValidityOptions, SignatureCheckOptions {
  resolveKey: ResolveKey;
  /** Requires a KB-JWT signed by the `cnf.jwk` key for this nonce and audience, at most `maxAgeSeconds` (300) old. */
  keyBinding?: KeyBindingRequirement;
}

export interface VerifiedVcSdJwt {
  /** The credential rebuilt from the disclosures received (RFC 9901 §7.1): withheld claims are absent. */
  credential: JsonObject;
  header: JsonObject;
  issuer: string;
  keyBinding?: JsonObject;
}

async function verifyKeyBinding(
  kbJwt: string,
  presented: string,
  credential: JsonObject,
  required: KeyBindingRequirement,
  options: ValidityOptions & SignatureCheckOptions,
): Promise<JsonObject> {
  if (kbJwt.length === 0) throw new CredentialError('key-binding-required', 'a KB-JWT is required');
  const { header, payload } = decodeCompactJws(kbJwt);
  checkMediaType(header, 'kb+jwt', 'kb+jwt');
  await verifyCompactJwsSignature(kbJwt, holderKey(credential), header.alg, options);
  // RFC 9901 §4.3.1: sd_hash covers the presentation up to and including the last `~`.
  const sdHash = base64url.encode(await sha256Hasher(presented, 'sha-256'));
  if (payload.sd_hash !== sdHash)
    throw new CredentialError('key-binding-invalid', 'the KB-JWT sd_hash does not match');
  if (payload.nonce !== required.nonce)
    throw new CredentialError('nonce-mismatch', 'the KB-JWT nonce does not match');
  const now = options.now === undefined ? Date.now() : Number(options.now);
  checkKeyBindingClaims({ payload }, required, now, options.clockSkewSeconds ?? 0);
  return payload;
}

/**
 * Verifies an `application/vc+sd-jwt` (VC-JOSE-COSE §5.2, RFC 9901 §7): typed header and accepted alg, every
 * disclosure referenced once and in a place of its kind, the credential rebuilt from them and checked as VCDM
 * 2.0, issuer/key hints, the issuer signature (key from `resolveKey`), the validity window, and the KB-JWT
 * when `keyBinding` is required.
 */
export async function verifyVcSdJwt(sdJwt: unknown, options: VerifyVcSdJwtOptions): Promise<VerifiedVcSdJwt> {
  const { jwt, header, claims: credential, parts } = await openSdJwt(sdJwt, 'vc+sd-jwt', 'vc');
  const issuer = checkCredential(credential, 'malformed');
  checkKeyHints(header, credential, issuer);
  const jwk = await resolveKeyOrFail(options.resolveKey, header.kid, issuer);
  await verifyCompactJwsSignature(jwt, jwk, header.alg, options);
  checkValidity(credential, options);
  if (options.keyBinding === undefined) return { credential, header, issuer };
  const presented = `${parts.slice(0, -1).join('~')}~`;
  const kbJwt = parts[parts.length - 1] as string;
  const keyBinding = await verifyKeyBinding(kbJwt, presented, credential, options.keyBinding, options);
  return { credential, header, issuer, keyBinding };
}
