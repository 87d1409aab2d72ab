import type { VerificationRelationship } from '../document.js';

/** Operation types, in the order a history can use them (see docs/did-persona.md §3). */
export const PERSONA_OPERATION_TYPES = [
  'create',
  'update',
  'rotate',
  'deactivate',
  'recoveryRequest',
  'recoveryCancel',
  'recover',
] as const;
export type PersonaOperationType = (typeof PERSONA_OPERATION_TYPES)[number];

/**
 * A rotation key: an Ed25519 key, or a hybrid pair whose two halves must both sign. Keys are Multikey
 * `publicKeyMultibase` strings (`z6Mk…` for Ed25519, the `mldsa-65-pub` multicodec for ML-DSA-65).
 */
export interface RotationKey {
  ed25519: string;
  mlDsa65?: string;
}

/** A verification method of the DID document; `id` is the fragment (`key-1` → `<did>#key-1`). */
export interface PersonaVerificationMethod {
  id: string;
  publicKeyMultibase: string;
  /** Non-empty, no duplicates; listed in the order of VERIFICATION_RELATIONSHIPS. */
  relationships: VerificationRelationship[];
}

export interface PersonaService {
  /** The fragment (`hub` → `<did>#hub`). */
  id: string;
  type: string;
  serviceEndpoint: string;
}

export interface Guardians {
  /** N distinct DIDs (1..16), never the DID itself. */
  dids: string[];
  /** M, 1 ≤ M ≤ N. */
  threshold: number;
  /** How long after its integration a recovery request becomes effective (3,600 s .. 1 year). */
  delaySeconds: number;
}

/** A rotation key's signature: the key it claims (its Ed25519 half) and one signature per half. */
export interface RotationSignature {
  key: string;
  ed25519: string;
  mlDsa65?: string;
}

/** A guardian's signature, with the Multikey it was made with (one the guardian's DID lists). */
export interface GuardianSignature {
  did: string;
  key: string;
  sig: string;
}

/** The document fields `create` and `update` set. */
export interface DocumentFields {
  verificationMethods: PersonaVerificationMethod[];
  services: PersonaService[];
  alsoKnownAs: string[];
}

interface Chained {
  did: string;
  /** The hash (base32) of the operation this one follows. */
  prev: string;
}

export interface CreateOperation extends DocumentFields {
  type: 'create';
  prev: null;
  rotationKeys: RotationKey[];
  guardians: Guardians | null;
  sig: RotationSignature;
}
export interface UpdateOperation extends DocumentFields, Chained {
  type: 'update';
  sig: RotationSignature;
}
export interface RotateOperation extends Chained {
  type: 'rotate';
  rotationKeys: RotationKey[];
  guardians: Guardians | null;
  sig: RotationSignature;
}
export interface DeactivateOperation extends Chained {
  type: 'deactivate';
  sig: RotationSignature;
}
export interface RecoveryRequestOperation extends Chained {
  type: 'recoveryRequest';
  /** The rotation keys `recover` will install. */
  rotationKeys: RotationKey[];
  guardianSigs: GuardianSignature[];
}
export interface RecoveryCancelOperation extends Chained {
  type: 'recoveryCancel';
  sig: RotationSignature;
}
export interface RecoverOperation extends Chained {
  type: 'recover';
  sig: RotationSignature;
}

export type PersonaOperation =
  | CreateOperation
  | UpdateOperation
  | RotateOperation
  | DeactivateOperation
  | RecoveryRequestOperation
  | RecoveryCancelOperation
  | RecoverOperation;

/** One entry of a DID's history as the ledger holds it. */
export interface LoggedOperation {
  /** The entry bytes (canonical JSON of the signed operation). */
  bytes: Uint8Array;
  /** The entry's index in the ledger. */
  ledgerIndex: number;
  /** When the ledger integrated the entry, in POSIX seconds. */
  integratedAt: number;
}

export interface PendingRecovery {
  /** Hash of the `recoveryRequest`. */
  request: string;
  rotationKeys: RotationKey[];
  /** POSIX seconds from which `recover` is accepted. */
  effectiveAt: number;
}

/** The state a valid history leads to. */
export interface PersonaState extends DocumentFields {
  did: string;
  rotationKeys: RotationKey[];
  guardians: Guardians | null;
  deactivated: boolean;
  pendingRecovery: PendingRecovery | null;
  /** Hash of the genesis operation. */
  genesis: string;
  /** Hash of the last operation (what the next one's `prev` must be) = the DID document's versionId. */
  head: string;
  /** Integration times (POSIX seconds) of the genesis and of the last operation. */
  created: number;
  updated: number;
}
