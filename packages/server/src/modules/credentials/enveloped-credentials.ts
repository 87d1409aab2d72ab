import {
  CREDENTIALS_V2_CONTEXT,
  issueVcCose,
  issueVcJwt,
  issueVcSdJwt,
  type JwsSigner,
  parseVcCoseDataUrl,
  type ResolveKey,
  VC_COSE_DATA_URL,
  VC_SD_JWT_DATA_URL,
  vcCoseDataUrl,
  verifyVcCose,
  verifyVcJwt,
  verifyVcSdJwt,
} from '@personachain/credentials';
import type { SignatureVerifier } from '@personachain/crypto';
import type { EnvelopingSuite } from '../issuers/service.js';
import type { JsonObject } from './json.js';

/**
 * VC-JOSE-COSE credentials as EnvelopedVerifiableCredentials (VCDM 2.0 §4.13): the secured form goes into a
 * data: URL, `data:application/vc+jwt,<JWS>`, `data:application/vc+sd-jwt,<SD-JWT>` or (binary, so base64 per
 * VC-JOSE-COSE §3.3.1) `data:application/vc+cose;base64,<COSE_Sign1>`.
 */
const VC_JWT_DATA_URL = 'data:application/vc+jwt,';

/** The data: URL prefixes of the enveloped credentials this platform verifies, for messages. */
export const ENVELOPE_DATA_URLS = [VC_JWT_DATA_URL, VC_SD_JWT_DATA_URL, VC_COSE_DATA_URL] as const;

export interface EnvelopeInput {
  credential: JsonObject;
  suite: EnvelopingSuite;
  signer: JwsSigner;
  /** vc+sd-jwt: JSON pointers to the claims issued as selectively disclosable. */
  selectivePointers?: readonly string[] | undefined;
}

async function secured({ credential, suite, signer, selectivePointers }: EnvelopeInput): Promise<string> {
  switch (suite) {
    case 'vc+jwt':
      return `${VC_JWT_DATA_URL}${await issueVcJwt({ credential, signer })}`;
    case 'vc+sd-jwt': {
      const disclosable = selectivePointers ?? [];
      return `${VC_SD_JWT_DATA_URL}${await issueVcSdJwt({ credential, signer, disclosable })}`;
    }
    case 'vc+cose':
      return vcCoseDataUrl(await issueVcCose({ credential, signer }));
  }
}

/** Secures `credential` with the suite's media type and wraps it as an EnvelopedVerifiableCredential. */
export async function envelopeCredential(input: EnvelopeInput): Promise<JsonObject> {
  return {
    '@context': CREDENTIALS_V2_CONTEXT,
    type: 'EnvelopedVerifiableCredential',
    id: await secured(input),
  };
}

/**
 * The credential inside an enveloped credential's id, verified by its media type's rules (signature,
 * typed header, VCDM 2.0 structure, validity window; for vc+sd-jwt the credential rebuilt from the
 * disclosures it carries). Undefined for a data: URL of another media type; a CredentialError when the
 * secured credential does not verify.
 */
export async function openEnvelope(
  id: string,
  resolveKey: ResolveKey,
  signatureVerifier?: SignatureVerifier,
): Promise<JsonObject | undefined> {
  const options = { resolveKey, signatureVerifier };
  if (id.startsWith(VC_JWT_DATA_URL)) {
    return (await verifyVcJwt(id.slice(VC_JWT_DATA_URL.length), options)).credential;
  }
  if (id.startsWith(VC_SD_JWT_DATA_URL)) {
    return (await verifyVcSdJwt(id.slice(VC_SD_JWT_DATA_URL.length), options)).credential;
  }
  if (id.startsWith(VC_COSE_DATA_URL)) {
    return (await verifyVcCose(parseVcCoseDataUrl(id), options)).credential;
  }
  return undefined;
}
