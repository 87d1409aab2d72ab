import type { TileId } from '@personachain/ledger';
import { describe, expect, it } from 'vitest';
import { TileCache } from '../src/modules/ledger/tile-cache.js';

/** A tile store that counts what it is asked for. */
function countingRepo() {
  const asked: TileId[] = [];
  return {
    asked,
    async readTiles(tiles: readonly TileId[]) {
      asked.push(...tiles);
      return tiles.map((tile) => new Uint8Array(tile.width * 32).fill(tile.index));
    },
  };
}

describe('tile cache', () => {
  it('reads a tile once per width and returns the same array after', async () => {
    const repo = countingRepo();
    const cache = new TileCache(repo);
    const full = { level: 1, index: 3, width: 256 };
    const partial = { level: 2, index: 7, width: 12 };
    const wider = { level: 2, index: 7, width: 13 };
    const [first, firstPartial] = await cache.readTiles([full, partial]);
    const [again, againPartial, grown] = await cache.readTiles([full, partial, wider]);
    expect(again).toBe(first);
    expect(againPartial).toBe(firstPartial);
    expect(grown?.length).toBe(13 * 32);
    expect(repo.asked).toEqual([full, partial, wider]);
  });

  it('keeps results in request order when hits and misses mix, and evicts the least recently used', async () => {
    const repo = countingRepo();
    const cache = new TileCache(repo, 2);
    const tile = (index: number) => ({ level: 1, index, width: 256 });
    await cache.readTiles([tile(1), tile(2)]);
    await cache.readTiles([tile(1)]); // 1 is now more recent than 2
    const read = await cache.readTiles([tile(3), tile(1), tile(4)]);
    expect(read.map((data) => data[0])).toEqual([3, 1, 4]);
    repo.asked.length = 0;
    await cache.readTiles([tile(1), tile(2), tile(4)]);
    expect(repo.asked.map((t) => t.index)).toEqual([1, 2]);
  });

  it('does not keep level-0 tiles: proofs of random entries read each once', async () => {
    const repo = countingRepo();
    const cache = new TileCache(repo);
    const leaves = { level: 0, index: 5, width: 256 };
    await cache.readTiles([leaves]);
    await cache.readTiles([leaves]);
    expect(repo.asked).toEqual([leaves, leaves]);
  });
});
