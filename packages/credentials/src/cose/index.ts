export {
  type IssueVcCoseInput,
  issueVcCose,
  parseVcCoseDataUrl,
  VC_COSE_DATA_URL,
  VC_COSE_MEDIA_TYPE,
  type VerifiedVcCose,
  type VerifyVcCoseOptions,
  vcCoseDataUrl,
  verifyVcCose,
} from './vc-cose.js';
export {
  type IssueVpCoseInput,
  issueVpCose,
  parseVpCoseDataUrl,
  type VerifiedVpCose,
  type VerifiedVpCoseHolder,
  VP_COSE_DATA_URL,
  VP_COSE_MEDIA_TYPE,
  verifyVpCose,
  verifyVpCoseHolder,
  vpCoseDataUrl,
} from './vp-cose.js';
