import { checkCount, LedgerError } from './errors.js';
import { equalBytes, HASH_SIZE, hashChildren } from './hash.js';

// Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 literally. Sizes can exceed 2^32, so the
// bit operations of the RFC pseudo-code are done with arithmetic (% 2 and halving) instead of
// JavaScript's 32-bit operators.

function fail(message: string): never {
  throw new LedgerError('invalid-proof', message);
}

function checkHashes(hashes: readonly Uint8Array[]): void {
  for (const h of hashes) if (h.length !== HASH_SIZE) fail('proof hashes must be 32 bytes');
}

const odd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/** Checks that `leafHash` is entry `index` of the tree of `size` leaves with root `root`; throws LedgerError. */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkCount(index, 'index');
  checkCount(size, 'size');
  if (index >= size) fail(`index ${index} is not below tree size ${size}`);
  if (leafHash.length !== HASH_SIZE || root.length !== HASH_SIZE) fail('leaf hash and root must be 32 bytes');
  checkHashes(proof);
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) fail('inclusion proof is too long');
    if (odd(fn) || fn === sn) {
      r = hashChildren(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('inclusion proof is too short');
  if (!equalBytes(r, root)) fail('inclusion proof does not lead to the root');
}

/** Checks that the tree of `size1` leaves (root1) is a prefix of the tree of `size2` leaves (root2). */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkCount(size1, 'size1');
  checkCount(size2, 'size2');
  // A consistency proof from the empty tree proves nothing; callers special-case size 0.
  if (size1 === 0) fail('consistency from an empty tree is meaningless');
  if (size1 > size2) fail(`size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === size2) {
    if (proof.length !== 0) fail('proof between equal sizes must be empty');
    // Two different roots for one size: evidence of a fork, not a malformed proof.
    if (!equalBytes(root1, root2)) throw new LedgerError('inconsistent', 'equal sizes with different roots');
    return;
  }
  if (proof.length === 0) fail('empty consistency proof');
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE) fail('roots must be 32 bytes');
  checkHashes(proof);
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) fail('consistency proof is too long');
    if (odd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('consistency proof is too short');
  if (!equalBytes(fr, root1)) fail('consistency proof does not lead to root1');
  if (!equalBytes(sr, root2)) fail('consistency proof does not lead to root2');
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}
