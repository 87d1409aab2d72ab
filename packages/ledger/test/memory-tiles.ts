// A test TileReader over an in-memory tile store, as the server keeps tiles: the latest version of each
// tile, served as a prefix when a narrower width is asked for.
import type { TileId, TileReader } from '../src/index.js';

export class MemoryTiles implements TileReader {
  readonly tiles = new Map<string, Uint8Array>();
  calls: TileId[][] = [];

  async readTiles(tiles: readonly TileId[]): Promise<Uint8Array[]> {
    this.calls.push([...tiles]);
    return tiles.map((t) => {
      const data = this.tiles.get(`${t.level}/${t.index}`);
      if (!data || data.length < t.width * 32)
        throw new Error(`missing tile ${t.level}/${t.index}.p/${t.width}`);
      // The same object when the stored width matches (as a tile cache would), a prefix view otherwise.
      return data.length === t.width * 32 ? data : data.subarray(0, t.width * 32);
    });
  }

  store(changed: ReadonlyArray<{ tile: TileId; data: Uint8Array }>): void {
    for (const { tile, data } of changed) this.tiles.set(`${tile.level}/${tile.index}`, data);
  }
}
