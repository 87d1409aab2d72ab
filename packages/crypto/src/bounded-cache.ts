/**
 * A map that forgets its oldest entry once full: for values that are pure functions of their key (a
 * validated public key, a did:key document), so that a hot verifier computes each only once.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Stores `value` and returns it. */
  set(key: K, value: V): V {
    if (this.entries.size >= this.capacity && !this.entries.has(key)) {
      this.entries.delete(this.entries.keys().next().value as K);
    }
    this.entries.set(key, value);
    return value;
  }
}
