import { HASH_SIZE, type TileId, type TileReader, tilePath } from '@personachain/ledger';
import { CliError } from './errors.js';

/** Where the monitor reads the log from (HttpLog; an in-memory log in tests). Nothing it returns is trusted. */
export interface LogSource {
  /** The latest signed checkpoint note. */
  checkpoint(): Promise<string>;
  /** The body served for a hash tile (should be `width * 32` bytes). */
  tile(tile: TileId): Promise<Uint8Array>;
  /** The body served for the entry bundle of level-0 tile `index` at `width`. */
  entryBundle(index: number, width: number): Promise<Uint8Array>;
}

export type FailureReason =
  | 'malformed-checkpoint'
  | 'bad-signature'
  | 'missing-cosignature'
  | 'origin-changed'
  | 'rollback'
  | 'split-view'
  | 'root-mismatch'
  | 'malformed-tile'
  | 'tile-mismatch'
  | 'malformed-entries'
  | 'entry-mismatch';

/** The log was checked and found wrong (exit status 1), as opposed to not reachable or misconfigured (2). */
export class VerificationError extends CliError {
  override name = 'VerificationError';

  constructor(
    readonly reason: FailureReason,
    message: string,
    details: readonly string[] = [],
  ) {
    super(message, 1, details);
  }
}

/** A tile from the source, checked to be exactly `width` hashes. */
export async function checkedTile(source: LogSource, tile: TileId): Promise<Uint8Array> {
  const body = await source.tile(tile);
  if (body.length !== tile.width * HASH_SIZE) {
    throw new VerificationError(
      'malformed-tile',
      `malformed tile: ${tilePath(tile)} is ${body.length} bytes, not ${tile.width * HASH_SIZE}`,
    );
  }
  return body;
}

/**
 * A TileReader over the source that fetches each tile once per run and returns the same array each time:
 * the core memoizes subtree hashes per array, and every check of a run sees the same bytes.
 */
export function tileReader(source: LogSource): TileReader {
  const cache = new Map<string, Promise<Uint8Array>>();
  return {
    readTiles: (tiles) =>
      Promise.all(
        tiles.map((tile) => {
          const path = tilePath(tile);
          let data = cache.get(path);
          if (!data) {
            data = checkedTile(source, tile);
            cache.set(path, data);
          }
          return data;
        }),
      ),
  };
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(b);
}
