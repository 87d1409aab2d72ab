import type {
  Entry,
  EntryMeta,
  EntryVersion,
  LocalStore,
  RemovalListener,
  RemovalReason,
  Tombstone,
  WriteCapability,
} from '../types.js';
import { ExpiryIndex } from './expiry-index.js';
import { ValueSlabs } from './value-slabs.js';

/** True when version `a` is newer than `b`: later createdAt, ties broken by node id in byte order. */
export function isNewer(a: EntryVersion, b: EntryVersion): boolean {
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt;
  // Peer ids are ASCII (base58/base32), so UTF-16 code unit order is byte order.
  return a.nodeId > b.nodeId;
}

/**
 * One stored value, kept lean: one hidden class for all entries, no per-entry closures, optional
 * fields always present, and the bytes as (slab, offset, length) rather than a view object (see
 * value-slabs.ts). Callers get plain objects from `materialize`/`meta`, never this class.
 */
class StoredEntry {
  constructor(
    readonly key: string,
    readonly slab: Uint8Array,
    readonly offset: number,
    readonly length: number,
    readonly createdAt: number,
    readonly expiresAt: number,
    readonly ttlSeconds: number,
    readonly origin: string,
    /** OWNER_NONE, or which capability kind's 32 bytes follow the value in the slab. */
    readonly ownerKind: number,
    readonly keyCommitment: string | undefined,
    readonly readOnce: boolean,
  ) {}
}

/**
 * An entry's capability is 32 bytes stored right after its value in the same slab: a per-entry
 * capability object with its own Uint8Array would cost ~150 bytes of heap, and clients (the SDK)
 * register a fresh write token with nearly every value.
 */
const OWNER_NONE = 0;
const OWNER_TOKEN = 1;
const OWNER_ED25519 = 2;
const OWNER_BYTES = 32;

function ownerKind(capability: WriteCapability | undefined): number {
  if (capability === undefined) return OWNER_NONE;
  return capability.kind === 'token-sha256' ? OWNER_TOKEN : OWNER_ED25519;
}

function ownerBytes(capability: WriteCapability): Uint8Array {
  const bytes = capability.kind === 'token-sha256' ? capability.hash : capability.publicKey;
  if (bytes.length !== OWNER_BYTES)
    throw new RangeError(`a ${capability.kind} capability has ${OWNER_BYTES} bytes`);
  return bytes;
}

/**
 * Compares the owner bytes at `at` with `wanted` in constant time: constantTimeEqual (@personachain/crypto)
 * over `slab`, taken at an offset so a listing does not allocate a view per entry it scans.
 */
function ownerEquals(slab: Uint8Array, at: number, wanted: Uint8Array): boolean {
  let difference = 0;
  for (let i = 0; i < OWNER_BYTES; i++) difference |= (slab[at + i] as number) ^ (wanted[i] as number);
  return difference === 0;
}

/** A Buffer view (no copy) of bytes in an entry's slab; the store never writes them again. */
function slice(entry: StoredEntry, offset: number, length: number): Buffer {
  return Buffer.from(entry.slab.buffer, entry.slab.byteOffset + offset, length);
}

function capabilityOf(entry: StoredEntry): WriteCapability | undefined {
  if (entry.ownerKind === OWNER_NONE) return undefined;
  const bytes = slice(entry, entry.offset + entry.length, OWNER_BYTES);
  return entry.ownerKind === OWNER_TOKEN
    ? { kind: 'token-sha256', hash: bytes }
    : { kind: 'ed25519', publicKey: bytes };
}

function meta(entry: StoredEntry): EntryMeta {
  return {
    key: entry.key,
    createdAt: entry.createdAt,
    expiresAt: entry.expiresAt,
    ttlSeconds: entry.ttlSeconds,
    origin: entry.origin,
    capability: capabilityOf(entry),
    keyCommitment: entry.keyCommitment,
    readOnce: entry.readOnce,
  };
}

/** The entry with a Buffer view of its stored bytes (no copy; the store never writes them again). */
function materialize(entry: StoredEntry): Entry {
  return {
    key: entry.key,
    value: slice(entry, entry.offset, entry.length),
    createdAt: entry.createdAt,
    expiresAt: entry.expiresAt,
    ttlSeconds: entry.ttlSeconds,
    origin: entry.origin,
    capability: capabilityOf(entry),
    keyCommitment: entry.keyCommitment,
    readOnce: entry.readOnce,
  };
}

export interface MemoryStoreOptions {
  /** Byte budget for keys and values; 0 = unlimited. */
  readonly maxBytes?: number;
  /** How often the expiry sweep runs (ms); 0 = never on its own (call `sweep()`). Default 1000. */
  readonly sweepIntervalMs?: number;
  /** The clock, for tests. */
  readonly now?: () => number;
}

/** Distinct origins interned at most; beyond it strings are kept as received (still correct, less shared). */
const MAX_INTERNED_ORIGINS = 4096;

/**
 * The node's in-memory store: a Map of entries, an expiry index swept once a second (reads also check
 * expiry, so an entry is never served after its instant), a byte budget, tombstones that outlive the
 * entry they replaced, and removal listeners (deletion attestations subscribe to them).
 *
 * Values are copied into shared slabs (value-slabs.ts) to keep the per-item overhead small.
 */
export class MemoryStore implements LocalStore {
  private readonly entryMap = new Map<string, StoredEntry>();
  private readonly tombstoneMap = new Map<string, Tombstone>();
  private readonly entryExpiry: ExpiryIndex;
  private readonly tombstoneExpiry: ExpiryIndex;
  private readonly listeners: RemovalListener[] = [];
  private readonly origins = new Map<string, string>();
  private readonly slabs = new ValueSlabs();
  private readonly maxBytes: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private bytes = 0;
  /** Entries removed by expiry since start (the expirations counter reads it). */
  expiredCount = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxBytes = options.maxBytes ?? 0;
    this.now = options.now ?? Date.now;
    this.entryExpiry = new ExpiryIndex(this.now());
    this.tombstoneExpiry = new ExpiryIndex(this.now());
    const interval = options.sweepIntervalMs ?? 1000;
    if (interval > 0) {
      this.timer = setInterval(() => this.sweep(), interval);
      this.timer.unref();
    }
  }

  get itemCount(): number {
    return this.entryMap.size;
  }

  get byteCount(): number {
    return this.bytes;
  }

  get tombstoneCount(): number {
    return this.tombstoneMap.size;
  }

  get(key: string): Entry | undefined {
    const entry = this.entryMap.get(key);
    if (entry === undefined || entry.expiresAt <= this.now()) return undefined;
    return materialize(entry);
  }

  /**
   * Stores `entry` if it is newer than the held version and the key's tombstone, unexpired, and within
   * the byte budget. A write newer than a tombstone (a new client PUT after a delete or burn) clears it.
   */
  apply(entry: Entry): 'stored' | 'stale' | 'expired' | 'tombstoned' | 'full' {
    const now = this.now();
    if (entry.expiresAt <= now) return 'expired';
    const version = { createdAt: entry.createdAt, nodeId: entry.origin };
    const tombstone = this.tombstoneMap.get(entry.key);
    if (tombstone !== undefined && !isNewer(version, tombstone.version)) return 'tombstoned';
    const held = this.entryMap.get(entry.key);
    const heldLive = held !== undefined && held.expiresAt > now;
    if (heldLive && !isNewer(version, { createdAt: held.createdAt, nodeId: held.origin })) return 'stale';
    const size = entrySize(entry.key, entry.value.length);
    const freed = held === undefined ? 0 : entrySize(held.key, held.length);
    if (this.maxBytes > 0 && this.bytes - freed + size > this.maxBytes) return 'full';

    if (held !== undefined && !heldLive) this.expire(held, now);
    if (tombstone !== undefined) this.tombstoneMap.delete(entry.key);
    const location = this.slabs.copy(
      entry.value,
      entry.capability === undefined ? undefined : ownerBytes(entry.capability),
    );
    const stored = new StoredEntry(
      entry.key,
      location.slab,
      location.offset,
      entry.value.length,
      entry.createdAt,
      entry.expiresAt,
      entry.ttlSeconds,
      this.intern(entry.origin),
      ownerKind(entry.capability),
      entry.keyCommitment,
      entry.readOnce === true,
    );
    const replaced = this.entryMap.get(entry.key);
    if (replaced !== undefined) this.bytes -= entrySize(replaced.key, replaced.length);
    this.entryMap.set(entry.key, stored);
    this.bytes += size;
    this.entryExpiry.add(entry.key, entry.expiresAt);
    return 'stored';
  }

  /**
   * Removes the key (delete or burn) and keeps the tombstone until the removed entry would have
   * expired. Synchronous, so of concurrent callers exactly one receives the entry.
   */
  remove(tombstone: Tombstone): Entry | undefined {
    const now = this.now();
    const held = this.entryMap.get(tombstone.key);
    let removed: StoredEntry | undefined;
    let version = tombstone.version;
    let expiresAt = tombstone.expiresAt;
    if (held !== undefined) {
      const heldVersion = { createdAt: held.createdAt, nodeId: held.origin };
      // A tombstone must cover the entry it removes, whatever clock the deleter had.
      if (isNewer(heldVersion, version)) version = heldVersion;
      if (held.expiresAt > expiresAt) expiresAt = held.expiresAt;
      if (held.expiresAt <= now) {
        this.expire(held, now);
      } else {
        this.entryMap.delete(held.key);
        this.bytes -= entrySize(held.key, held.length);
        removed = held;
      }
    }
    this.keepTombstone({ key: tombstone.key, version, expiresAt, reason: tombstone.reason }, now);
    if (removed === undefined) return undefined;
    this.notify(removed, tombstone.reason, now);
    return materialize(removed);
  }

  /**
   * Takes back a write that did not reach its quorum: removes the key only when exactly `version` is
   * held, leaving no tombstone (an earlier version held elsewhere must still be able to return here).
   * Like an overwrite, and unlike expiry, delete and burn, it is not reported to removal listeners.
   */
  withdraw(key: string, version: EntryVersion): boolean {
    const held = this.entryMap.get(key);
    if (held === undefined || held.createdAt !== version.createdAt || held.origin !== version.nodeId)
      return false;
    this.entryMap.delete(key);
    this.bytes -= entrySize(held.key, held.length);
    return true;
  }

  tombstone(key: string): Tombstone | undefined {
    const tombstone = this.tombstoneMap.get(key);
    return tombstone !== undefined && tombstone.expiresAt > this.now() ? tombstone : undefined;
  }

  *entries(): Iterable<EntryMeta> {
    const now = this.now();
    for (const entry of this.entryMap.values()) if (entry.expiresAt > now) yield meta(entry);
  }

  *tombstones(): Iterable<Tombstone> {
    const now = this.now();
    for (const tombstone of this.tombstoneMap.values()) if (tombstone.expiresAt > now) yield tombstone;
  }

  /**
   * Unexpired keys registered under `capability` (same kind and bytes), starting with `prefix` and
   * after `cursor`, sorted. Scans the entries without materialising them (see bench/ephemeral-node.mjs
   * for its cost with 1,000,000 entries); listings are rate limited like every request.
   */
  ownedKeys(capability: WriteCapability, prefix = '', cursor = ''): string[] {
    const kind = ownerKind(capability);
    const wanted = ownerBytes(capability);
    const now = this.now();
    const keys: string[] = [];
    for (const entry of this.entryMap.values()) {
      if (entry.ownerKind !== kind || entry.expiresAt <= now) continue;
      if (!entry.key.startsWith(prefix) || entry.key <= cursor) continue;
      const at = entry.offset + entry.length;
      // A two-byte pre-check skips the full comparison for nearly every other owner. It can reveal only
      // whether some stored SHA-256/public key shares two leading bytes with the presented one, which
      // gives no way to a token or private key.
      if (entry.slab[at] !== wanted[0] || entry.slab[at + 1] !== wanted[1]) continue;
      if (ownerEquals(entry.slab, at, wanted)) keys.push(entry.key);
    }
    return keys.sort();
  }

  onRemoved(listener: RemovalListener): void {
    this.listeners.push(listener);
  }

  /** Drops expired entries (notifying listeners) and outlived tombstones. Cost: O(due keys). */
  sweep(now = this.now()): number {
    const before = this.expiredCount;
    this.entryExpiry.sweep(now, (key) => {
      const entry = this.entryMap.get(key);
      if (entry !== undefined && entry.expiresAt <= now) this.expire(entry, now);
    });
    this.tombstoneExpiry.sweep(now, (key) => {
      const tombstone = this.tombstoneMap.get(key);
      if (tombstone !== undefined && tombstone.expiresAt <= now) this.tombstoneMap.delete(key);
    });
    return this.expiredCount - before;
  }

  /** Stops the sweep timer and drops everything without notifying (process shutdown). */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private keepTombstone(tombstone: Tombstone, now: number): void {
    if (tombstone.expiresAt <= now) return;
    const held = this.tombstoneMap.get(tombstone.key);
    if (held !== undefined && held.expiresAt > now && !isNewer(tombstone.version, held.version)) return;
    this.tombstoneMap.set(tombstone.key, tombstone);
    this.tombstoneExpiry.add(tombstone.key, tombstone.expiresAt);
  }

  private expire(entry: StoredEntry, now: number): void {
    this.entryMap.delete(entry.key);
    this.bytes -= entrySize(entry.key, entry.length);
    this.expiredCount++;
    this.notify(entry, 'expired', now);
  }

  private notify(entry: StoredEntry, reason: RemovalReason, at: number): void {
    if (this.listeners.length === 0) return;
    const removed = meta(entry);
    for (const listener of this.listeners) {
      try {
        listener(removed, reason, at);
      } catch {
        // A failing listener must not break the store or keep other listeners from hearing about it;
        // listeners report their own errors.
      }
    }
  }

  private intern(origin: string): string {
    const known = this.origins.get(origin);
    if (known !== undefined) return known;
    if (this.origins.size < MAX_INTERNED_ORIGINS) this.origins.set(origin, origin);
    return origin;
  }
}

/** Bytes an entry counts against the budget: its value plus its key (in UTF-16 code units). */
function entrySize(key: string, valueLength: number): number {
  return valueLength + key.length;
}
