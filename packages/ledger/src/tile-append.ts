import { checkCount, LedgerError } from './errors.js';
import { EMPTY_ROOT, HASH_SIZE } from './hash.js';
import {
  foldRange,
  inheritSubtreeHashes,
  locate,
  perfectRoot,
  rangeNodes,
  readChecked,
  type TileReader,
  tileKey,
} from './tile-nodes.js';
import { hashesAtLevel, rightEdgeTiles, TILE_WIDTH, type TileId } from './tile-paths.js';

/**
 * Appends leaf hashes to the tree of `oldSize` leaves. Reads the old right-edge (partial) tiles in one call
 * and returns the new size, the new root and every hash tile whose content changed, with its full content.
 */
export async function appendLeafHashes(
  oldSize: number,
  leafHashes: readonly Uint8Array[],
  reader: TileReader,
): Promise<{ size: number; root: Uint8Array; tiles: Array<{ tile: TileId; data: Uint8Array }> }> {
  checkCount(oldSize, 'oldSize');
  const size = oldSize + leafHashes.length;
  checkCount(size, 'new size');
  for (const h of leafHashes) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw new LedgerError('invalid-argument', 'leaf hashes must be 32 bytes');
    }
  }
  const edge = rightEdgeTiles(oldSize);
  const edgeData = await readChecked(edge, reader);
  const oldPartial = new Map<number, Uint8Array>();
  for (const [i, tile] of edge.entries()) oldPartial.set(tile.level, edgeData[i] as Uint8Array);

  const changed: Array<{ tile: TileId; data: Uint8Array }> = [];
  // The last tile at each level in the new tree: all that the root needs.
  const lastTiles = new Map<string, Uint8Array>();
  for (const [level, data] of oldPartial)
    lastTiles.set(tileKey(level, Math.floor(hashesAtLevel(oldSize, level) / TILE_WIDTH)), data);

  let added: Uint8Array[] = [...leafHashes];
  for (let level = 0; added.length > 0; level++) {
    // The row of this level from the start of the old partial tile (always a multiple of 256) onwards.
    const firstTile = Math.floor(hashesAtLevel(oldSize, level) / TILE_WIDTH);
    const prefix = oldPartial.get(level) ?? new Uint8Array(0);
    const row = new Uint8Array(prefix.length + added.length * HASH_SIZE);
    row.set(prefix, 0);
    for (const [i, h] of added.entries()) row.set(h, prefix.length + i * HASH_SIZE);
    const rowCount = row.length / HASH_SIZE;

    const nextAdded: Uint8Array[] = [];
    for (let t = 0; t * TILE_WIDTH < rowCount; t++) {
      const width = Math.min(TILE_WIDTH, rowCount - t * TILE_WIDTH);
      const data = row.slice(t * TILE_WIDTH * HASH_SIZE, (t * TILE_WIDTH + width) * HASH_SIZE);
      // The old partial tile grew into this one: what was hashed of it need not be hashed again.
      if (t === 0 && prefix.length > 0) inheritSubtreeHashes(prefix, data);
      const tile = { level, index: firstTile + t, width };
      changed.push({ tile, data });
      lastTiles.set(tileKey(level, tile.index), data);
      // A completed tile becomes one hash of the level above; an old full tile is never in `row`.
      if (width === TILE_WIDTH) nextAdded.push(perfectRoot(data, 0, TILE_WIDTH));
    }
    added = nextAdded;
  }

  if (size === 0) return { size, root: EMPTY_ROOT.slice(), tiles: changed };
  const rootHashes = rangeNodes(0, size).map((node) => {
    const loc = locate(node);
    return perfectRoot(
      lastTiles.get(tileKey(loc.tileLevel, loc.tileIndex)) as Uint8Array,
      loc.offset,
      loc.count,
    );
  });
  // A copy: memoized subtree hashes must not be handed out.
  return { size, root: foldRange(rootHashes).slice(), tiles: changed };
}
