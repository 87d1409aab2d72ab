import type { TileId, TileReader } from '@personachain/ledger';
import type { LedgerRepo } from './repo.js';

/**
 * A tile's first W hashes never change once written (the log only appends), so a tile read at a given
 * width may be kept by any process, even beside other replicas. That makes proof generation cheap: every
 * proof reads the same few upper-level and right-edge tiles, and handing the ledger core the same array
 * object each time lets it memoize the subtree hashes it computes inside a tile. Least recently used tiles
 * go first; as the log grows, right-edge tiles are asked for at new widths and the old widths age out.
 * Level 0 is not kept: its tiles are what proofs of random entries read once each, and keeping them would
 * only make the garbage collector move them to the old generation and pause to collect them there.
 */
export class TileCache implements TileReader {
  private readonly tiles = new Map<string, Uint8Array>();

  constructor(
    private readonly repo: Pick<LedgerRepo, 'readTiles'>,
    private readonly capacity = 4096,
  ) {}

  async readTiles(tiles: readonly TileId[]): Promise<Uint8Array[]> {
    const result: Array<Uint8Array | undefined> = tiles.map((tile) => this.hit(tile));
    const missing = tiles.filter((_, i) => result[i] === undefined);
    if (missing.length > 0) {
      const read = await this.repo.readTiles(missing);
      let next = 0;
      tiles.forEach((tile, i) => {
        if (result[i] !== undefined) return;
        const data = read[next++] as Uint8Array;
        if (tile.level > 0) this.remember(tile, data);
        result[i] = data;
      });
    }
    return result as Uint8Array[];
  }

  private hit(tile: TileId): Uint8Array | undefined {
    if (tile.level === 0) return undefined;
    const key = keyOf(tile);
    const data = this.tiles.get(key);
    if (data) {
      this.tiles.delete(key);
      this.tiles.set(key, data);
    }
    return data;
  }

  private remember(tile: TileId, data: Uint8Array): void {
    this.tiles.set(keyOf(tile), data);
    if (this.tiles.size > this.capacity) this.tiles.delete(this.tiles.keys().next().value as string);
  }
}

function keyOf(tile: TileId): string {
  return `${tile.level}/${tile.index}/${tile.width}`;
}
