import { afterEach, describe, expect, it } from 'vitest';
import { type Entry, type EntryMeta, MemoryStore, type RemovalReason } from '../src/index.js';
import { ExpiryIndex } from '../src/store/expiry-index.js';

const T0 = 1_800_000_000_000;

function clock(start = T0) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

function entry(key: string, overrides: Partial<Entry> = {}): Entry {
  return {
    key,
    value: new Uint8Array([1, 2, 3]),
    createdAt: T0,
    expiresAt: T0 + 60_000,
    ttlSeconds: 60,
    origin: 'node-a',
    ...overrides,
  };
}

const stores: MemoryStore[] = [];
function newStore(options: ConstructorParameters<typeof MemoryStore>[0] = {}) {
  const store = new MemoryStore({ sweepIntervalMs: 0, ...options });
  stores.push(store);
  return store;
}
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

describe('MemoryStore', () => {
  it('stores a copy of the value bytes and serves them until the expiry instant', () => {
    const time = clock();
    const store = newStore({ now: time.now });
    const value = new Uint8Array([0, 255, 7, 0]);
    expect(store.apply(entry('k', { value }))).toBe('stored');
    value[0] = 9; // the caller reusing its buffer must not change what is stored
    expect([...(store.get('k')?.value ?? [])]).toEqual([0, 255, 7, 0]);
    time.advance(59_999);
    expect(store.get('k')).toBeDefined();
    time.advance(1);
    expect(store.get('k')).toBeUndefined(); // reads check expiry even before a sweep
    expect(store.apply(entry('late', { expiresAt: T0 }))).toBe('expired');
  });

  it('orders versions by createdAt, then origin, the same on every replica', () => {
    const store = newStore({ now: clock().now });
    expect(store.apply(entry('k', { createdAt: T0, origin: 'node-b', value: new Uint8Array([2]) }))).toBe(
      'stored',
    );
    expect(store.apply(entry('k', { createdAt: T0, origin: 'node-a', value: new Uint8Array([1]) }))).toBe(
      'stale',
    );
    expect(store.apply(entry('k', { createdAt: T0, origin: 'node-b' }))).toBe('stale'); // same version again
    expect(store.apply(entry('k', { createdAt: T0, origin: 'node-c', value: new Uint8Array([3]) }))).toBe(
      'stored',
    );
    expect(store.apply(entry('k', { createdAt: T0 - 1, origin: 'node-z' }))).toBe('stale');
    expect(store.get('k')?.value[0]).toBe(3);
    expect(store.itemCount).toBe(1);
  });

  it('keeps a tombstone until the removed entry would have expired, refusing older writes meanwhile', () => {
    const time = clock();
    const store = newStore({ now: time.now });
    store.apply(entry('k', { expiresAt: T0 + 10_000 }));
    const removed = store.remove({
      key: 'k',
      version: { createdAt: T0 + 5, nodeId: 'node-a' },
      expiresAt: T0 + 10_000,
      reason: 'deleted',
    });
    expect(removed?.key).toBe('k');
    expect(store.get('k')).toBeUndefined();
    // Anti-entropy re-offering the deleted version must not resurrect it.
    expect(store.apply(entry('k', { expiresAt: T0 + 10_000 }))).toBe('tombstoned');
    expect(store.tombstone('k')?.reason).toBe('deleted');
    // A genuinely newer write (a new PUT after the delete) replaces the tombstone.
    time.advance(10);
    expect(store.apply(entry('k', { createdAt: T0 + 10, expiresAt: T0 + 20_000 }))).toBe('stored');
    expect(store.tombstone('k')).toBeUndefined();
  });

  it('makes a tombstone cover the entry it removes even when the deleter clock is behind', () => {
    const store = newStore({ now: clock().now });
    store.apply(entry('k', { createdAt: T0 + 1000, expiresAt: T0 + 90_000, origin: 'node-z' }));
    store.remove({
      key: 'k',
      version: { createdAt: T0, nodeId: 'node-a' },
      expiresAt: T0 + 1,
      reason: 'burned',
    });
    expect(store.tombstone('k')).toMatchObject({
      version: { createdAt: T0 + 1000, nodeId: 'node-z' },
      expiresAt: T0 + 90_000,
    });
    expect(store.apply(entry('k', { createdAt: T0 + 1000, expiresAt: T0 + 90_000, origin: 'node-z' }))).toBe(
      'tombstoned',
    );
  });

  it('sweeps expired entries and outlived tombstones, telling listeners why each entry left', () => {
    const time = clock();
    const store = newStore({ now: time.now });
    const removals: Array<[string, RemovalReason]> = [];
    store.onRemoved((meta: EntryMeta, reason) => removals.push([meta.key, reason]));
    store.onRemoved(() => {
      throw new Error('a broken listener');
    });
    store.apply(entry('short', { expiresAt: T0 + 1_000 }));
    store.apply(entry('long', { expiresAt: T0 + 5_000 }));
    store.apply(entry('gone', { expiresAt: T0 + 5_000 }));
    store.remove({
      key: 'gone',
      version: { createdAt: T0 + 1, nodeId: 'n' },
      expiresAt: T0 + 5_000,
      reason: 'burned',
    });
    time.advance(1_000);
    expect(store.sweep()).toBe(1);
    expect(removals).toEqual([
      ['gone', 'burned'],
      ['short', 'expired'],
    ]);
    expect(store.itemCount).toBe(1);
    expect(store.tombstoneCount).toBe(1);
    time.advance(4_000);
    expect(store.sweep()).toBe(1);
    expect(store.itemCount).toBe(0);
    expect(store.tombstoneCount).toBe(0);
    expect(store.byteCount).toBe(0);
    expect(store.expiredCount).toBe(2);
  });

  it('does not expire an entry that was overwritten with a later expiry', () => {
    const time = clock();
    const store = newStore({ now: time.now });
    store.apply(entry('k', { expiresAt: T0 + 1_000 }));
    store.apply(entry('k', { createdAt: T0 + 1, expiresAt: T0 + 3_000 }));
    time.advance(1_500);
    expect(store.sweep()).toBe(0);
    expect(store.get('k')?.expiresAt).toBe(T0 + 3_000);
    time.advance(1_500);
    expect(store.sweep()).toBe(1);
  });

  it('refuses writes beyond the byte budget and counts an overwrite as its size difference', () => {
    const store = newStore({ now: clock().now, maxBytes: 100 });
    expect(store.apply(entry('a', { value: new Uint8Array(60) }))).toBe('stored');
    expect(store.byteCount).toBe(61);
    expect(store.apply(entry('b', { value: new Uint8Array(60) }))).toBe('full');
    expect(store.apply(entry('a', { createdAt: T0 + 1, value: new Uint8Array(98) }))).toBe('stored');
    expect(store.byteCount).toBe(99);
    store.remove({
      key: 'a',
      version: { createdAt: T0 + 2, nodeId: 'n' },
      expiresAt: T0 + 60_000,
      reason: 'deleted',
    });
    expect(store.byteCount).toBe(0);
    expect(store.apply(entry('b', { value: new Uint8Array(60) }))).toBe('stored');
  });

  it('withdraws exactly one version, without a tombstone or a removal notice, and frees its bytes', () => {
    const t = clock();
    const store = newStore({ now: t.now });
    const removals: RemovalReason[] = [];
    store.onRemoved((_entry, reason) => removals.push(reason));
    expect(store.apply(entry('k', { createdAt: T0 + 5 }))).toBe('stored');
    expect(store.withdraw('k', { createdAt: T0 + 4, nodeId: 'node-a' })).toBe(false);
    expect(store.withdraw('k', { createdAt: T0 + 5, nodeId: 'node-b' })).toBe(false);
    expect(store.withdraw('absent', { createdAt: T0 + 5, nodeId: 'node-a' })).toBe(false);
    expect(store.get('k')).toBeDefined();
    expect(store.withdraw('k', { createdAt: T0 + 5, nodeId: 'node-a' })).toBe(true);
    expect(store.get('k')).toBeUndefined();
    expect(store.tombstone('k')).toBeUndefined();
    expect(store.byteCount).toBe(0);
    expect(removals).toEqual([]);
    // An older version held elsewhere can come back (no tombstone covers it).
    expect(store.apply(entry('k'))).toBe('stored');
  });

  it('gives a removed entry to exactly one caller', () => {
    const store = newStore({ now: clock().now });
    store.apply(entry('once'));
    const tombstone = { key: 'once', version: { createdAt: T0 + 1, nodeId: 'n' }, expiresAt: T0 + 60_000 };
    const first = store.remove({ ...tombstone, reason: 'burned' });
    const second = store.remove({ ...tombstone, reason: 'burned' });
    expect([...(first?.value ?? [])]).toEqual([1, 2, 3]);
    expect(second).toBeUndefined();
  });

  it('keeps capabilities and commitments with values of every size, and lists keys by owner', () => {
    const store = newStore({ now: clock().now });
    const hash = new Uint8Array(32).fill(7);
    const other = new Uint8Array(32).fill(7);
    other[31] = 8;
    const publicKey = new Uint8Array(32).fill(9);
    const big = new Uint8Array(5000).map((_, i) => i % 251);
    store.apply(entry('t/small', { capability: { kind: 'token-sha256', hash }, keyCommitment: 'c1' }));
    store.apply(entry('t/big', { value: big, capability: { kind: 'token-sha256', hash } }));
    store.apply(entry('t/other', { capability: { kind: 'token-sha256', hash: other } }));
    store.apply(entry('e/one', { capability: { kind: 'ed25519', publicKey: hash } }));
    store.apply(entry('e/two', { capability: { kind: 'ed25519', publicKey } }));
    store.apply(entry('none'));
    hash.fill(0); // the store copied the capability bytes

    const small = store.get('t/small');
    expect(small?.capability).toEqual({ kind: 'token-sha256', hash: Buffer.alloc(32, 7) });
    expect(small?.keyCommitment).toBe('c1');
    expect([...(small?.value ?? [])]).toEqual([1, 2, 3]);
    expect(Buffer.from(store.get('t/big')?.value ?? []).equals(Buffer.from(big))).toBe(true);
    expect(store.get('none')?.capability).toBeUndefined();

    const token = { kind: 'token-sha256', hash: new Uint8Array(32).fill(7) } as const;
    expect(store.ownedKeys(token)).toEqual(['t/big', 't/small']);
    expect(store.ownedKeys(token, 't/s')).toEqual(['t/small']);
    expect(store.ownedKeys(token, '', 't/big')).toEqual(['t/small']);
    // The same bytes registered as another kind are another owner.
    expect(store.ownedKeys({ kind: 'ed25519', publicKey: new Uint8Array(32).fill(7) })).toEqual(['e/one']);
    expect(store.ownedKeys({ kind: 'token-sha256', hash: new Uint8Array(32) })).toEqual([]);
    expect([...store.entries()].find((meta) => meta.key === 'e/two')?.capability).toEqual({
      kind: 'ed25519',
      publicKey: Buffer.from(publicKey),
    });
  });

  it('lists only unexpired entries and tombstones', () => {
    const time = clock();
    const store = newStore({ now: time.now });
    store.apply(entry('a', { expiresAt: T0 + 1_000 }));
    store.apply(entry('b', { expiresAt: T0 + 9_000 }));
    time.advance(1_000);
    expect([...store.entries()].map((meta) => meta.key)).toEqual(['b']);
  });
});

describe('ExpiryIndex', () => {
  it('visits only the keys due by now, each once', () => {
    const index = new ExpiryIndex(T0);
    for (let i = 0; i < 10_000; i++) index.add(`live-${i}`, T0 + 3_600_000 + i);
    index.add('due-1', T0 + 500);
    index.add('due-2', T0 + 1_000);
    index.add('not-yet', T0 + 1_001);
    const visited: string[] = [];
    index.sweep(T0 + 1_000, (key) => visited.push(key));
    expect(visited.sort()).toEqual(['due-1', 'due-2']);
    index.sweep(T0 + 1_000, (key) => visited.push(key));
    expect(visited).toHaveLength(2);
    index.sweep(T0 + 2_000, (key) => visited.push(key));
    expect(visited.at(-1)).toBe('not-yet');
  });

  it('files a key added for an already swept second under the next sweep', () => {
    const index = new ExpiryIndex(T0);
    index.sweep(T0 + 5_000, () => {});
    index.add('past', T0 + 1_000);
    const visited: string[] = [];
    index.sweep(T0 + 6_000, (key) => visited.push(key));
    expect(visited).toEqual(['past']);
  });

  it('catches up after a long pause without walking every second', () => {
    const index = new ExpiryIndex(T0);
    index.add('a', T0 + 1_000);
    index.add('b', T0 + 86_400_000 * 30);
    const visited: string[] = [];
    index.sweep(T0 + 86_400_000 * 365, (key) => visited.push(key));
    expect(visited.sort()).toEqual(['a', 'b']);
  });
});
