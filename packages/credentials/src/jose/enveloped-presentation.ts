import { decodeVpCose, parseVpCoseDataUrl, VP_COSE_DATA_URL } from '../cose/vp-cose.js';
import { CredentialError } from '../errors.js';
import type { JsonObject } from './compact.js';
import { decodeSdJwt } from './sd-jwt-common.js';
import { decodeVpJwt, VP_JWT_DATA_URL } from './vp-jwt.js';
import { VP_SD_JWT_DATA_URL } from './vp-sd-jwt.js';

/** Each VC-JOSE-COSE presentation's data: URL prefix, and how its signed payload is read from the URL. */
const ENVELOPES: readonly { prefix: string; payload(id: string): JsonObject }[] = [
  { prefix: VP_JWT_DATA_URL, payload: (id) => decodeVpJwt(id.slice(VP_JWT_DATA_URL.length)).payload },
  {
    prefix: VP_SD_JWT_DATA_URL,
    payload: (id) => decodeSdJwt(id.slice(VP_SD_JWT_DATA_URL.length), 'vp+sd-jwt', 'vp').payload,
  },
  { prefix: VP_COSE_DATA_URL, payload: (id) => decodeVpCose(parseVpCoseDataUrl(id)).presentation },
];

/**
 * The signed payload of an EnvelopedVerifiablePresentation's id, unverified: a `data:application/vp+jwt,` JWS's
 * payload, a `data:application/vp+sd-jwt,` SD-JWT's issuer-signed JWT payload (as signed: Disclosures are not
 * applied, so selectively disclosable claims are absent and `_sd` digests present), or a
 * `data:application/vp+cose;base64,` COSE_Sign1's JSON payload. For a caller that must read a claim (a holder, a
 * nonce) before it verifies; the verifiers (verifyVpJwt, verifyVpSdJwt, verifyVpCose) check what it says. Throws
 * a CredentialError (`malformed`, `invalid-media-type`, `unsupported-alg`) for any other id.
 */
export function envelopedPresentationClaims(id: unknown): JsonObject {
  const envelope = typeof id === 'string' ? ENVELOPES.find(({ prefix }) => id.startsWith(prefix)) : undefined;
  if (typeof id === 'string' && envelope !== undefined) return envelope.payload(id);
  const prefixes = ENVELOPES.map(({ prefix }) => prefix).join(', ');
  throw new CredentialError('malformed', `an enveloped presentation id must start with one of ${prefixes}`);
}
