/**
 * Application-layer replay protection for node-to-node requests.
 *
 * Noise already authenticates and encrypts every connection, so a network attacker can neither forge
 * nor re-send bytes into a session. This guard covers what noise cannot: a peer (or a bug, or something
 * relaying frames between sessions) re-submitting a request seen earlier — e.g. an old `put` that would
 * bring back a stale version.
 *
 * Every request carries the sender's timestamp and an id `<prefix>.<counter>`: a random prefix per
 * sender process and a counter (base 36) that only grows. A receiver refuses timestamps outside
 * ±`windowMs` of its own clock, and per (sender, prefix) keeps the highest counter seen plus a bitmap of
 * the `reorder` counters below it (IPsec-style sliding window), refusing counters seen before or too
 * old to tell. Memory is constant per sender and does not grow with the request rate; a prefix unused
 * for longer than the window is dropped, which is safe because its requests are then refused by their
 * timestamp anyway. A sender may use at most `maxPrefixes` prefixes within one window (restarts);
 * beyond that its requests are refused rather than the guarantee weakened.
 */
export class ReplayGuard {
  private readonly senders = new Map<string, Map<string, Track>>();
  private lastPrune = 0;

  constructor(
    private readonly windowMs: number,
    private readonly reorder = 4096,
    private readonly maxPrefixes = 8,
  ) {}

  /** Returns a reason when the request must be refused, undefined when it is fresh (and records it). */
  check(sender: string, id: string, timestamp: number, now = Date.now()): string | undefined {
    if (!Number.isFinite(timestamp) || Math.abs(now - timestamp) > this.windowMs) return 'stale-timestamp';
    const match = ID_FORMAT.exec(id);
    if (!match) return 'bad-request-id';
    const prefix = match[1] as string;
    const counter = Number.parseInt(match[2] as string, 36);
    if (now - this.lastPrune > this.windowMs) this.prune(now);
    let tracks = this.senders.get(sender);
    if (!tracks) {
      tracks = new Map();
      this.senders.set(sender, tracks);
    }
    let track = tracks.get(prefix);
    if (!track) {
      if (tracks.size >= this.maxPrefixes) return 'replay-window-full';
      track = new Track(this.reorder);
      tracks.set(prefix, track);
    }
    if (!track.accept(counter)) return 'replayed';
    track.lastSeen = now;
    return undefined;
  }

  private prune(now: number): void {
    this.lastPrune = now;
    for (const [sender, tracks] of this.senders) {
      for (const [prefix, track] of tracks) if (now - track.lastSeen > this.windowMs) tracks.delete(prefix);
      if (tracks.size === 0) this.senders.delete(sender);
    }
  }
}

const ID_FORMAT = /^([A-Za-z0-9_-]{8,32})\.([0-9a-z]{1,11})$/;

/** Highest counter seen and which of the `size` counters below it were seen (a ring of bits). */
class Track {
  private max = -1;
  private readonly bits: Uint8Array;
  lastSeen = 0;

  constructor(private readonly size: number) {
    this.bits = new Uint8Array(Math.ceil(size / 8));
  }

  accept(counter: number): boolean {
    if (counter > this.max) {
      // Slide the window: counters between the old maximum and this one have not been seen.
      if (counter - this.max >= this.size) this.bits.fill(0);
      else for (let c = this.max + 1; c < counter; c++) this.clear(c);
      this.max = counter;
      this.set(counter);
      return true;
    }
    if (this.max - counter >= this.size) return false;
    if (this.isSet(counter)) return false;
    this.set(counter);
    return true;
  }

  private set(c: number): void {
    const i = c % this.size;
    this.bits[i >> 3] = (this.bits[i >> 3] as number) | (1 << (i & 7));
  }

  private clear(c: number): void {
    const i = c % this.size;
    this.bits[i >> 3] = (this.bits[i >> 3] as number) & ~(1 << (i & 7));
  }

  private isSet(c: number): boolean {
    const i = c % this.size;
    return ((this.bits[i >> 3] as number) & (1 << (i & 7))) !== 0;
  }
}
