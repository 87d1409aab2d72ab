import { checkCount, LedgerError } from './errors.js';

/** C2SP tlog-tiles uses tiles of height 8: 256 hashes per full tile. */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
const MAX_LEVEL = 63;

/** A hash tile: `width` consecutive hashes (1..256; 256 = full tile) of tile `index` at tile level `level`. */
export interface TileId {
  level: number;
  index: number;
  width: number;
}

function checkTile(level: number, index: number, width: number): void {
  checkCount(index, 'tile index');
  if (!Number.isInteger(level) || level < 0 || level > MAX_LEVEL) {
    throw new LedgerError('invalid-argument', `tile level must be 0..${MAX_LEVEL}, got ${level}`);
  }
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new LedgerError('invalid-argument', `tile width must be 1..${TILE_WIDTH}, got ${width}`);
  }
}

/** "1234067" → "x001/x234/067": zero-padded 3-digit groups, `x` before all but the last. */
function encodeIndex(index: number): string {
  const groups: string[] = [];
  let rest = index;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

const widthSuffix = (width: number): string => (width === TILE_WIDTH ? '' : `.p/${width}`);

/** Path of a hash tile relative to the log prefix, e.g. "tile/0/x001/x234/067" or "tile/1/005.p/17". */
export function tilePath(tile: TileId): string {
  checkTile(tile.level, tile.index, tile.width);
  return `tile/${tile.level}/${encodeIndex(tile.index)}${widthSuffix(tile.width)}`;
}

/** Path of an entry bundle relative to the log prefix, e.g. "tile/entries/x001/234" or "tile/entries/000.p/5". */
export function entriesPath(index: number, width: number): string {
  checkTile(0, index, width);
  return `tile/entries/${encodeIndex(index)}${widthSuffix(width)}`;
}

const TILE_PATH = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/** Parses a canonical tile or entry-bundle path; throws LedgerError('malformed') on anything else. */
export function parseTilePath(path: string): {
  kind: 'hashes' | 'entries';
  level: number;
  index: number;
  width: number;
} {
  const match = TILE_PATH.exec(path);
  if (!match) throw new LedgerError('malformed', `not a tile path: ${JSON.stringify(path)}`);
  const [, levelText = '', indexText = '', widthText] = match;
  const kind = levelText === 'entries' ? 'entries' : 'hashes';
  const level = kind === 'entries' ? 0 : Number(levelText);
  const groups = indexText.replace(/x/g, '').split('/');
  // A leading all-zero group would make the encoding non-canonical ("x000/067" for 67).
  if (groups.length > 1 && groups[0] === '000')
    throw new LedgerError('malformed', `non-canonical tile index: ${path}`);
  const index = groups.reduce((n, g) => n * 1000 + Number(g), 0);
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  // A partial tile is 1..255 wide; ".p/256" is not the spelling of a full tile.
  if (
    !Number.isSafeInteger(index) ||
    level > MAX_LEVEL ||
    width > TILE_WIDTH ||
    widthText === String(TILE_WIDTH)
  ) {
    throw new LedgerError('malformed', `tile path out of range: ${path}`);
  }
  return { kind, level, index, width };
}

/** Number of hashes stored at tile level `level` for a tree of `size` leaves: floor(size / 256^level). */
export function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/** Width of tile `index` at tile level `level` in the tree of `size` leaves (0 if it does not exist). */
export function tileWidth(size: number, level: number, index: number): number {
  const available = hashesAtLevel(size, level) - index * TILE_WIDTH;
  return Math.max(0, Math.min(TILE_WIDTH, available));
}

/** Every hash tile of a tree of this size: full tiles, then the partial tile (if any), level by level. */
export function tilesForSize(size: number): TileId[] {
  checkCount(size, 'size');
  const tiles: TileId[] = [];
  for (let level = 0; hashesAtLevel(size, level) > 0; level++) {
    const count = hashesAtLevel(size, level);
    const full = Math.floor(count / TILE_WIDTH);
    for (let index = 0; index < full; index++) tiles.push({ level, index, width: TILE_WIDTH });
    if (count % TILE_WIDTH !== 0) tiles.push({ level, index: full, width: count % TILE_WIDTH });
  }
  return tiles;
}

/** The partial tiles of a tree of this size: the right edge, which is all that changes on append. */
export function rightEdgeTiles(size: number): TileId[] {
  const tiles: TileId[] = [];
  for (let level = 0; hashesAtLevel(size, level) > 0; level++) {
    const count = hashesAtLevel(size, level);
    if (count % TILE_WIDTH !== 0)
      tiles.push({ level, index: Math.floor(count / TILE_WIDTH), width: count % TILE_WIDTH });
  }
  return tiles;
}
