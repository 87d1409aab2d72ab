import { peerIdFromString } from '@libp2p/peer-id';
import { fromBase64Url, toBase64Url } from '@personachain/crypto';
import type { DeletionAttestation, NodeSigner, RemovalReason } from '../types.js';

/**
 * The exact bytes a node signs for a deletion attestation:
 *
 *   UTF-8("persona-ephemeral-deletion/v1\n" + canonical JSON of {deletedAt, keyCommitment, nodeId, reason})
 *
 * Canonical JSON is RFC 8785 (JCS): keys sorted, no whitespace. Every value is a string drawn from a
 * restricted alphabet (checked below), so JSON.stringify of the sorted object is exactly the JCS form.
 * The prefix separates these signatures from anything else the node key signs (libp2p handshakes,
 * checkpoints of its own log).
 */
export const ATTESTATION_CONTEXT = 'persona-ephemeral-deletion/v1\n';

const REASONS: readonly RemovalReason[] = ['expired', 'deleted', 'burned'];
/** base64url without padding of 32 bytes (a SHA-256 commitment). */
const COMMITMENT_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** RFC 3339 in UTC with exactly three fractional digits, as Date#toISOString writes it. */
const DELETED_AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** base64url of a 64-byte Ed25519 signature. */
const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{86}$/;
/** A peer id string is far shorter; the bound keeps a hostile input from reaching the decoder. */
const MAX_NODE_ID_LENGTH = 128;

export type AttestationPayload = Omit<DeletionAttestation, 'signature'>;

/** The unused low bits of the last character must be zero, or two strings would decode to the same bytes. */
function isCanonicalBase64Url(text: string): boolean {
  return toBase64Url(fromBase64Url(text)) === text;
}

export function isKeyCommitment(value: unknown): value is string {
  return typeof value === 'string' && COMMITMENT_PATTERN.test(value);
}

/** Why a value is not a well-formed attestation, or undefined when it is (the signature is not checked). */
export function attestationShapeError(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'an attestation must be a JSON object';
  const a = value as Record<string, unknown>;
  const extra = Object.keys(a).filter(
    (k) => !['keyCommitment', 'deletedAt', 'reason', 'nodeId', 'signature'].includes(k),
  );
  if (extra.length > 0) return `unexpected field(s): ${extra.join(', ')}`;
  if (!isKeyCommitment(a.keyCommitment)) return 'keyCommitment must be base64url of 32 bytes';
  if (!isCanonicalBase64Url(a.keyCommitment)) return 'keyCommitment is not canonical base64url';
  if (typeof a.deletedAt !== 'string' || !DELETED_AT_PATTERN.test(a.deletedAt)) {
    return 'deletedAt must be RFC 3339 UTC with milliseconds (YYYY-MM-DDTHH:MM:SS.sssZ)';
  }
  const when = new Date(a.deletedAt);
  if (Number.isNaN(when.getTime()) || when.toISOString() !== a.deletedAt)
    return 'deletedAt is not a real instant';
  if (typeof a.reason !== 'string' || !REASONS.includes(a.reason as RemovalReason)) {
    return `reason must be one of ${REASONS.join(', ')}`;
  }
  if (typeof a.nodeId !== 'string' || a.nodeId.length === 0 || a.nodeId.length > MAX_NODE_ID_LENGTH) {
    return 'nodeId must be a libp2p peer id';
  }
  if (typeof a.signature !== 'string' || !SIGNATURE_PATTERN.test(a.signature)) {
    return 'signature must be base64url of a 64-byte Ed25519 signature';
  }
  // One attestation has exactly one spelling; ledgers deduplicate on it.
  if (!isCanonicalBase64Url(a.signature)) return 'signature is not canonical base64url';
  return undefined;
}

/** The signed bytes for a payload (see ATTESTATION_CONTEXT). */
export function attestationSigningBytes(p: AttestationPayload): Uint8Array {
  // Keys in sorted order: this literal's order is the canonical order.
  const canonical = JSON.stringify({
    deletedAt: p.deletedAt,
    keyCommitment: p.keyCommitment,
    nodeId: p.nodeId,
    reason: p.reason,
  });
  return new TextEncoder().encode(ATTESTATION_CONTEXT + canonical);
}

/** The whole attestation (signature included) in canonical JSON: the leaf a log commits to. */
export function canonicalAttestation(a: DeletionAttestation): string {
  return JSON.stringify({
    deletedAt: a.deletedAt,
    keyCommitment: a.keyCommitment,
    nodeId: a.nodeId,
    reason: a.reason,
    signature: a.signature,
  });
}

/** Signs an attestation that `signer`'s node no longer holds the entry committed to by `keyCommitment`. */
export async function signAttestation(
  signer: NodeSigner,
  input: { keyCommitment: string; deletedAt: number; reason: RemovalReason },
): Promise<DeletionAttestation> {
  if (!isKeyCommitment(input.keyCommitment))
    throw new TypeError('keyCommitment must be base64url of 32 bytes');
  if (!REASONS.includes(input.reason)) throw new TypeError(`unknown removal reason ${String(input.reason)}`);
  const payload: AttestationPayload = {
    keyCommitment: input.keyCommitment,
    deletedAt: new Date(input.deletedAt).toISOString(),
    reason: input.reason,
    nodeId: signer.nodeId,
  };
  const signature = await signer.sign(attestationSigningBytes(payload));
  return { ...payload, signature: toBase64Url(signature) };
}

export type AttestationCheck = { valid: true } | { valid: false; error: string };

/**
 * Verifies an attestation's shape and its Ed25519 signature against the public key embedded in its
 * nodeId (an Ed25519 libp2p peer id carries its key inline, so no key lookup is needed).
 */
export async function verifyAttestation(value: unknown): Promise<AttestationCheck> {
  const shape = attestationShapeError(value);
  if (shape !== undefined) return { valid: false, error: shape };
  const a = value as DeletionAttestation;
  let publicKey: { verify(data: Uint8Array, sig: Uint8Array): boolean | Promise<boolean> } | undefined;
  try {
    const peerId = peerIdFromString(a.nodeId);
    publicKey = peerId.type === 'Ed25519' ? peerId.publicKey : undefined;
  } catch {
    return { valid: false, error: 'nodeId is not a libp2p peer id' };
  }
  if (publicKey === undefined) return { valid: false, error: 'nodeId is not an Ed25519 peer id' };
  const ok = await publicKey.verify(attestationSigningBytes(a), fromBase64Url(a.signature));
  return ok
    ? { valid: true }
    : { valid: false, error: 'the signature does not match the node key and payload' };
}
