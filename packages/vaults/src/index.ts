export { b64u, canonicalJson } from './encoding.js';
export { VaultFormatError, type VaultIntegrityCode, VaultIntegrityError } from './errors.js';
export {
  ITEM_ID_PATTERN,
  isItemId,
  isVaultId,
  newItemId,
  newVaultId,
  SUBJECT_PATTERN,
  VAULT_ID_PATTERN,
} from './ids.js';
export {
  accessApprovalInput,
  recoveryApprovalInput,
  recoveryShareAad,
  resealedShareAad,
  sessionProofInput,
} from './inputs.js';
export {
  contentHash,
  openItem,
  type Recipient,
  resealItemKey,
  type SealedItemVersion,
  sealItem,
} from './items.js';
export {
  checkMemberPublicKeys,
  type HybridSignature,
  MEMBER_KEY_ID_PATTERN,
  MemberKeys,
  type MemberPublicKeys,
  memberKeyId,
  type SigningDomain,
  verifyHybrid,
} from './keys.js';
export { VAULT_LIMITS } from './limits.js';
export {
  checkManifestShape,
  genesisManifest,
  type ManifestItem,
  type ManifestMember,
  manifestHash,
  type SignedManifest,
  signManifest,
  type UnsignedManifest,
  VAULT_ROLES,
  type VaultRole,
  verifyManifestTransition,
} from './manifest.js';
