import type { KeyForAuth } from './repo.js';

const CAPACITY = 10_000;

/**
 * Keys looked up by secret hash, kept only while they are provably current: every read first checks the
 * store's external-change counter (another process's commit empties the cache), and this process's own
 * revocations and deletions call `clear()`. Without such a counter (PostgreSQL) nothing is cached, so a
 * revoked key never works again on any replica.
 */
export class AuthCache {
  private readonly keys = new Map<string, KeyForAuth>();
  private seenVersion = -1;

  constructor(private readonly externalChanges: (() => number) | null) {}

  get(secretHash: string): KeyForAuth | undefined {
    if (!this.externalChanges) return undefined;
    const version = this.externalChanges();
    if (version !== this.seenVersion) {
      this.keys.clear();
      this.seenVersion = version;
      return undefined;
    }
    return this.keys.get(secretHash);
  }

  set(secretHash: string, key: KeyForAuth): void {
    if (!this.externalChanges) return;
    if (this.keys.size >= CAPACITY) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(secretHash, key);
  }

  clear(): void {
    this.keys.clear();
  }
}
