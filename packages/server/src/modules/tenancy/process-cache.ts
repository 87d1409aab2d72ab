import type { Principal } from '../policy/model.js';

/** What authentication needs to know about a key, with its scopes already parsed. */
export interface CachedKey {
  principal: Principal | null;
  revoked: boolean;
  /** Epoch milliseconds, compared on every request; null if the key never expires. */
  expiresAtMs: number | null;
}

const CAPACITY = 10_000;

/**
 * Rows kept in memory only where that is exact: when this process is the database's only user (embedded
 * SQLite), so every change to them passes through this process, which then calls `clear()`. With a
 * shared database (PostgreSQL, several replicas) nothing is cached and every request reads the row: a
 * revoked key, for one, never works again anywhere.
 */
export class ProcessCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly enabled: boolean) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    if (!this.enabled) return;
    if (this.entries.size >= CAPACITY) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, value);
  }

  clear(): void {
    this.entries.clear();
  }
}
