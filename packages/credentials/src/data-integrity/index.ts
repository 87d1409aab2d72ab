export { type BbsMessages, type BbsSigner, createBbsSigner, createKeyStoreBbsSigner } from './bbs-signer.js';
export { type DeriveCredentialInput, deriveCredential } from './derive.js';
export {
  createDocumentLoader,
  type DidUrlResolver,
  type DocumentLoader,
  type DocumentLoaderOptions,
  type RemoteDocument,
} from './document-loader.js';
export { type IssueCredentialInput, type IssueCredentialOptions, issueCredential } from './issue.js';
export {
  type CreatePresentationInput,
  createPresentation,
  type SignPresentationInput,
  signPresentation,
} from './presentation.js';
export type { VerificationErrorCode, VerificationProblem } from './proof-verification.js';
export {
  createKeyStoreSigner,
  createRawKeySigner,
  createSigner,
  type DataIntegrityAlgorithm,
  type DataIntegritySigner,
} from './signer.js';
export { CRYPTOSUITES, type CryptosuiteName, type SelectiveDisclosureSuite } from './suites.js';
export { type Violation, validateCredential, validateEnvelope, validatePresentation } from './validation.js';
export {
  type VerificationCheck,
  type VerificationResult,
  type VerifyCredentialInput,
  type VerifyPresentationInput,
  type VerifyPresentationResult,
  verifyCredential,
  verifyPresentation,
} from './verify.js';
