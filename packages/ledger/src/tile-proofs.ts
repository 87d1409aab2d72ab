import { checkCount, LedgerError } from './errors.js';
import { EMPTY_ROOT, splitPoint } from './hash.js';
import { foldRange, type Node, rangeNodes, readNodes, type TileReader } from './tile-nodes.js';

/** Root hash of the tree of `size` leaves, read from its right-edge tiles. */
export async function treeRoot(size: number, reader: TileReader): Promise<Uint8Array> {
  checkCount(size, 'size');
  if (size === 0) return EMPTY_ROOT.slice();
  // Copies: memoized subtree hashes must not be handed out (a caller could modify them).
  return foldRange(await readNodes(rangeNodes(0, size), size, reader)).slice();
}

/**
 * A proof is a list of elements, each the MTH of a range of leaves; `plan` lists the ranges as groups of
 * complete subtrees so that all tiles are fetched at once and each element is folded from its group.
 */
async function buildProof(plan: readonly Node[][], size: number, reader: TileReader): Promise<Uint8Array[]> {
  const hashes = await readNodes(plan.flat(), size, reader);
  const proof: Uint8Array[] = [];
  let next = 0;
  for (const group of plan) {
    proof.push(foldRange(hashes.slice(next, next + group.length)).slice());
    next += group.length;
  }
  return proof;
}

// RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]), leaf's sibling first.
function inclusionPlan(lo: number, hi: number, index: number, plan: Node[][]): Node[][] {
  if (hi - lo === 1) return plan;
  const k = splitPoint(hi - lo);
  if (index < lo + k) {
    inclusionPlan(lo, lo + k, index, plan);
    plan.push(rangeNodes(lo + k, hi));
  } else {
    inclusionPlan(lo + k, hi, index, plan);
    plan.push(rangeNodes(lo, lo + k));
  }
  return plan;
}

// RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b), with b expressed as lo === 0.
function consistencyPlan(lo: number, hi: number, size1: number, plan: Node[][]): Node[][] {
  if (size1 === hi) {
    if (lo !== 0) plan.push(rangeNodes(lo, hi));
    return plan;
  }
  const k = splitPoint(hi - lo);
  if (size1 <= lo + k) {
    consistencyPlan(lo, lo + k, size1, plan);
    plan.push(rangeNodes(lo + k, hi));
  } else {
    consistencyPlan(lo + k, hi, size1, plan);
    plan.push(rangeNodes(lo, lo + k));
  }
  return plan;
}

/** Inclusion proof for entry `index` in the tree of `size` leaves, from tiles (one readTiles call). */
export async function proveInclusion(index: number, size: number, reader: TileReader): Promise<Uint8Array[]> {
  checkCount(index, 'index');
  checkCount(size, 'size');
  if (index >= size)
    throw new LedgerError('invalid-argument', `index ${index} is not below tree size ${size}`);
  return buildProof(inclusionPlan(0, size, index, []), size, reader);
}

/** Consistency proof from the tree of `size1` leaves to the tree of `size2` leaves (0 < size1 ≤ size2). */
export async function proveConsistency(
  size1: number,
  size2: number,
  reader: TileReader,
): Promise<Uint8Array[]> {
  checkCount(size1, 'size1');
  checkCount(size2, 'size2');
  if (size1 === 0 || size1 > size2) {
    throw new LedgerError('invalid-argument', `no consistency proof from size ${size1} to size ${size2}`);
  }
  return buildProof(consistencyPlan(0, size2, size1, []), size2, reader);
}
