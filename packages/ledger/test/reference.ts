// Independent in-memory RFC 9162 §2.1 definitions (MTH, PATH, PROOF), straight from the RFC text, used as
// the oracle for the tile-based implementation. Test helper only.
import { createHash } from 'node:crypto';

export const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

export const leafHashOf = (entry: Uint8Array): Uint8Array => sha256(Uint8Array.of(0), entry);
const node = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(Uint8Array.of(1), l, r);

function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function mth(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0] as Uint8Array;
  const k = split(leaves.length);
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

export function path(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  if (m < k) return [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))];
  return [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

function subproof(m: number, leaves: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return b ? [] : [mth(leaves)];
  const k = split(n);
  if (m <= k) return [...subproof(m, leaves.slice(0, k), b), mth(leaves.slice(k))];
  return [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}

export const proof = (m: number, leaves: readonly Uint8Array[]): Uint8Array[] => subproof(m, leaves, true);

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
export const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

export function flipFirstBit(h: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(h);
  copy[0] = (copy[0] as number) ^ 1;
  return copy;
}
