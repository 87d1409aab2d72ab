import {
  decodeEntryBundle,
  entriesPath,
  HASH_SIZE,
  hashLeaf,
  LedgerError,
  rootOf,
  TILE_WIDTH,
  type TileId,
  type TileReader,
  tilePath,
  tilesForSize,
} from '@personachain/ledger';
import { checkedTile, equal, type LogSource, VerificationError } from './ledger-source.js';

/** Tiles (and at level 0 their entry bundles) in flight at once: bounds memory to a few MiB. */
const BATCH = 256;

/**
 * The full audit: ties every hash tile and every entry of the tree of `size` to its root. The partial
 * tiles (the right edge) come from `verifiedReader`, whose tiles the caller has already hashed to the
 * checkpoint's root; each full tile must hash to its hash in the already-verified tile above it, so the
 * levels are walked top-down; each entry must hash to its leaf hash in the level-0 tile.
 * Returns the number of entries checked.
 */
export async function auditTree(
  size: number,
  source: LogSource,
  verifiedReader: TileReader,
  onProgress?: (entriesDone: number, total: number) => void,
): Promise<number> {
  const levels: TileId[][] = [];
  for (const tile of tilesForSize(size)) {
    let level = levels[tile.level];
    if (!level) {
      level = [];
      levels[tile.level] = level;
    }
    level.push(tile);
  }
  let above = new Map<number, Uint8Array>();
  let entriesDone = 0;
  for (let level = levels.length - 1; level >= 0; level--) {
    const tiles = levels[level] ?? [];
    const verified = new Map<number, Uint8Array>();
    for (let start = 0; start < tiles.length; start += BATCH) {
      const batch = tiles.slice(start, start + BATCH);
      const [hashes, bundles] = await Promise.all([
        Promise.all(
          batch.map(async (tile) =>
            tile.width === TILE_WIDTH
              ? checkedTile(source, tile)
              : ((await verifiedReader.readTiles([tile]))[0] as Uint8Array),
          ),
        ),
        level === 0 ? Promise.all(batch.map((tile) => source.entryBundle(tile.index, tile.width))) : [],
      ]);
      for (const [i, tile] of batch.entries()) {
        const data = hashes[i] as Uint8Array;
        if (tile.width === TILE_WIDTH) checkAgainstParent(tile, data, above);
        if (level > 0) {
          verified.set(tile.index, data);
        } else {
          checkEntries(tile, data, bundles[i] as Uint8Array);
          entriesDone += tile.width;
          onProgress?.(entriesDone, size);
        }
      }
    }
    above = verified;
  }
  return entriesDone;
}

/** A full tile's 256 hashes must hash to the one hash for them in the tile above. */
function checkAgainstParent(tile: TileId, data: Uint8Array, above: ReadonlyMap<number, Uint8Array>): void {
  const parent = above.get(Math.floor(tile.index / TILE_WIDTH));
  // Every level's last tile is partial or has a level above; a missing parent is a bug here, not the log's.
  if (!parent) throw new Error(`internal error: the parent of ${tilePath(tile)} was not read`);
  const offset = (tile.index % TILE_WIDTH) * HASH_SIZE;
  const expected = parent.subarray(offset, offset + HASH_SIZE);
  if (!equal(rootOf(split(data)), expected)) {
    throw new VerificationError(
      'tile-mismatch',
      `tampered tile: ${tilePath(tile)} does not hash to its hash in the level-${tile.level + 1} tile`,
      [`expected ${Buffer.from(expected).toString('base64')}`],
    );
  }
}

/** The bundle must hold exactly the tile's entries, each hashing to the tile's leaf hash for it. */
function checkEntries(tile: TileId, data: Uint8Array, bundle: Uint8Array): void {
  const path = entriesPath(tile.index, tile.width);
  let entries: Uint8Array[];
  try {
    entries = decodeEntryBundle(bundle);
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    throw new VerificationError('malformed-entries', `malformed entry bundle: ${path}: ${error.message}`);
  }
  if (entries.length !== tile.width) {
    throw new VerificationError(
      'malformed-entries',
      `malformed entry bundle: ${path} holds ${entries.length} entries, not ${tile.width}`,
    );
  }
  for (const [i, entry] of entries.entries()) {
    const leafHash = data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
    if (!equal(hashLeaf(entry), leafHash)) {
      const index = tile.index * TILE_WIDTH + i;
      throw new VerificationError(
        'entry-mismatch',
        `tampered entry: entry ${index} does not hash to its leaf hash in ${tilePath(tile)}`,
        [`served in ${path}`],
      );
    }
  }
}

function split(data: Uint8Array): Uint8Array[] {
  const hashes: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += HASH_SIZE) hashes.push(data.subarray(at, at + HASH_SIZE));
  return hashes;
}
