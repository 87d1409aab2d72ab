export {
  type JoseSigningAlgorithm,
  type JoseVerificationAlgorithm,
  joseAlgorithmFor,
  joseVerificationAlgorithms,
} from './algorithms.js';
export type { JsonObject } from './compact.js';
export { assertionKeyResolver, didKeyResolver, type JwsKeyRelationship } from './did-keys.js';
export type { ResolveKey } from './key-resolution.js';
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
  type IssueVpJwtInput,
  issueVpJwt,
  type VerifiedVpJwt,
  type VerifiedVpJwtHolder,
  type VerifyEnvelopedCredential,
  type VerifyVpJwtOptions,
  VP_JWT_MEDIA_TYPE,
  verifyVpJwt,
  verifyVpJwtHolder,
} from './vp-jwt.js';
