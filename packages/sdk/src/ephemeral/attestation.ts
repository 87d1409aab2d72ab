import { fromBase64Url, signatureScheme } from '@personachain/crypto';
import { base58 } from '@scure/base';

/*
 * Client-side check of a node's deletion attestation, with no node code: the exact signed bytes of
 * packages/node/src/attestation/payload.ts (a test pins this to the node's signAttestation), and the
 * node's Ed25519 key read from its libp2p peer id, which embeds it.
 */

/** A replica's signed statement that it no longer holds a compliance entry. */
export interface EphemeralAttestation {
  keyCommitment: string;
  /** RFC 3339 with milliseconds, UTC. */
  deletedAt: string;
  reason: 'expired' | 'deleted' | 'burned';
  /** The signing node's libp2p peer id (`12D3KooW…`). */
  nodeId: string;
  /** base64url Ed25519 signature. */
  signature: string;
}

const ATTESTATION_CONTEXT = 'persona-ephemeral-deletion/v1\n';
/**
 * An Ed25519 peer id is base58btc of an identity multihash (0x00, length 0x24) of the libp2p
 * PublicKey protobuf: field 1 KeyType = 1 (Ed25519) → 0x08 0x01, field 2 Data, 32 bytes → 0x12 0x20.
 */
const ED25519_PEER_ID_PREFIX = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20);
/** Peer ids are far shorter; the bound keeps the quadratic base58 decoder away from hostile input. */
const MAX_NODE_ID_LENGTH = 128;

/** The Ed25519 public key inside an Ed25519 libp2p peer id, or undefined for anything else. */
export function ephemeralNodePublicKey(nodeId: string): Uint8Array | undefined {
  if (typeof nodeId !== 'string' || nodeId.length === 0 || nodeId.length > MAX_NODE_ID_LENGTH)
    return undefined;
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(nodeId);
  } catch {
    return undefined;
  }
  if (bytes.length !== ED25519_PEER_ID_PREFIX.length + 32) return undefined;
  if (!ED25519_PEER_ID_PREFIX.every((byte, i) => bytes[i] === byte)) return undefined;
  return bytes.slice(ED25519_PEER_ID_PREFIX.length);
}

/** The bytes a node signs: the context line, then the fields as JSON with sorted keys (RFC 8785). */
export function ephemeralAttestationSigningBytes(
  attestation: Omit<EphemeralAttestation, 'signature'>,
): Uint8Array {
  const canonical = JSON.stringify({
    deletedAt: attestation.deletedAt,
    keyCommitment: attestation.keyCommitment,
    nodeId: attestation.nodeId,
    reason: attestation.reason,
  });
  return new TextEncoder().encode(ATTESTATION_CONTEXT + canonical);
}

/**
 * Whether the node named in `attestation.nodeId` signed exactly this attestation. It proves who signed
 * what; whether that node was one of the entry's replicas is the caller's judgement.
 */
export async function verifyEphemeralAttestation(attestation: EphemeralAttestation): Promise<boolean> {
  const publicKey = ephemeralNodePublicKey(attestation.nodeId);
  if (!publicKey || typeof attestation.signature !== 'string') return false;
  let signature: Uint8Array;
  try {
    signature = fromBase64Url(attestation.signature);
  } catch {
    return false;
  }
  if (signature.length !== 64) return false;
  return signatureScheme('Ed25519').verify(
    publicKey,
    ephemeralAttestationSigningBytes(attestation),
    signature,
  );
}
