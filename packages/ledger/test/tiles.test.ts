import { beforeAll, describe, expect, it } from 'vitest';
import {
  appendLeafHashes,
  decodeEntryBundle,
  encodeEntryBundle,
  entriesPath,
  LedgerError,
  parseTilePath,
  proveConsistency,
  proveInclusion,
  rootOf,
  type TileId,
  type TileReader,
  tilePath,
  tilesForSize,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.js';
import { MemoryTiles } from './memory-tiles.js';
import { hex, leafHashOf, mth, path, proof } from './reference.js';

const leafOf = (i: number): Uint8Array => leafHashOf(new Uint8Array(new Uint32Array([i, i * 7]).buffer));

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function rejects(promise: Promise<unknown>, code?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LedgerError);
  if (code) expect((error as LedgerError).code).toBe(code);
}

describe('tile paths (V9)', () => {
  it('formats hash tile and entry bundle paths', () => {
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 0, index: 0, width: 256 })).toBe('tile/0/000');
    expect(tilePath({ level: 1, index: 5, width: 17 })).toBe('tile/1/005.p/17');
    expect(tilePath({ level: 2, index: 1000, width: 1 })).toBe('tile/2/x001/000.p/1');
    expect(entriesPath(1234067, 256)).toBe('tile/entries/x001/x234/067');
    expect(entriesPath(0, 5)).toBe('tile/entries/000.p/5');
  });

  it('parses canonical paths back', () => {
    expect(parseTilePath('tile/0/x001/x234/067')).toEqual({
      kind: 'hashes',
      level: 0,
      index: 1234067,
      width: 256,
    });
    expect(parseTilePath('tile/1/005.p/17')).toEqual({ kind: 'hashes', level: 1, index: 5, width: 17 });
    expect(parseTilePath('tile/entries/x001/000.p/255')).toEqual({
      kind: 'entries',
      level: 0,
      index: 1000,
      width: 255,
    });
    expect(parseTilePath('tile/63/000')).toEqual({ kind: 'hashes', level: 63, index: 0, width: 256 });
    for (let i = 0; i < 2000; i += 37) {
      const tile = { level: i % 5, index: i * 1013, width: (i % 256) + 1 };
      expect(parseTilePath(tilePath(tile))).toEqual({ kind: 'hashes', ...tile });
    }
  });

  it('rejects every non-canonical path', () => {
    for (const bad of [
      'tile/0/67',
      'tile/0/0067',
      'tile/0/x000/067',
      'tile/0/001/234',
      'tile/0/x001/234/',
      'tile/00/000',
      'tile/64/000',
      'tile/0/000.p/0',
      'tile/0/000.p/256',
      'tile/0/000.p/017',
      'tile/0/000.p/',
      '/tile/0/000',
      'tile/entries/000.p/256',
      'tile/x/000',
      'tile/0/000 ',
      'tile/0/x999/x999/x999/x999/x999/x999/999',
    ]) {
      expect(() => parseTilePath(bad), bad).toThrow(LedgerError);
    }
  });

  it('rejects out-of-range tiles when formatting', () => {
    expect(() => tilePath({ level: 0, index: 0, width: 0 })).toThrow(LedgerError);
    expect(() => tilePath({ level: 64, index: 0, width: 1 })).toThrow(LedgerError);
    expect(() => tilePath({ level: 0, index: -1, width: 1 })).toThrow(LedgerError);
    expect(() => entriesPath(0, 257)).toThrow(LedgerError);
  });

  it('lists the tiles of a 70,000-entry tree as the spec example says', () => {
    const tiles = tilesForSize(70000);
    const at = (level: number) => tiles.filter((t) => t.level === level);
    expect(at(0).filter((t) => t.width === 256)).toHaveLength(273);
    expect(at(0).filter((t) => t.width !== 256)).toEqual([{ level: 0, index: 273, width: 112 }]);
    expect(at(1)).toEqual([
      { level: 1, index: 0, width: 256 },
      { level: 1, index: 1, width: 17 },
    ]);
    expect(at(2)).toEqual([{ level: 2, index: 0, width: 1 }]);
    expect(tiles).toHaveLength(277);
    expect(tilesForSize(256)).toEqual([
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ]);
    expect(tilesForSize(0)).toEqual([]);
  });
});

describe('entry bundles', () => {
  it('round-trips with big-endian uint16 length prefixes', () => {
    const entries = [
      new Uint8Array(0),
      Uint8Array.of(1, 2, 3),
      new Uint8Array(300).fill(7),
      new Uint8Array(65535),
    ];
    const bundle = encodeEntryBundle(entries);
    expect([...bundle.subarray(0, 7)]).toEqual([0, 0, 0, 3, 1, 2, 3]);
    expect([...bundle.subarray(7, 9)]).toEqual([1, 44]);
    expect(decodeEntryBundle(bundle)).toEqual(entries);
    expect(decodeEntryBundle(new Uint8Array(0))).toEqual([]);
  });

  it('rejects truncation and oversized entries', () => {
    const bundle = encodeEntryBundle([Uint8Array.of(1, 2, 3)]);
    expect(() => decodeEntryBundle(bundle.subarray(0, 1))).toThrow(LedgerError);
    expect(() => decodeEntryBundle(bundle.subarray(0, 4))).toThrow(LedgerError);
    expect(() => encodeEntryBundle([new Uint8Array(65536)])).toThrow(LedgerError);
  });
});

/** Appends `total` leaves in batches of the given sizes, checking size and root after every batch. */
async function buildLog(
  total: number,
  batchSizes: () => number,
): Promise<{ store: MemoryTiles; leaves: Uint8Array[] }> {
  const store = new MemoryTiles();
  const leaves: Uint8Array[] = [];
  while (leaves.length < total) {
    const batch = Array.from({ length: Math.min(batchSizes(), total - leaves.length) }, (_, i) =>
      leafOf(leaves.length + i),
    );
    const result = await appendLeafHashes(leaves.length, batch, store);
    store.store(result.tiles);
    leaves.push(...batch);
    expect(result.size).toBe(leaves.length);
    expect(hex(result.root)).toBe(hex(rootOf(leaves)));
  }
  return { store, leaves };
}

describe('appendLeafHashes', () => {
  // One 70,000-entry log (the V9 example size) built in batches of 1, 255, 256, 257 and 65536 + more,
  // crossing full and partial tiles at levels 0, 1 and 2; shared with the proof tests below.
  const BATCHES = [1, 255, 256, 257, 65536 + 300, 1, 511, 2880, 3, 40];
  let big: { store: MemoryTiles; leaves: Uint8Array[] };
  beforeAll(async () => {
    let next = 0;
    big = await buildLog(70000, () => BATCHES[next++] as number);
  });

  it('matches rootOf after every batch and leaves exactly the tiles of the final tree', async () => {
    const { store, leaves } = big;
    expect(leaves).toHaveLength(70000);
    const finalWidths = new Map(tilesForSize(70000).map((t) => [`${t.level}/${t.index}`, t.width]));
    expect(new Set(store.tiles.keys())).toEqual(new Set(finalWidths.keys()));
    for (const [key, data] of store.tiles) expect(data.length).toBe((finalWidths.get(key) as number) * 32);
    expect(hex(await treeRoot(70000, store))).toBe(hex(mth(leaves)));
  });

  it('matches rootOf for random batch sizes', async () => {
    const rand = random(42);
    const { store, leaves } = await buildLog(5000, () => 1 + Math.floor(rand() ** 2 * 700));
    for (const size of [1, 255, 256, 257, 4096, 4999, 5000]) {
      expect(hex(await treeRoot(size, store))).toBe(hex(mth(leaves.slice(0, size))));
    }
  });

  it('proves from level-2 tiles what the RFC definitions give (70,000 entries)', async () => {
    const { store, leaves } = big;
    const root = mth(leaves);
    for (const index of [0, 65536, 69999]) {
      const p = await proveInclusion(index, 70000, store);
      expect(p.map(hex)).toEqual(path(index, leaves).map(hex));
      verifyInclusion(index, 70000, leaves[index] as Uint8Array, p, root);
    }
    for (const size1 of [256, 65537, 69999]) {
      const p = await proveConsistency(size1, 70000, store);
      expect(p.map(hex)).toEqual(proof(size1, leaves).map(hex));
      verifyConsistency(size1, 70000, p, mth(leaves.slice(0, size1)), root);
    }
  });

  it('returns only the changed tiles, reading the old right edge once', async () => {
    const { store } = await buildLog(300, () => 300);
    store.calls = [];
    const result = await appendLeafHashes(300, [leafOf(300)], store);
    expect(store.calls).toEqual([
      [
        { level: 0, index: 1, width: 44 },
        { level: 1, index: 0, width: 1 },
      ],
    ]);
    expect(result.tiles.map((t) => t.tile)).toEqual([{ level: 0, index: 1, width: 45 }]);
  });

  it('carries completed tiles up through every level (2^24 - 1 → 2^24 + 1)', async () => {
    // Synthetic right edge of a tree of 2^24 - 1 leaves: partial tiles of width 255 at levels 0, 1, 2.
    const oldSize = 2 ** 24 - 1;
    const edge = new Map(
      [0, 1, 2].map((level) => [
        level,
        Uint8Array.from({ length: 255 * 32 }, (_, i) => (i * 7 + level) & 0xff),
      ]),
    );
    const reader: TileReader = {
      readTiles: async (tiles) => {
        expect(tiles).toEqual(
          [0, 1, 2].map((level) => ({
            level,
            index: level === 0 ? 65535 : level === 1 ? 255 : 0,
            width: 255,
          })),
        );
        return tiles.map((t) => edge.get(t.level) as Uint8Array);
      },
    };
    const hashesOf = (data: Uint8Array) =>
      Array.from({ length: data.length / 32 }, (_, i) => data.subarray(i * 32, i * 32 + 32));
    const level0 = [...hashesOf(edge.get(0) as Uint8Array), leafOf(1)];
    const level1 = [...hashesOf(edge.get(1) as Uint8Array), rootOf(level0)];
    const level2 = [...hashesOf(edge.get(2) as Uint8Array), rootOf(level1)];
    const top = rootOf(level2);

    const one = await appendLeafHashes(oldSize, [leafOf(1)], reader);
    expect(one.size).toBe(2 ** 24);
    expect(hex(one.root)).toBe(hex(top));
    expect(one.tiles.map((t) => t.tile)).toEqual([
      { level: 0, index: 65535, width: 256 },
      { level: 1, index: 255, width: 256 },
      { level: 2, index: 0, width: 256 },
      { level: 3, index: 0, width: 1 },
    ]);
    expect(one.tiles.map((t) => hex(rootOf(hashesOf(t.data))))).toEqual(
      [level0, level1, level2, [top]].map((h) => hex(rootOf(h))),
    );

    const two = await appendLeafHashes(oldSize, [leafOf(1), leafOf(2)], reader);
    expect(hex(two.root)).toBe(hex(rootOf([top, leafOf(2)])));
    expect(two.tiles.at(-1)).toEqual({ tile: { level: 3, index: 0, width: 1 }, data: top });
    expect(two.tiles.map((t) => t.tile)).toEqual([
      { level: 0, index: 65535, width: 256 },
      { level: 0, index: 65536, width: 1 },
      { level: 1, index: 255, width: 256 },
      { level: 2, index: 0, width: 256 },
      { level: 3, index: 0, width: 1 },
    ]);
  });

  it('handles an empty batch and rejects bad input', async () => {
    const { store, leaves } = await buildLog(10, () => 10);
    const result = await appendLeafHashes(10, [], store);
    expect(result.tiles).toEqual([]);
    expect(hex(result.root)).toBe(hex(mth(leaves)));
    await rejects(appendLeafHashes(10, [new Uint8Array(31)], store), 'invalid-argument');
    await rejects(appendLeafHashes(-1, [], store), 'invalid-argument');
    await rejects(appendLeafHashes(2 ** 53 - 1, [leafOf(0)], store), 'invalid-argument');
  });

  it('rejects a reader that returns data of the wrong length', async () => {
    const { store } = await buildLog(300, () => 300);
    const short: TileReader = {
      readTiles: async (tiles) => (await store.readTiles(tiles)).map((d) => d.subarray(0, d.length - 32)),
    };
    await rejects(appendLeafHashes(300, [leafOf(300)], short), 'storage');
    await rejects(treeRoot(300, short), 'storage');
    await rejects(proveInclusion(3, 300, short), 'storage');
    const missing: TileReader = { readTiles: async () => [] };
    await rejects(proveConsistency(3, 300, missing), 'storage');
    const extra: TileReader = {
      readTiles: async (tiles) => [...(await store.readTiles(tiles)), new Uint8Array(32)],
    };
    await rejects(proveInclusion(3, 300, extra), 'storage');
  });
});

describe('proofs from tiles', () => {
  it('equal the RFC definitions and verify, for every index and size up to 600', async () => {
    const { store, leaves } = await buildLog(600, () => 600);
    const rand = random(7);
    for (let size = 1; size <= 600; size += 1 + Math.floor(rand() * 40)) {
      const prefix = leaves.slice(0, size);
      const root = mth(prefix);
      expect(hex(await treeRoot(size, store))).toBe(hex(root));
      for (const index of new Set([0, size - 1, Math.floor(rand() * size), Math.floor(rand() * size)])) {
        const p = await proveInclusion(index, size, store);
        expect(p.map(hex)).toEqual(path(index, prefix).map(hex));
        verifyInclusion(index, size, leaves[index] as Uint8Array, p, root);
      }
      for (const size1 of new Set([1, size, Math.ceil(rand() * size), Math.ceil(rand() * size)])) {
        const p = await proveConsistency(size1, size, store);
        expect(p.map(hex)).toEqual(proof(size1, prefix).map(hex));
        verifyConsistency(size1, size, p, mth(leaves.slice(0, size1)), root);
      }
    }
  });

  it('reads only the tiles it needs, in one call (10,000,000-entry tree)', async () => {
    const size = 10_000_000;
    const calls: TileId[][] = [];
    // Content is irrelevant here: the test checks which tiles are read.
    const reader: TileReader = {
      readTiles: async (tiles) => {
        calls.push([...tiles]);
        return tiles.map((t) => new Uint8Array(t.width * 32).fill(t.index & 0xff));
      },
    };
    const p = await proveInclusion(1_234_567, size, reader);
    expect(p).toHaveLength(24);
    expect(calls).toHaveLength(1);
    const widths = new Map(tilesForSize(size).map((t) => [`${t.level}/${t.index}`, t.width]));
    for (const t of calls[0] as TileId[]) expect(t.width).toBe(widths.get(`${t.level}/${t.index}`));
    expect((calls[0] as TileId[]).length).toBeLessThanOrEqual(6);
    calls.length = 0;
    await proveConsistency(9_999_000, size, reader);
    expect(calls).toHaveLength(1);
    expect((calls[0] as TileId[]).length).toBeLessThanOrEqual(8);
  });

  it('hands out copies, so a caller modifying a proof cannot corrupt memoized hashes', async () => {
    const { store, leaves } = await buildLog(600, () => 600);
    const first = await proveInclusion(5, 600, store);
    for (const h of first) h.fill(0);
    (await treeRoot(600, store)).fill(0);
    const again = await proveInclusion(5, 600, store);
    expect(again.map(hex)).toEqual(path(5, leaves).map(hex));
    expect(hex(await treeRoot(600, store))).toBe(hex(mth(leaves)));
  });

  it('rejects impossible requests', async () => {
    const { store } = await buildLog(10, () => 10);
    await rejects(proveInclusion(10, 10, store), 'invalid-argument');
    await rejects(proveConsistency(0, 10, store), 'invalid-argument');
    await rejects(proveConsistency(11, 10, store), 'invalid-argument');
    await rejects(proveInclusion(0, 1.5, store), 'invalid-argument');
  });
});
