import type { KeyRepository, StoredKey } from './types.js';

function copy(key: StoredKey): StoredKey {
  return { ...key, publicKey: key.publicKey.slice(), wrappedSecretKey: key.wrappedSecretKey.slice() };
}

/** A KeyRepository in memory (tests, browsers, short-lived tools). Stores copies, returns copies. */
export class MemoryKeyRepository implements KeyRepository {
  readonly #rows = new Map<string, StoredKey>();

  async get(id: string): Promise<StoredKey | undefined> {
    const row = this.#rows.get(id);
    return row && copy(row);
  }

  async put(key: StoredKey): Promise<void> {
    this.#rows.set(key.id, copy(key));
  }

  async list(filter: { purpose?: string } = {}): Promise<StoredKey[]> {
    return [...this.#rows.values()]
      .filter((row) => filter.purpose === undefined || row.purpose === filter.purpose)
      .map(copy);
  }
}
