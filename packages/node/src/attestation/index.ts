// The attestation format as other packages (platform server, CLI) use it: payload, verification and the
// commitment formula, without the node's runtime (libp2p, store, HTTP).

export type { DeletionAttestation, NodeSigner, RemovalReason } from '../types.js';
export { keyCommitment, MAX_COMMITMENT_SALT_BYTES, MIN_COMMITMENT_SALT_BYTES } from './commitment.js';
export {
  ATTESTATION_CONTEXT,
  type AttestationCheck,
  type AttestationPayload,
  attestationShapeError,
  attestationSigningBytes,
  canonicalAttestation,
  isKeyCommitment,
  signAttestation,
  verifyAttestation,
} from './payload.js';
