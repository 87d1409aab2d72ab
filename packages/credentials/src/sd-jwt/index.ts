export type { ClaimPath } from './claim-paths.js';
export {
  type IssueSdJwtVcInput,
  issueSdJwtVc,
  type PresentSdJwtVcInput,
  presentSdJwtVc,
  SD_JWT_VC_MEDIA_TYPE,
  type VerifiedSdJwtVc,
  type VerifySdJwtVcOptions,
  verifySdJwtVc,
} from './sd-jwt-vc.js';
