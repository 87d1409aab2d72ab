export {
  type BuiltOperation,
  buildPersonaCreate,
  buildPersonaDeactivate,
  buildPersonaRecover,
  buildPersonaRecoveryCancel,
  buildPersonaRecoveryRequest,
  buildPersonaRotate,
  buildPersonaUpdate,
  type CreateInput,
} from './builders.js';
export { canonicalJson } from './canonical-json.js';
export { personaDidDocument, personaDocumentMetadata } from './document.js';
export { PersonaError, type PersonaErrorCode } from './errors.js';
export { isPersonaDid, operationHash, personaDidFromGenesis } from './identifiers.js';
export {
  type LedgerOperation,
  type LoadedOperations,
  type PersonaHistoryItem,
  type PersonaMethodOptions,
  personaMethod,
} from './method.js';
export {
  decodeOperation,
  encodeOperation,
  LIMITS as PERSONA_LIMITS,
  MAX_OPERATION_BYTES as PERSONA_MAX_OPERATION_BYTES,
  personaOperationDid,
} from './operation-format.js';
export {
  type GuardianKeys,
  type GuardianSigner,
  keyStoreRotationKeySigner,
  type RotationKeySigner,
  rawRotationKeySigner,
  SIGNING_DOMAIN as PERSONA_SIGNING_DOMAIN,
  type SignFunction,
  signingInput as personaSigningInput,
} from './signatures.js';
export type * from './types.js';
export { PERSONA_OPERATION_TYPES } from './types.js';
export {
  type VerifiedHistory,
  type VerifiedOperation,
  type VerifyHistoryOptions,
  verifyHistory,
} from './verify.js';
