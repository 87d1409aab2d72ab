import { Type } from 'typebox';
import { ProjectId } from '../tenancy/schemas.js';

const KeyCommitment = Type.String({
  pattern: '^[A-Za-z0-9_-]{43}$',
  description:
    'base64url(SHA-256("personachain/ephemeral/key-commitment/v1\\0" ‖ salt ‖ UTF-8(key))): the salted ' +
    'commitment to a compliance entry’s storage key (docs/ephemeral-attestations.md).',
});

const attestationMembers = {
  keyCommitment: KeyCommitment,
  deletedAt: Type.String({
    pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$',
    description: 'When the node dropped the entry (RFC 3339 UTC with milliseconds), as signed.',
  }),
  reason: Type.Enum(['expired', 'deleted', 'burned'] as const),
  nodeId: Type.String({
    minLength: 1,
    maxLength: 128,
    pattern: '^[1-9A-HJ-NP-Za-km-z]+$',
    description: 'The signing node’s libp2p peer id (base58btc); its Ed25519 public key is embedded in it.',
  }),
  signature: Type.String({
    pattern: '^[A-Za-z0-9_-]{86}$',
    description: 'base64url Ed25519 signature over the canonical payload (docs/ephemeral-attestations.md).',
  }),
};

export const DeletionAttestation = Type.Object(attestationMembers, {
  additionalProperties: false,
  description: 'A node’s signed statement that it no longer holds a compliance entry.',
});

export const RecordedAttestation = Type.Object({
  ...attestationMembers,
  receivedAt: Type.String({ description: 'When the platform recorded it (RFC 3339, seconds).' }),
  ledgerIndex: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Its entry index in the ledger; null when not integrated yet (answered with 202).',
  }),
});

export const ProvenAttestation = Type.Object({
  ...RecordedAttestation.properties,
  ledgerEntry: Type.String({
    description:
      'base64url of the ledger entry: RFC 8785 JSON of {"at","attestation","type":"ephemeral/deletion-attestation"}. ' +
      'Its RFC 9162 leaf hash is what the inclusion proof proves.',
  }),
  inclusionProof: Type.Union([Type.String(), Type.Null()], {
    description:
      'A C2SP tlog-proof (index, audit path and the signed checkpoint) for the entry, verifiable offline ' +
      'against GET /ledger/verifier-key; null while the entry is not integrated yet.',
  }),
});

export const AttestationList = Type.Object({
  keyCommitment: KeyCommitment,
  data: Type.Array(ProvenAttestation),
});

export const ProjectParams = Type.Object({ projectId: ProjectId });
export const AttestationQuery = Type.Object(
  { keyCommitment: KeyCommitment },
  { additionalProperties: false },
);
