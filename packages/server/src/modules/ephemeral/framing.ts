import { canonicalJson } from '@personachain/credentials';
import type { DeletionAttestation } from '@personachain/node/attestation';

/** The `type` of an ephemeral deletion-attestation ledger entry (other entries of the log have others). */
export const ATTESTATION_ENTRY_TYPE = 'ephemeral/deletion-attestation';

/**
 * The ledger entry for an attestation: the RFC 8785 canonical JSON of `{ "at", "attestation", "type" }`,
 * where `attestation` is the node-signed attestation as submitted (its five members) and `at` the time
 * the platform received it, in POSIX seconds. The project is not in the entry: the public log shows a
 * commitment only its owner can link to a key, and nothing about who holds it.
 */
export function encodeAttestationEntry(at: number, a: DeletionAttestation): Uint8Array {
  const attestation = {
    deletedAt: a.deletedAt,
    keyCommitment: a.keyCommitment,
    nodeId: a.nodeId,
    reason: a.reason,
    signature: a.signature,
  };
  return canonicalJson({ at, attestation, type: ATTESTATION_ENTRY_TYPE });
}
