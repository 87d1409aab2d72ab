export {
  type EphemeralAttestation,
  ephemeralAttestationSigningBytes,
  ephemeralNodePublicKey,
  verifyEphemeralAttestation,
} from './attestation.js';
export {
  DEFAULT_MAX_VALUE_BYTES,
  type EphemeralAttestations,
  EphemeralClient,
  type EphemeralClientOptions,
  type EphemeralReceipt,
  type EphemeralValue,
  type GetOptions,
  type PutOptions,
  type ReplicaCount,
} from './client.js';
export {
  ephemeralKeyCommitment,
  MAX_COMPLIANCE_SALT_BYTES,
  MIN_COMPLIANCE_SALT_BYTES,
} from './commitment.js';
export { EphemeralError, type EphemeralErrorCode } from './errors.js';
export {
  type EphemeralMode,
  type EphemeralReference,
  LINK_VERSION,
  type ParsedLink,
  parseEphemeralLink,
} from './link.js';
export { SEALED_FORMAT_VERSION, SECRET_KEY_OVERHEAD, sealedAad } from './seal.js';
