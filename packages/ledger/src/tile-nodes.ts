// Complete subtrees ("nodes") of the Merkle tree and how their hashes are read from hash tiles.
import { LedgerError } from './errors.js';
import { HASH_SIZE, hashAdjacent, hashChildren } from './hash.js';
import { TILE_HEIGHT, TILE_WIDTH, type TileId, tileWidth } from './tile-paths.js';

/**
 * Storage the tree algorithms read hash tiles from. Each result must be exactly `width * 32` bytes: the
 * first `width` hashes of tile (level, index). A store holding a wider version of the tile (the log has
 * grown since) returns its prefix; every hash in a tile is immutable once written.
 *
 * Returned arrays are treated as immutable: never change the bytes of an array once returned. Returning
 * the same array object for the same tile and width (a tile cache) lets subtree hashes be memoized.
 */
export interface TileReader {
  readTiles(tiles: readonly TileId[]): Promise<Uint8Array[]>;
}

/** A complete subtree: the Merkle Tree Hash of leaves [index·2^level, (index+1)·2^level). */
export interface Node {
  level: number;
  index: number;
}

/** Decomposes [lo, hi) into maximal aligned complete subtrees, left to right (RFC 9162 left-heavy split). */
export function rangeNodes(lo: number, hi: number): Node[] {
  const out: Node[] = [];
  let start = lo;
  while (start < hi) {
    let width = 1;
    let level = 0;
    while (width * 2 <= hi - start && start % (width * 2) === 0) {
      width *= 2;
      level++;
    }
    out.push({ level, index: start / width });
    start += width;
  }
  return out;
}

/** MTH of a range from its complete subtrees (right fold, as the RFC split is left-heavy). */
export function foldRange(hashes: readonly Uint8Array[]): Uint8Array {
  let h = hashes[hashes.length - 1] as Uint8Array;
  for (let i = hashes.length - 2; i >= 0; i--) h = hashChildren(hashes[i] as Uint8Array, h);
  return h;
}

/** Where a node's hash lives: `count` consecutive hashes at `offset` of a tile, whose MTH it is. */
export interface NodeLocation {
  tileLevel: number;
  tileIndex: number;
  offset: number;
  count: number;
}

export function locate(node: Node): NodeLocation {
  const tileLevel = Math.floor(node.level / TILE_HEIGHT);
  const count = 2 ** (node.level - tileLevel * TILE_HEIGHT);
  const first = node.index * count;
  const tileIndex = Math.floor(first / TILE_WIDTH);
  return { tileLevel, tileIndex, offset: first - tileIndex * TILE_WIDTH, count };
}

export const tileKey = (level: number, index: number): string => `${level}/${index}`;

// Subtree hashes computed from a tile, memoized per tile data object. Tile hashes never change, and the
// same tiles (the right edge, the upper levels) serve most proofs of a log, so a reader that returns the
// same Uint8Array for the same tile (e.g. from an LRU) skips most hashing. Keys are the data objects
// themselves: entries cannot leak between logs and vanish with the tile.
const subtreeMemo = new WeakMap<Uint8Array, Map<number, Uint8Array>>();
const memoKey = (offset: number, count: number): number => offset * (TILE_WIDTH + 1) + count;

/** The smallest subtree whose hash is memoized: recomputing a smaller one (at most 3 hashes) is cheaper. */
const MEMO_MIN_COUNT = 8;

/**
 * Hash of a complete subtree of `count` (a power of two) consecutive hashes starting at `offset`. Every
 * subtree of 8 hashes or more computed on the way is memoized, so a tile that grew (see
 * inheritSubtreeHashes) costs only the hashes its new part adds.
 */
export function perfectRoot(data: Uint8Array, offset: number, count: number): Uint8Array {
  const start = offset * HASH_SIZE;
  if (count === 1) return data.slice(start, start + HASH_SIZE);
  if (count === 2) return hashAdjacent(data, start);
  const half = count / 2;
  if (count < MEMO_MIN_COUNT) {
    return hashChildren(perfectRoot(data, offset, half), perfectRoot(data, offset + half, half));
  }
  let memo = subtreeMemo.get(data);
  const key = memoKey(offset, count);
  const known = memo?.get(key);
  if (known) return known;
  const root = hashChildren(perfectRoot(data, offset, half), perfectRoot(data, offset + half, half));
  if (!memo) {
    memo = new Map();
    subtreeMemo.set(data, memo);
  }
  memo.set(key, root);
  return root;
}

/**
 * Lets `tile` use the subtree hashes memoized for `prefix`, the same tile when it was narrower (a tile's
 * first hashes never change, so each subtree of the prefix is one of the tile). Only for a `tile` whose
 * leading bytes are `prefix`'s.
 */
export function inheritSubtreeHashes(prefix: Uint8Array, tile: Uint8Array): void {
  const memo = subtreeMemo.get(prefix);
  if (memo && !subtreeMemo.has(tile)) subtreeMemo.set(tile, new Map(memo));
}

/**
 * Subtree sizes whose roots a store may keep beside each full tile (see innerSubtreeHashes): with them, a
 * proof needs at most 11 hashes inside a tile instead of 247. Tiles are what the C2SP layout serves;
 * these are a store's private index, like the "stored hashes" of Go's tlog.
 */
const INNER_SUBTREE_SIZES = [16, 32, 64, 128] as const;
/** 16 + 8 + 4 + 2 roots. */
export const INNER_SUBTREE_HASHES = 30;

/**
 * The roots of a full tile's aligned subtrees of 16, 32, 64 and 128 hashes, in that order, left to right:
 * 30 hashes (960 bytes). A store computes them once, when a tile becomes full.
 */
export function innerSubtreeHashes(tile: Uint8Array): Uint8Array {
  checkFullTile(tile);
  const out = new Uint8Array(INNER_SUBTREE_HASHES * HASH_SIZE);
  let at = 0;
  // Bottom-up, one layer at a time: 254 hashes for the whole tile; layers of 16-hash subtrees and above
  // are kept.
  let layer: Uint8Array[] = [];
  for (let i = 0; i < TILE_WIDTH; i += 2) layer.push(hashAdjacent(tile, i * HASH_SIZE));
  for (let size = 4; size <= TILE_WIDTH / 2; size *= 2) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2) {
      next.push(hashChildren(layer[i] as Uint8Array, layer[i + 1] as Uint8Array));
    }
    layer = next;
    if (size >= (INNER_SUBTREE_SIZES[0] as number)) {
      for (const hash of layer) {
        out.set(hash, at);
        at += HASH_SIZE;
      }
    }
  }
  return out;
}

/**
 * Gives the proof algorithms the inner roots of a full tile, as innerSubtreeHashes made them, so they are
 * looked up instead of recomputed. Call it on the exact array the TileReader returns for the tile.
 */
export function rememberInnerSubtreeHashes(tile: Uint8Array, inner: Uint8Array): void {
  checkFullTile(tile);
  if (inner.length !== INNER_SUBTREE_HASHES * HASH_SIZE) {
    throw new LedgerError(
      'storage',
      `inner subtree hashes must be ${INNER_SUBTREE_HASHES * HASH_SIZE} bytes`,
    );
  }
  let memo = subtreeMemo.get(tile);
  if (!memo) {
    memo = new Map();
    subtreeMemo.set(tile, memo);
  }
  let at = 0;
  for (const count of INNER_SUBTREE_SIZES) {
    for (let offset = 0; offset < TILE_WIDTH; offset += count) {
      memo.set(memoKey(offset, count), inner.slice(at, at + HASH_SIZE));
      at += HASH_SIZE;
    }
  }
}

function checkFullTile(tile: Uint8Array): void {
  if (tile.length !== TILE_WIDTH * HASH_SIZE) {
    throw new LedgerError('invalid-argument', `a full tile is ${TILE_WIDTH * HASH_SIZE} bytes`);
  }
}

/** Reads, in one readTiles call, every tile the nodes need (tiles as they are in the tree of `size`). */
export async function readNodes(
  nodes: readonly Node[],
  size: number,
  reader: TileReader,
): Promise<Uint8Array[]> {
  const locations = nodes.map(locate);
  const wanted = new Map<string, TileId>();
  for (const loc of locations) {
    const key = tileKey(loc.tileLevel, loc.tileIndex);
    if (!wanted.has(key)) {
      wanted.set(key, {
        level: loc.tileLevel,
        index: loc.tileIndex,
        width: tileWidth(size, loc.tileLevel, loc.tileIndex),
      });
    }
  }
  const tiles = [...wanted.values()];
  const data = await readChecked(tiles, reader);
  const byKey = new Map<string, Uint8Array>();
  for (const [i, tile] of tiles.entries()) byKey.set(tileKey(tile.level, tile.index), data[i] as Uint8Array);
  return locations.map((loc) =>
    perfectRoot(byKey.get(tileKey(loc.tileLevel, loc.tileIndex)) as Uint8Array, loc.offset, loc.count),
  );
}

/** One readTiles call (none for no tiles), each result checked to be exactly width × 32 bytes. */
export async function readChecked(tiles: readonly TileId[], reader: TileReader): Promise<Uint8Array[]> {
  if (tiles.length === 0) return [];
  const data = await reader.readTiles(tiles);
  if (!Array.isArray(data) || data.length !== tiles.length) {
    const got = Array.isArray(data) ? data.length : 'no';
    throw new LedgerError('storage', `readTiles returned ${got} results for ${tiles.length} tiles`);
  }
  return tiles.map((tile, i) => {
    const bytes: unknown = data[i];
    if (!(bytes instanceof Uint8Array) || bytes.length !== tile.width * HASH_SIZE) {
      const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
      throw new LedgerError(
        'storage',
        `tile ${tile.level}/${tile.index} (width ${tile.width}) must be ${tile.width * HASH_SIZE} bytes, got ${got}`,
      );
    }
    return bytes;
  });
}
