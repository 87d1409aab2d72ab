import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  HASH_SIZE,
  hashChildren,
  hashLeaf,
  LedgerError,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.js';
import { b64, flipFirstBit, fromHex, hex, leafHashOf, mth, path, proof } from './reference.js';
import consistencyVectors from './vectors/consistency.json' with { type: 'json' };
import inclusionVectors from './vectors/inclusion.json' with { type: 'json' };

// V1: transparency-dev/merkle testonly/constants.go leaves and roots.
const V1_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(fromHex);
const V1_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const leafHashes = V1_LEAVES.map(hashLeaf);

function expectLedgerError(fn: () => unknown, code?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(LedgerError);
  if (code) expect((thrown as LedgerError).code).toBe(code);
}

describe('RFC 9162 hashing (V1)', () => {
  it('has the empty root and hash size', () => {
    expect(HASH_SIZE).toBe(32);
    expect(hex(EMPTY_ROOT)).toBe(V1_ROOTS[0]);
  });

  it('computes every V1 root for sizes 0..8', () => {
    for (let n = 0; n <= 8; n++) expect(hex(rootOf(leafHashes.slice(0, n)))).toBe(V1_ROOTS[n]);
  });

  it('matches the V1 leaf and level-1 hashes', () => {
    expect(hex(leafHashes[0] as Uint8Array).slice(0, 8)).toBe('6e340b9c');
    expect(hex(leafHashes[7] as Uint8Array).slice(0, 8)).toBe('46f6ffad');
    expect(hex(hashChildren(leafHashes[2] as Uint8Array, leafHashes[3] as Uint8Array)).slice(0, 8)).toBe(
      '5f083f0a',
    );
  });

  it('rejects hashes of the wrong size', () => {
    expectLedgerError(() => hashChildren(new Uint8Array(31), new Uint8Array(32)), 'invalid-argument');
    expectLedgerError(() => rootOf([new Uint8Array(33)]), 'invalid-argument');
  });
});

describe('V2/V3 proofs', () => {
  it('verifies the V2 inclusion proofs', () => {
    const cases: Array<[number, number, string[], string]> = [
      [0, 8, ['96a296d2', '5f083f0a', '6b47aaf2'], V1_ROOTS[8] as string],
      [5, 8, ['bc1a0643', 'ca854ea1', 'd37ee418'], V1_ROOTS[8] as string],
      [2, 3, ['fac54203'], V1_ROOTS[3] as string],
      [1, 5, ['6e340b9c', '5f083f0a', 'bc1a0643'], V1_ROOTS[5] as string],
    ];
    for (const [index, size, prefixes, root] of cases) {
      const p = path(index, leafHashes.slice(0, size));
      expect(p.map((h) => hex(h).slice(0, 8))).toEqual(prefixes);
      verifyInclusion(index, size, leafHashes[index] as Uint8Array, p, fromHex(root));
    }
  });

  it('verifies the V3 consistency proofs', () => {
    const cases: Array<[number, number, string[]]> = [
      [1, 8, ['96a296d2', '5f083f0a', '6b47aaf2']],
      [6, 8, ['0ebc5d34', 'ca854ea1', 'd37ee418']],
      [2, 5, ['5f083f0a', 'bc1a0643']],
      [6, 7, ['0ebc5d34', 'b08693ec', 'd37ee418']],
    ];
    for (const [m, n, prefixes] of cases) {
      const p = proof(m, leafHashes.slice(0, n));
      expect(p.map((h) => hex(h).slice(0, 8))).toEqual(prefixes);
      verifyConsistency(m, n, p, fromHex(V1_ROOTS[m] as string), fromHex(V1_ROOTS[n] as string));
    }
  });
});

const decodeProof = (p: string[] | null): Uint8Array[] => (p ?? []).map(b64);

describe('transparency-dev/merkle testdata', () => {
  it('has all 98 + 98 files', () => {
    expect(inclusionVectors.vectors).toHaveLength(98);
    expect(consistencyVectors.vectors).toHaveLength(98);
  });

  for (const v of inclusionVectors.vectors) {
    it(`inclusion/${v.file}`, () => {
      const run = () =>
        verifyInclusion(
          Number(v.leafIdx),
          Number(v.treeSize),
          b64(v.leafHash),
          decodeProof(v.proof),
          b64(v.root),
        );
      if (v.wantErr) expectLedgerError(run);
      else run();
    });
  }

  for (const v of consistencyVectors.vectors) {
    it(`consistency/${v.file}`, () => {
      const run = () =>
        verifyConsistency(Number(v.size1), Number(v.size2), decodeProof(v.proof), b64(v.root1), b64(v.root2));
      if (v.wantErr) expectLedgerError(run);
      else run();
    });
  }
});

describe('verification against the RFC definitions', () => {
  const leaves = Array.from({ length: 70 }, (_, i) => leafHashOf(Uint8Array.of(i, i >> 8)));

  it('accepts every inclusion proof up to size 70 and rejects it for the neighbouring index', () => {
    for (let n = 1; n <= 70; n++) {
      const root = mth(leaves.slice(0, n));
      expect(hex(rootOf(leaves.slice(0, n)))).toBe(hex(root));
      for (let m = 0; m < n; m++) {
        const p = path(m, leaves.slice(0, n));
        verifyInclusion(m, n, leaves[m] as Uint8Array, p, root);
        if (n > 1)
          expectLedgerError(
            () => verifyInclusion((m + 1) % n, n, leaves[m] as Uint8Array, p, root),
            'invalid-proof',
          );
      }
    }
  });

  it('accepts every consistency proof up to size 70 and rejects tampered ones', () => {
    for (let n = 1; n <= 70; n++) {
      const root2 = mth(leaves.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const root1 = mth(leaves.slice(0, m));
        const p = proof(m, leaves.slice(0, n));
        verifyConsistency(m, n, p, root1, root2);
        if (p.length > 0) {
          const bad = p.map((h, i) => (i === 0 ? flipFirstBit(h) : h));
          expectLedgerError(() => verifyConsistency(m, n, bad, root1, root2), 'invalid-proof');
        }
      }
    }
  });

  it('reports two roots for one size as inconsistent', () => {
    const [a, b] = leaves as [Uint8Array, Uint8Array];
    expectLedgerError(() => verifyConsistency(5, 5, [], a, b), 'inconsistent');
    verifyConsistency(5, 5, [], a, a);
  });

  it('rejects sizes and indices that are not safe integers', () => {
    const h = leaves[0] as Uint8Array;
    expectLedgerError(() => verifyInclusion(-1, 1, h, [], h), 'invalid-argument');
    expectLedgerError(() => verifyInclusion(0.5, 1, h, [], h), 'invalid-argument');
    expectLedgerError(() => verifyInclusion(0, 2 ** 53, h, [], h), 'invalid-argument');
    expectLedgerError(() => verifyConsistency(1, Number.NaN, [], h, h), 'invalid-argument');
  });

  it('handles sizes beyond 2^32 without 32-bit truncation', () => {
    // Index 2^32 + 5 in a tree of 2^33 leaves: a proof of 33 hashes; a wrong root must fail, not crash,
    // and the right number of hashes is required.
    const p = Array.from({ length: 33 }, (_, i) => leafHashOf(Uint8Array.of(i)));
    expectLedgerError(
      () => verifyInclusion(2 ** 32 + 5, 2 ** 33, leaves[0] as Uint8Array, p, EMPTY_ROOT),
      'invalid-proof',
    );
    expectLedgerError(
      () => verifyInclusion(2 ** 32 + 5, 2 ** 33, leaves[0] as Uint8Array, p.slice(1), EMPTY_ROOT),
      'invalid-proof',
    );
  });
});
