/**
 * Counts over a sliding window of fixed buckets: `count` buckets of `bucketMs` each, the newest being the
 * one `now` falls in. Cheap enough to update on every access.
 */
class SlidingCount {
  private readonly buckets: Int32Array;
  /** The bucket number (time / bucketMs) of the newest bucket written. */
  private newest = 0;

  constructor(
    private readonly bucketMs: number,
    count: number,
  ) {
    this.buckets = new Int32Array(count);
  }

  add(now: number, amount: number): void {
    this.advance(now);
    const slot = this.newest % this.buckets.length;
    this.buckets[slot] = (this.buckets[slot] as number) + amount;
  }

  sum(now: number): number {
    this.advance(now);
    let total = 0;
    for (const value of this.buckets) total += value;
    return total;
  }

  /** Zeroes the buckets that fell out of the window since the last write. */
  private advance(now: number): void {
    const bucket = Math.floor(now / this.bucketMs);
    if (bucket <= this.newest) return;
    const stale = Math.min(bucket - this.newest, this.buckets.length);
    for (let i = 1; i <= stale; i++) this.buckets[(this.newest + i) % this.buckets.length] = 0;
    this.newest = bucket;
  }
}

interface MemberCounts {
  minute: SlidingCount;
  hour: SlidingCount;
  deniedHour: SlidingCount;
  lastAt: number;
}

export interface RecentCounts {
  lastMinute: number;
  lastHour: number;
  deniedLastHour: number;
}

const HOUR_MS = 3_600_000;
/** Members tracked at once; beyond, the least recently active is forgotten first. */
const CAPACITY = 50_000;

/**
 * A member's recent accesses to a vault, for the access decision's velocity signals: accesses in the last
 * minute (six 10-second buckets) and hour (sixty 1-minute buckets), and denials in the last hour. Kept in
 * this process's memory: with several server replicas each counts the accesses it served.
 */
export class RecentAccesses {
  private readonly members = new Map<string, MemberCounts>();

  /** The member's counts before the access being decided. */
  counts(vaultId: string, subject: string, now: number): RecentCounts {
    const counts = this.members.get(keyOf(vaultId, subject));
    if (!counts) return { lastMinute: 0, lastHour: 0, deniedLastHour: 0 };
    return {
      lastMinute: counts.minute.sum(now),
      lastHour: counts.hour.sum(now),
      deniedLastHour: counts.deniedHour.sum(now),
    };
  }

  /** Counts one decided access (allowed or not). */
  record(vaultId: string, subject: string, now: number, denied: boolean): void {
    const key = keyOf(vaultId, subject);
    let counts = this.members.get(key);
    if (counts) {
      // Re-inserted so the map's order stays least-recently-active first.
      this.members.delete(key);
    } else {
      if (this.members.size >= CAPACITY) this.members.delete(this.members.keys().next().value as string);
      counts = {
        minute: new SlidingCount(10_000, 6),
        hour: new SlidingCount(60_000, 60),
        deniedHour: new SlidingCount(60_000, 60),
        lastAt: now,
      };
    }
    counts.minute.add(now, 1);
    counts.hour.add(now, 1);
    if (denied) counts.deniedHour.add(now, 1);
    counts.lastAt = now;
    this.members.set(key, counts);
  }

  /** Forgets members idle for an hour (their counts are all zero by then). */
  sweep(now: number): void {
    for (const [key, counts] of this.members) {
      if (now - counts.lastAt < HOUR_MS) break;
      this.members.delete(key);
    }
  }
}

const keyOf = (vaultId: string, subject: string) => `${vaultId}\u0000${subject}`;
