/**
 * Keys grouped by the second in which they expire, so a sweep visits only the seconds that have passed
 * and the keys filed under them: O(expired), independent of how many live keys there are.
 *
 * A key is filed under ceil(expiresAt / 1000), so every key in a bucket whose second has passed is due.
 * The index may hold stale references (a key overwritten with a later expiry, or removed early): the
 * caller checks each yielded key against its map. Stale references vanish when their bucket is swept.
 */
export class ExpiryIndex {
  private readonly buckets = new Map<number, string[]>();
  /** The first second not yet swept. */
  private cursor: number;

  constructor(now: number) {
    this.cursor = Math.floor(now / 1000);
  }

  add(key: string, expiresAt: number): void {
    // A second already swept would never be visited again; file such a key under the next sweep.
    const second = Math.max(Math.ceil(expiresAt / 1000), this.cursor);
    const bucket = this.buckets.get(second);
    if (bucket === undefined) this.buckets.set(second, [key]);
    else bucket.push(key);
  }

  /** Takes out every key filed under a second at or before `now` and passes it to `visit`. */
  sweep(now: number, visit: (key: string) => void): void {
    const last = Math.floor(now / 1000);
    // After a long pause (suspended machine, clock jump) walking every second would be slow; walking
    // the buckets is bounded by how many exist.
    if (last - this.cursor > this.buckets.size) {
      for (const [second, keys] of this.buckets) {
        if (second > last) continue;
        this.buckets.delete(second);
        for (const key of keys) visit(key);
      }
    } else {
      for (let second = this.cursor; second <= last; second++) {
        const keys = this.buckets.get(second);
        if (keys === undefined) continue;
        this.buckets.delete(second);
        for (const key of keys) visit(key);
      }
    }
    if (last + 1 > this.cursor) this.cursor = last + 1;
  }

  clear(): void {
    this.buckets.clear();
  }
}
