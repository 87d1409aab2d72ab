import type { Identify } from '@libp2p/identify';
import type { Libp2p, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Ping } from '@libp2p/ping';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import type { NodeMetrics } from '../metrics.js';
import type { PeerView } from '../types.js';
import type { PeerGate } from './gater.js';
import type { Hello, PeerInfo } from './protocol.js';

/** The libp2p node the cluster runs. */
export type ClusterLibp2p = Libp2p<{ identify: Identify; ping: Ping }>;

/** The membership metrics this part updates (H1's NodeMetrics provides them). */
export type MembershipMetrics = Pick<
  NodeMetrics,
  'peersActive' | 'peerEvictions' | 'peerJoins' | 'pingFailures'
>;

export interface MembershipTimings {
  /** How often every member is pinged (and evicted/known peers redialed). */
  readonly pingIntervalMs: number;
  /** A ping slower than this counts as missed. */
  readonly pingTimeoutMs: number;
  /** Consecutive missed pings before a member is evicted. */
  readonly maxMissedPings: number;
}

interface Member {
  readonly peerId: PeerId;
  addrs: string[];
  httpUrl?: string;
  lastSeenAt: number;
  missed: number;
}

interface Known {
  addrs: Multiaddr[];
  nextAttemptAt: number;
  failures: number;
}

/** Cap on remembered-but-absent peers, so peer exchange cannot grow memory without bound. */
const MAX_KNOWN = 1024;

/**
 * Who is in the cluster. A peer becomes a member only after a `hello` exchange proved it is in the same
 * enclave (the cluster does the exchange and calls `admit`); it is pinged every interval and evicted
 * after `maxMissedPings` consecutive misses. Evicted, disconnected and exchanged-but-unconnected peers
 * are remembered with their addresses and redialed with exponential backoff, so a node that comes back
 * or a healed partition rejoins on its own.
 */
export class Membership {
  private readonly members = new Map<string, Member>();
  private readonly known = new Map<string, Known>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    private readonly node: ClusterLibp2p,
    private readonly selfId: string,
    private readonly gate: PeerGate,
    private readonly timings: MembershipTimings,
    private readonly onJoin: (peer: PeerId) => void,
    /** Runs the hello exchange with a connected peer (which calls `admit` when it passes). */
    private readonly handshake: (peer: PeerId) => Promise<void>,
    private readonly metrics?: MembershipMetrics,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.timings.pingIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  isMember(peer: PeerId | string): boolean {
    return this.members.has(peer.toString());
  }

  /** Member ids (not including this node), for placement. */
  ids(): string[] {
    return [...this.members.keys()];
  }

  /** The parsed PeerId of a member (parsing a peer id string decodes base58 each time). */
  peerIdOf(id: string): PeerId | undefined {
    return this.members.get(id)?.peerId;
  }

  /** Records a peer that passed the enclave check; learns the peers it told us about. */
  admit(peer: PeerId, hello: Hello): void {
    const id = peer.toString();
    const existing = this.members.get(id);
    const now = Date.now();
    if (existing) {
      existing.addrs = [...hello.addrs];
      existing.lastSeenAt = now;
      existing.missed = 0;
      if (hello.httpUrl !== undefined) existing.httpUrl = hello.httpUrl;
    } else {
      this.members.set(id, {
        peerId: peer,
        addrs: [...hello.addrs],
        ...(hello.httpUrl !== undefined ? { httpUrl: hello.httpUrl } : {}),
        lastSeenAt: now,
        missed: 0,
      });
      this.known.delete(id);
      this.metrics?.peerJoins.inc();
      this.metrics?.peersActive.set(this.members.size);
      this.onJoin(peer);
    }
    for (const p of hello.peers) this.remember(p);
  }

  /** Remembers a peer's addresses to dial it (peer exchange, bootstrap, eviction). */
  remember(info: PeerInfo | { peerId: string; addrs: Multiaddr[] }): void {
    if (info.peerId === this.selfId || this.members.has(info.peerId)) return;
    const addrs: Multiaddr[] = [];
    for (const a of info.addrs) {
      try {
        addrs.push(typeof a === 'string' ? multiaddr(a) : a);
      } catch {
        // ignore unparsable addresses from peers
      }
    }
    if (addrs.length === 0) return;
    const entry = this.known.get(info.peerId);
    if (entry) {
      entry.addrs = addrs;
      return;
    }
    if (this.known.size >= MAX_KNOWN) return;
    this.known.set(info.peerId, { addrs, nextAttemptAt: 0, failures: 0 });
    void this.dialKnown(info.peerId);
  }

  /** Removes a member (missed pings, enclave refusal or partition) and remembers it for redialing. */
  evict(peer: string, reason: 'missed-pings' | 'refused' | 'denied'): void {
    const member = this.members.get(peer);
    if (!member) return;
    this.members.delete(peer);
    if (reason === 'missed-pings') this.metrics?.peerEvictions.inc();
    this.metrics?.peersActive.set(this.members.size);
    if (reason !== 'refused') this.remember({ peerId: peer, addrs: member.addrs });
    void this.node.hangUp(member.peerId).catch(() => undefined);
  }

  /** Forgets a peer entirely (wrong enclave): never redialed. */
  forget(peer: string): void {
    this.known.delete(peer);
    this.evict(peer, 'refused');
  }

  views(enclave: string): PeerView[] {
    return [...this.members.entries()].map(([id, m]) => ({
      peerId: id,
      addresses: m.addrs,
      enclave,
      ...(m.httpUrl !== undefined ? { httpUrl: m.httpUrl } : {}),
      lastSeenAt: m.lastSeenAt,
      status: m.missed === 0 ? 'alive' : 'suspect',
    }));
  }

  /** The member list as sent in a `hello` (peer exchange). */
  exchange(): PeerInfo[] {
    return [...this.members.entries()].map(([peerId, m]) => ({ peerId, addrs: m.addrs }));
  }

  /** One round: ping every member, then redial remembered peers whose backoff has passed. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await Promise.all([...this.members.entries()].map(([id, m]) => this.pingMember(id, m)));
      const now = Date.now();
      await Promise.all(
        [...this.known.entries()].filter(([, k]) => k.nextAttemptAt <= now).map(([id]) => this.dialKnown(id)),
      );
    } finally {
      this.ticking = false;
    }
  }

  private async pingMember(id: string, member: Member): Promise<void> {
    try {
      await this.node.services.ping.ping(member.peerId, {
        signal: AbortSignal.timeout(this.timings.pingTimeoutMs),
      });
      member.missed = 0;
      member.lastSeenAt = Date.now();
    } catch {
      if (this.members.get(id) !== member) return;
      member.missed++;
      this.metrics?.pingFailures.inc();
      if (member.missed >= this.timings.maxMissedPings) this.evict(id, 'missed-pings');
    }
  }

  private async dialKnown(id: string): Promise<void> {
    const entry = this.known.get(id);
    if (!entry || !this.gate.permits(id)) return;
    entry.nextAttemptAt = Number.POSITIVE_INFINITY; // one attempt at a time
    try {
      const peerId = peerIdFromString(id);
      await this.node.peerStore.merge(peerId, { multiaddrs: entry.addrs });
      await this.node.dial(peerId, { signal: AbortSignal.timeout(this.timings.pingTimeoutMs * 2) });
      await this.handshake(peerId);
      entry.failures = 0;
      entry.nextAttemptAt = Date.now() + this.timings.pingIntervalMs;
    } catch {
      entry.failures++;
      const backoff = this.timings.pingIntervalMs * 2 ** Math.min(entry.failures, 4);
      entry.nextAttemptAt = Date.now() + backoff;
    }
  }
}
