import { sha256 } from '@personachain/crypto';
import { LedgerError } from './errors.js';

export const HASH_SIZE = 32;

/** MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ entry). */
export function hashLeaf(entry: Uint8Array): Uint8Array {
  const input = new Uint8Array(entry.length + 1);
  input.set(entry, 1);
  return sha256(input);
}

// One reusable buffer for interior nodes: tree hashing is synchronous and never re-entrant.
const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/** RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right). Both inputs must be 32 bytes. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    throw new LedgerError('invalid-argument', 'node hashes must be 32 bytes');
  }
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return sha256(nodeInput);
}

/** hashChildren of the two adjacent hashes at `start` in a buffer of concatenated hashes (a tile). */
export function hashAdjacent(hashes: Uint8Array, start: number): Uint8Array {
  nodeInput.set(hashes.subarray(start, start + 2 * HASH_SIZE), 1);
  return sha256(nodeInput);
}

/** Largest power of two strictly below n (n ≥ 2). Works for any safe integer. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** In-memory Merkle Tree Hash of a list of leaf hashes (for tests and small trees). */
export function rootOf(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return EMPTY_ROOT;
  for (const h of leafHashes) {
    if (h.length !== HASH_SIZE) throw new LedgerError('invalid-argument', 'leaf hashes must be 32 bytes');
  }
  return subtreeRoot(leafHashes, 0, leafHashes.length);
}

function subtreeRoot(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  if (hi - lo === 1) return leaves[lo] as Uint8Array;
  const k = splitPoint(hi - lo);
  return hashChildren(subtreeRoot(leaves, lo, lo + k), subtreeRoot(leaves, lo + k, hi));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
