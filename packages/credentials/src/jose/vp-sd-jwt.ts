import { verifyCompactJwsSignature } from './compact.js';
import { checkPresentation } from './document.js';
import { checkKeyHints, resolveKeyOrFail } from './key-resolution.js';
import {
  checkChallenge,
  envelopedCredentials,
  type PresentationClaimsInput,
  presentationPayload,
  verifyEnvelopes,
} from './presentation-envelopes.js';
import { claimPaths, issueSdJwt, openSdJwt } from './sd-jwt-common.js';
import { checkValidity } from './validity.js';
import type { VerifiedVpJwt, VerifiedVpJwtHolder, VerifyVpJwtOptions } from './vp-jwt.js';

export const VP_SD_JWT_MEDIA_TYPE = 'application/vp+sd-jwt';
/** An SD-JWT in a data: URL is its compact form as is (VC-JOSE-COSE §3.2). */
export const VP_SD_JWT_DATA_URL = `data:${VP_SD_JWT_MEDIA_TYPE},`;

/**
 * VC-JOSE-COSE §3.2.1: what validation needs stays disclosed: the presentation's `@context` and `type`, and the
 * JWT claims that carry the signature's window, the signer and the verifier's challenge and domain. The holder
 * and the credentials may be disclosable (the test suite's test 19 discloses `holder` and
 * `verifiableCredential[0]`); without a disclosed holder, `iss` names the signer.
 */
const ALWAYS_DISCLOSED = new Set(['@context', 'type', 'iss', 'nbf', 'exp', 'iat', 'nonce', 'aud', 'cnf']);

export interface IssueVpSdJwtInput extends PresentationClaimsInput {
  /** JSON pointers (RFC 6901) to what the presentation makes selectively disclosable, e.g. `/verifiableCredential/0`. */
  disclosable?: readonly string[];
}

/**
 * Secures a VCDM 2.0 presentation as `application/vp+sd-jwt` (VC-JOSE-COSE §3.2.2), signed by the holder: the
 * presentation with `iat`, `nonce`, `aud` is the SD-JWT payload, the header `{ alg, kid, typ: "vp+sd-jwt",
 * cty: "vp" }`. Returns `<jwt>~<disclosure>~…~`.
 */
export async function issueVpSdJwt(input: IssueVpSdJwtInput): Promise<string> {
  const payload = presentationPayload(input, 'vp+sd-jwt');
  const paths = claimPaths(payload, input.disclosable ?? [], 'disclosable pointer', ALWAYS_DISCLOSED);
  return issueSdJwt(payload, paths, { typ: 'vp+sd-jwt', cty: 'vp' }, input.signer);
}

/**
 * The holder's part of verifyVpSdJwt: the SD-JWT's disclosures (RFC 9901 §7.1), the presentation rebuilt from
 * them and checked as VCDM 2.0, the holder's signature, nonce/aud against the challenge and domain, and the
 * window. The enveloped credentials are left to the caller, which can then report on each of them.
 */
export async function verifyVpSdJwtHolder(
  sdJwt: unknown,
  options: Omit<VerifyVpJwtOptions, 'verifyEnvelopedCredential'>,
): Promise<VerifiedVpJwtHolder> {
  const { jwt, header, claims: presentation } = await openSdJwt(sdJwt, 'vp+sd-jwt', 'vp');
  const holder = checkPresentation(presentation, 'malformed');
  const envelopes = envelopedCredentials(presentation, 'malformed', 'vp+sd-jwt');
  checkKeyHints(header, presentation, holder);
  const jwk = await resolveKeyOrFail(options.resolveKey, header.kid, holder ?? presentation.iss);
  await verifyCompactJwsSignature(jwt, jwk, header.alg, options);
  checkChallenge(presentation, options);
  checkValidity(presentation, options);
  return { presentation, header, holder, envelopes };
}

/**
 * Verifies an `application/vp+sd-jwt` (VC-JOSE-COSE §3.2.2, §5.2): verifyVpSdJwtHolder, then every enveloped
 * credential with its media type's verifier.
 */
export async function verifyVpSdJwt(sdJwt: unknown, options: VerifyVpJwtOptions): Promise<VerifiedVpJwt> {
  const { presentation, header, holder, envelopes } = await verifyVpSdJwtHolder(sdJwt, options);
  return { presentation, header, holder, credentials: await verifyEnvelopes(envelopes, options) };
}
