import { describe, expect, it, vi } from 'vitest';
import { appendLeafHashes, rootOf } from '../src/index.js';
import { MemoryTiles } from './memory-tiles.js';
import { hex, leafHashOf } from './reference.js';

// Counts the interior-node hashes the tree code computes (the leaf hashes are the caller's).
const nodeHashes = vi.hoisted(() => ({ count: 0 }));
vi.mock('../src/hash.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/hash.js')>();
  return {
    ...original,
    hashChildren: (left: Uint8Array, right: Uint8Array) => {
      nodeHashes.count++;
      return original.hashChildren(left, right);
    },
    hashAdjacent: (hashes: Uint8Array, start: number) => {
      nodeHashes.count++;
      return original.hashAdjacent(hashes, start);
    },
  };
});

const leafOf = (i: number): Uint8Array => leafHashOf(new Uint8Array(new Uint32Array([i, i * 3]).buffer));

describe('appending to a tile that grew', () => {
  it('hashes what the new leaves add, not the tile again, when the reader hands back the tiles it got', async () => {
    // MemoryTiles returns the very arrays appendLeafHashes produced, as the server's edge cache does.
    const store = new MemoryTiles();
    const leaves: Uint8Array[] = [];
    const perBatch: number[] = [];
    for (let batch = 0; batch < 60; batch++) {
      const added = [leafOf(leaves.length), leafOf(leaves.length + 1), leafOf(leaves.length + 2)];
      nodeHashes.count = 0;
      const grown = await appendLeafHashes(leaves.length, added, store);
      perBatch.push(nodeHashes.count);
      store.store(grown.tiles);
      leaves.push(...added);
      expect(hex(grown.root)).toBe(hex(rootOf(leaves)));
    }
    // From scratch, a root over a 180-hash partial tile takes ~180 node hashes; with the prefix's subtree
    // hashes reused, a batch of 3 takes a few for the new subtrees and one per level of the root's fold.
    expect(Math.max(...perBatch.slice(1))).toBeLessThanOrEqual(24);
  });

  it('hashes the whole tile when its arrays are new (read back from storage)', async () => {
    const store = new MemoryTiles();
    const leaves = Array.from({ length: 180 }, (_, i) => leafOf(i));
    store.store((await appendLeafHashes(0, leaves, store)).tiles);
    // A copy of every tile: the memoized hashes belong to the old arrays.
    store.store([...store.tiles].map(([key, data]) => ({ tile: tileOf(key, data), data: data.slice() })));
    nodeHashes.count = 0;
    const grown = await appendLeafHashes(180, [leafOf(180)], store);
    expect(hex(grown.root)).toBe(hex(rootOf([...leaves, leafOf(180)])));
    expect(nodeHashes.count).toBeGreaterThan(150);
  });
});

function tileOf(key: string, data: Uint8Array) {
  const [level, index] = key.split('/').map(Number) as [number, number];
  return { level, index, width: data.length / 32 };
}
