export {
  type JoseSigningAlgorithm,
  type JoseVerificationAlgorithm,
  joseAlgorithmFor,
  joseVerificationAlgorithms,
} from './algorithms.js';
export type { JsonObject } from './compact.js';
export { assertionKeyResolver, didKeyResolver, type JwsKeyRelationship } from './did-keys.js';
export { envelopedPresentationClaims } from './enveloped-presentation.js';
export type { ResolveKey } from './key-resolution.js';
export type { ExpectedChallenge, VerifyEnvelopedCredential } from './presentation-envelopes.js';
export { type CreateJwsSignerInput, createJwsSigner, type JwsSigner, keyStoreJwsSigner } from './signer.js';
export type { ValidityOptions } from './validity.js';
export {
  type IssueVcJwtInput,
  issueVcJwt,
  type JwtClaims,
  VC_JWT_MEDIA_TYPE,
  type VerifiedVcJwt,
  type VerifyVcJwtOptions,
  verifyVcJwt,
} from './vc-jwt.js';
export {
  type IssueVcSdJwtInput,
  issueVcSdJwt,
  type PresentVcSdJwtInput,
  presentVcSdJwt,
  VC_SD_JWT_DATA_URL,
  VC_SD_JWT_MEDIA_TYPE,
  type VerifiedVcSdJwt,
  type VerifyVcSdJwtOptions,
  verifyVcSdJwt,
} from './vc-sd-jwt.js';
export {
  type IssueVpJwtInput,
  issueVpJwt,
  type VerifiedVpJwt,
  type VerifiedVpJwtHolder,
  type VerifyVpJwtOptions,
  VP_JWT_DATA_URL,
  VP_JWT_MEDIA_TYPE,
  verifyVpJwt,
  verifyVpJwtHolder,
} from './vp-jwt.js';
export {
  type IssueVpSdJwtInput,
  issueVpSdJwt,
  VP_SD_JWT_DATA_URL,
  VP_SD_JWT_MEDIA_TYPE,
  verifyVpSdJwt,
  verifyVpSdJwtHolder,
} from './vp-sd-jwt.js';
