import { describe, expect, it } from 'vitest';
import {
  appendLeafHashes,
  hashLeaf,
  INNER_SUBTREE_HASHES,
  innerSubtreeHashes,
  proveInclusion,
  rememberInnerSubtreeHashes,
  rootOf,
  verifyInclusion,
} from '../src/index.js';
import { MemoryTiles } from './memory-tiles.js';

const leaves = (n: number) =>
  Array.from({ length: n }, (_, i) => hashLeaf(new TextEncoder().encode(`entry ${i}`)));

async function logOf(size: number) {
  const tiles = new MemoryTiles();
  const hashes = leaves(size);
  const grown = await appendLeafHashes(0, hashes, tiles);
  tiles.store(grown.tiles);
  return { tiles, hashes, root: grown.root };
}

describe('inner subtree hashes of a full tile', () => {
  it('are the roots of its aligned 16-, 32-, 64- and 128-hash subtrees, in that order', async () => {
    const { tiles, hashes } = await logOf(256);
    const tile = tiles.tiles.get('0/0') as Uint8Array;
    const inner = innerSubtreeHashes(tile);
    expect(inner.length).toBe(INNER_SUBTREE_HASHES * 32);
    const expected: Uint8Array[] = [];
    for (const count of [16, 32, 64, 128]) {
      for (let offset = 0; offset < 256; offset += count)
        expected.push(rootOf(hashes.slice(offset, offset + count)));
    }
    expect(Buffer.from(inner)).toEqual(Buffer.concat(expected.map((h) => Buffer.from(h))));
    expect(() => innerSubtreeHashes(tile.subarray(0, 255 * 32))).toThrow(/full tile/);
  });

  it('once remembered, are what proofs use: right ones give the same proofs, wrong ones a proof that fails', async () => {
    const { tiles, hashes, root } = await logOf(600);
    const plain = await proveInclusion(300, 600, tiles);

    const tile = tiles.tiles.get('0/1') as Uint8Array;
    rememberInnerSubtreeHashes(tile, innerSubtreeHashes(tile));
    expect(await proveInclusion(300, 600, tiles)).toEqual(plain);
    verifyInclusion(300, 600, hashes[300] as Uint8Array, plain, root);

    // A store that lied about them would be caught by the verifier: the proof no longer checks out.
    const other = (await logOf(600)).tiles.tiles.get('0/1') as Uint8Array;
    const wrong = innerSubtreeHashes(tile).fill(7);
    rememberInnerSubtreeHashes(other, wrong);
    const forged = await proveInclusion(300, 600, {
      readTiles: async (t) =>
        t.map((id) =>
          id.level === 0 && id.index === 1
            ? other
            : (tiles.tiles.get(`${id.level}/${id.index}`) as Uint8Array).subarray(0, id.width * 32),
        ),
    });
    expect(forged).not.toEqual(plain);
    expect(() => verifyInclusion(300, 600, hashes[300] as Uint8Array, forged, root)).toThrow();
    expect(() => rememberInnerSubtreeHashes(tile, new Uint8Array(10))).toThrow();
  });
});
