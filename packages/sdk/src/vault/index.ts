export {
  type AccessLogEntry,
  type AccessLogPage,
  type VerifiedAccessLogEntry,
  verifyAccessLog,
} from './access-log.js';
export type { ManifestHead } from './chain.js';
export {
  type AccessLog,
  type CommitResult,
  type CreateVaultOptions,
  type OpenVaultOptions,
  type PutResult,
  type RemoveMemberResult,
  VaultClient,
  type VaultClientOptions,
  type VaultConnection,
  type VaultMember,
} from './client.js';
export {
  type AccessDecision,
  type AccessOutcome,
  type AccessVote,
  VaultAccessError,
  type VaultDenial,
  VaultFormatError,
  type VaultIntegrityCode,
  VaultIntegrityError,
} from './errors.js';
export type { WrittenItem } from './jobs.js';
export * from './recovery.js';
export {
  type AccessApproval,
  approveAccess,
  approveRecovery,
  cancelRecovery,
  completeRecovery,
  ephemeralKeyIdOf,
  type Guardian,
  RecoveryError,
  type RecoveryOwner,
  type RecoveryRequest,
  type RecoverySetup,
  type RecoveryStatus,
  type RecoveryTarget,
  recoveryRequest,
  recoverySetup,
  requestRecovery,
  setupRecovery,
} from './recovery.js';
export type { ItemSummary, Vault, VersionSummary } from './routes.js';
export type { SessionAnswer, SessionAuthentication, SessionContext } from './session.js';
export {
  FileVaultStateStore,
  MemoryVaultStateStore,
  type TrustedVaultState,
  type VaultStateStore,
} from './state.js';
