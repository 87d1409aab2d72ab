import type { TileId, TileReader } from '@personachain/ledger';

const keyOf = (tile: TileId): string => `${tile.level}/${tile.index}/${tile.width}`;

/**
 * The log's right-edge tiles as of the last committed batch, kept as the very arrays the Merkle core built
 * and memoized subtree hashes in: the next batch extends them instead of reading them back and hashing up
 * to 255 hashes per tile again. A tile's first `width` hashes never change, so a kept tile of exactly the
 * width asked for is right even after another replica appended (the next batch then asks for other widths
 * and reads those from the store).
 */
export class EdgeTiles {
  private kept = new Map<string, Uint8Array>();

  /**
   * One batch: `reader(store)` reads kept tiles, else `store`'s (the batch's transaction); `committed` is
   * called once that transaction committed, with the tiles it wrote.
   */
  forBatch(): {
    reader(store: TileReader): TileReader;
    committed(written: ReadonlyArray<{ tile: TileId; data: Uint8Array }>): void;
  } {
    const handedOut = new Map<string, Uint8Array>();
    const reader = (store: TileReader): TileReader => ({
      readTiles: async (tiles) => {
        const kept = tiles.map((tile) => this.kept.get(keyOf(tile)));
        const data = kept.every((tile) => tile !== undefined) ? kept : await store.readTiles(tiles);
        for (const [i, tile] of tiles.entries()) handedOut.set(keyOf(tile), data[i] as Uint8Array);
        return data;
      },
    });
    // The next batch's edge is made of tiles this one wrote and of those it read and left unchanged.
    const committed = (written: ReadonlyArray<{ tile: TileId; data: Uint8Array }>) => {
      for (const { tile, data } of written) handedOut.set(keyOf(tile), data);
      this.kept = handedOut;
    };
    return { reader, committed };
  }
}
