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
 * Keys by secret hash, kept only where that is exact: when this process is the database's only user
 * (embedded SQLite), so every revocation or deletion passes through this process and calls `clear()`.
 * With a shared database (PostgreSQL, several replicas) nothing is cached, and every request reads the
 * key: a revoked key never works again anywhere.
 */
export class AuthCache {
  private readonly keys = new Map<string, CachedKey>();

  constructor(private readonly enabled: boolean) {}

  get(secretHash: string): CachedKey | undefined {
    return this.keys.get(secretHash);
  }

  set(secretHash: string, key: CachedKey): void {
    if (!this.enabled) return;
    if (this.keys.size >= CAPACITY) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(secretHash, key);
  }

  clear(): void {
    this.keys.clear();
  }
}
