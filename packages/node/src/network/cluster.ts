import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';
import type { NodeMetrics } from '../metrics.js';
import type {
  Cluster,
  Entry,
  EntryVersion,
  LocalStore,
  PeerView,
  QuorumResult,
  Tombstone,
} from '../types.js';
import { parseBootstrapPeer, resolveHttpPeer } from './bootstrap.js';
import { PeerGate } from './gater.js';
import {
  type ClusterLibp2p,
  Membership,
  type MembershipMetrics,
  type MembershipTimings,
} from './membership.js';
import { majority, replicasFor } from './placement.js';
import {
  compareVersions,
  type DigestItem,
  type Envelope,
  type Hello,
  MAX_DIGEST_PAGE,
  MAX_PULL_KEYS,
  type PutOutcome,
  type Response,
  versionOf,
} from './protocol.js';
import { ReplayGuard } from './replay-guard.js';
import { PeerRefusedError, RpcClient, serve } from './rpc.js';

export interface LibP2PClusterOptions {
  readonly store: LocalStore;
  /** The node's identity (see identity.ts). */
  readonly privateKey: Ed25519PrivateKey;
  /** Enclave name (REPRAM_ENCLAVE); peers of another enclave are refused in the hello exchange. */
  readonly enclave: string;
  /** libp2p TCP listen host and port (REPRAM_GOSSIP_PORT; 0 = any free port). */
  readonly listenHost?: string;
  readonly listenPort?: number;
  /** Host other nodes should dial (REPRAM_ADDRESS), when it differs from the listen host. */
  readonly announceHost?: string;
  /** REPRAM_PEERS items: multiaddrs with /p2p/<id>, or REPRAM's host:httpPort. */
  readonly bootstrap?: readonly string[];
  /** Replicas per key (REPRAM_REPLICATION), capped at the member count. */
  readonly replication?: number;
  /** Contents of a libp2p swarm key file: only holders can connect at all (private network). */
  readonly swarmKey?: Uint8Array;
  /** Peer ids allowed to connect (PERSONA_NODE_ALLOWED_PEERS); undefined = any holder of the enclave. */
  readonly allowedPeers?: readonly string[];
  /** This node's client HTTP base URL, shown to peers in /v1/topology (a function when known only later). */
  readonly httpUrl?: string | (() => string | undefined);
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
  readonly maxMissedPings?: number;
  /** Period of the full anti-entropy round with every member (a round also runs on every join). */
  readonly antiEntropyIntervalMs?: number;
  /** Timeout of one node-to-node request (reads, digests). */
  readonly requestTimeoutMs?: number;
  readonly metrics?: MembershipMetrics & Partial<Pick<NodeMetrics, 'replicationLag'>>;
  readonly log?: (level: 'info' | 'warn', message: string) => void;
}

/**
 * Two nodes' clocks may differ; a request outside this window is refused (replay protection), so node
 * clocks must agree within it (they must anyway: expiry is absolute).
 */
const REPLAY_WINDOW_MS = 60_000;

/** A digest listing older than this is rebuilt instead of paged further (a peer stalled mid-digest). */
const DIGEST_LISTING_TTL_MS = 60_000;

/**
 * The ephemeral store's cluster over libp2p (TCP + noise + yamux). Each key lives on the R members
 * that win rendezvous hashing; writes resolve at a majority of them, reads fall back to them on a local
 * miss, deletes and burns leave tombstones, and anti-entropy repairs what partitions and restarts missed.
 */
export class LibP2PCluster implements Cluster {
  readonly nodeId: string;
  private readonly peerId: PeerId;
  private readonly gate: PeerGate;
  private readonly replay = new ReplayGuard(REPLAY_WINDOW_MS);
  private readonly replication: number;
  private readonly requestTimeoutMs: number;
  private readonly timings: MembershipTimings;
  private readonly handshaking = new Set<string>();
  private readonly syncing = new Set<string>();
  /** Sorted digest listings being paged through, per requesting peer. */
  private readonly digests = new Map<string, { items: DigestItem[]; builtAt: number }>();
  private node: ClusterLibp2p | undefined;
  private rpc: RpcClient | undefined;
  private membership: Membership | undefined;
  private antiEntropyTimer: NodeJS.Timeout | undefined;
  private httpUrl: string | (() => string | undefined) | undefined;

  constructor(private readonly options: LibP2PClusterOptions) {
    this.peerId = peerIdFromPrivateKey(options.privateKey);
    this.nodeId = this.peerId.toString();
    this.gate = new PeerGate(options.allowedPeers ? new Set(options.allowedPeers) : undefined);
    this.replication = options.replication ?? 3;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2_000;
    this.httpUrl = options.httpUrl;
    const pingIntervalMs = options.pingIntervalMs ?? 2_000;
    this.timings = {
      pingIntervalMs,
      pingTimeoutMs: options.pingTimeoutMs ?? Math.min(pingIntervalMs, 2_000),
      maxMissedPings: options.maxMissedPings ?? 3,
    };
    if (!Number.isInteger(this.replication) || this.replication < 1)
      throw new RangeError('replication must be ≥ 1');
  }

  setHttpUrl(url: string): void {
    this.httpUrl = url;
  }

  async start(): Promise<void> {
    const host = this.options.listenHost ?? '0.0.0.0';
    const port = this.options.listenPort ?? 0;
    const node = await createLibp2p({
      privateKey: this.options.privateKey,
      addresses: { listen: [`/${host.includes(':') ? 'ip6' : 'ip4'}/${host}/tcp/${port}`] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      ...(this.options.swarmKey ? { connectionProtector: preSharedKey({ psk: this.options.swarmKey }) } : {}),
      connectionGater: this.gate.gater(),
      // Cluster members often share one host (and loopback in tests): don't rate-limit their reconnects.
      connectionManager: { inboundConnectionThreshold: 1_000, dialTimeout: this.requestTimeoutMs * 2 },
      services: { identify: identify(), ping: ping() },
      start: false,
    });
    this.node = node;
    this.membership = new Membership(
      node,
      this.nodeId,
      this.gate,
      this.timings,
      (peer) => void this.antiEntropyWith(peer),
      (peer) => this.handshake(peer),
      this.options.metrics,
    );
    this.rpc = new RpcClient(node, this.options.enclave, this.requestTimeoutMs);
    await serve(node, (envelope, from) => this.handle(envelope, from));
    node.addEventListener('peer:connect', (evt) => void this.handshake(evt.detail));
    node.addEventListener('peer:disconnect', (evt) => {
      this.rpc?.drop(evt.detail.toString());
      this.digests.delete(evt.detail.toString());
    });
    await node.start();
    this.membership.start();
    this.antiEntropyTimer = setInterval(
      () => void this.antiEntropyRound(),
      this.options.antiEntropyIntervalMs ?? 30_000,
    );
    this.antiEntropyTimer.unref();
    await this.bootstrap();
  }

  async stop(): Promise<void> {
    if (this.antiEntropyTimer) clearInterval(this.antiEntropyTimer);
    this.membership?.stop();
    this.rpc?.closeAll();
    await this.node?.stop();
  }

  peers(): readonly PeerView[] {
    return this.membership?.views(this.options.enclave) ?? [];
  }

  listenAddresses(): readonly string[] {
    const addrs = this.node?.getMultiaddrs().map((a) => a.toString()) ?? [];
    const announce = this.options.announceHost;
    // REPRAM_ADDRESS: advertise the configured host instead of the bind address.
    return announce
      ? addrs.map((a) => a.replace(/^\/ip[46]\/[^/]+/, `/${ipProto(announce)}/${announce}`))
      : addrs;
  }

  /** Peer ids currently considered members (placement candidates besides this node). */
  memberIds(): string[] {
    return this.membership?.ids() ?? [];
  }

  /**
   * Refuses connections from these peers and drops the ones open now (operator quarantine; tests use it
   * to cut a partition between live nodes). Members among them are evicted and redialed once allowed.
   */
  async denyPeers(peerIds: readonly string[]): Promise<void> {
    const node = this.requireNode();
    this.gate.deny(peerIds);
    for (const id of peerIds) {
      this.membership?.evict(id, 'denied');
      await node.hangUp(peerIdFromString(id)).catch(() => undefined);
    }
  }

  /** Lifts `denyPeers`; the membership loop redials them within its backoff. */
  allowPeers(peerIds: readonly string[]): void {
    this.gate.allow(peerIds);
  }

  // ---- client-facing operations -------------------------------------------------------------------

  async put(entry: Entry, timeoutMs: number): Promise<QuorumResult> {
    const replicas = this.replicaSet(entry.key);
    const required = majority(replicas.length);
    const request = { op: 'put', entry } as const;
    const acks = replicas.map(async (id) => {
      if (id === this.nodeId) return this.applyPut(entry) === 'stored';
      const res = await this.requireRpc().call(this.peerIdOf(id), request, timeoutMs);
      return res.outcome === 'stored';
    });
    const acknowledged = await countUntil(acks, required, timeoutMs);
    return { acknowledged, required, replicas: replicas.length };
  }

  /**
   * A first write costs one round trip instead of a read and then a write. It needs a majority of its
   * replicas to hold nothing for the key: an acknowledged write is on a majority of the same set, and two
   * majorities share a replica, so when this write reaches its majority no acknowledged write of the key
   * can exist. When it cannot reach it because replicas hold the key, it is withdrawn everywhere before
   * the cluster is read for the held entry, and that read ignores the withdrawn version in case a
   * withdrawal was lost. (A lost withdrawal leaves that copy on its replica until it expires or is
   * overwritten; anti-entropy may spread it as the newer version.)
   */
  async create(entry: Entry, timeoutMs: number): Promise<QuorumResult | { held: Entry | undefined }> {
    const replicas = this.replicaSet(entry.key);
    const required = majority(replicas.length);
    let refusals = 0;
    const request = { op: 'put', entry, ifAbsent: true } as const;
    const acks = replicas.map(async (id) => {
      if (id === this.nodeId) return this.applyPut(entry) === 'stored';
      const res = await this.requireRpc().call(this.peerIdOf(id), request, timeoutMs);
      if (res.outcome === 'held') refusals++;
      return res.outcome === 'stored';
    });
    const acknowledged = await countUntil(acks, required, timeoutMs);
    if (acknowledged >= required || refusals === 0) {
      return { acknowledged, required, replicas: replicas.length };
    }
    const version = versionOf(entry);
    this.options.store.withdraw(entry.key, version);
    const withdrawal = { op: 'withdraw', key: entry.key, version } as const;
    await Promise.allSettled(
      replicas
        .filter((id) => id !== this.nodeId)
        .map((id) => this.requireRpc().call(this.peerIdOf(id), withdrawal, timeoutMs)),
    );
    return { held: await this.read(entry.key, version) };
  }

  /** Local store first; on a miss, a read quorum of the replica set (see `read`). */
  async get(key: string): Promise<Entry | undefined> {
    return this.read(key);
  }

  /**
   * Local store first; on a miss, a read quorum of the replica set. A write answered 201 is on a
   * majority of its replicas, and any two majorities of one set intersect, so asking enough replicas to
   * make a majority together with this node (when it is one) sees every quorum write: with R = 3 that
   * is one other replica, not two. If one of them does not answer, the remaining replicas and then the
   * other members are asked (they may hold it after a membership change) before answering a miss.
   */
  private async read(key: string, ignored?: EntryVersion): Promise<Entry | undefined> {
    const local = this.options.store.get(key);
    if (local) return local;
    // A local tombstone does not end the read: this node may have been told of a delete, not of a
    // newer write placed elsewhere. It still hides every version it covers.
    const read: RemoteRead = {
      best: undefined,
      tombstone: this.options.store.tombstone(key),
      unanswered: false,
      ignored,
    };
    const replicas = this.replicaSet(key);
    const selfIsReplica = replicas.includes(this.nodeId);
    const others = replicas.filter((id) => id !== this.nodeId);
    const needed = Math.max(0, majority(replicas.length) - (selfIsReplica ? 1 : 0));
    await this.remoteGet(key, others.slice(0, needed), read);
    if (read.unanswered) {
      read.unanswered = false;
      await this.remoteGet(key, others.slice(needed), read);
      const rest = this.memberIds().filter((id) => !replicas.includes(id));
      if (!read.best) await this.remoteGet(key, rest, read);
    }
    const found = read.best;
    if (!found) return undefined;
    if (read.tombstone && compareVersions(read.tombstone.version, versionOf(found)) >= 0) return undefined;
    // Read repair: a replica that missed the write gets it now.
    if (selfIsReplica) this.applyPut(found);
    return found;
  }

  async delete(key: string, timeoutMs: number): Promise<QuorumResult & { existed: boolean }> {
    const current = await this.get(key);
    const replicas = this.replicaSet(key);
    const required = majority(replicas.length);
    if (!current) return { acknowledged: 0, required, replicas: replicas.length, existed: false };
    const tombstone = this.tombstoneFor(current, 'deleted');
    // Every member gets the tombstone (a former replica may still hold a copy); the quorum counts replicas.
    const results = this.broadcastTombstone(tombstone, timeoutMs);
    const acks = replicas.map(async (id) => (await results.get(id)) === true);
    const acknowledged = await countUntil(acks, required, timeoutMs);
    return { acknowledged, required, replicas: replicas.length, existed: true };
  }

  /**
   * Read-once. The burn claims the key on its replicas with a tombstone; a replica accepts only the
   * first claim it sees (it then holds the tombstone and refuses any later one), so of concurrent burns
   * at most one can collect a majority of acceptances, and only that one returns the value.
   *
   * Claims go to the key's first-ranked replica before the others: it serialises concurrent burns (the
   * losers are refused there and stop), so contention does not split the replicas' votes and lose the
   * value. If that replica does not answer, the claims go to all replicas at once; then a split vote
   * can leave no winner. A burn that fails to reach a majority returns nothing, and the replicas that
   * accepted it have dropped the value: a read-once value may be lost, never delivered twice.
   */
  async burn(key: string, timeoutMs: number): Promise<Entry | undefined> {
    const current = await this.get(key);
    if (!current) return undefined;
    const tombstone = this.tombstoneFor(current, 'burned');
    const [first, ...rest] = this.replicaSet(key);
    if (first === undefined) return undefined;
    const required = majority(rest.length + 1);
    const deadline = Date.now() + timeoutMs;
    let firstAccepted = 0;
    try {
      if (!(await this.claimOn(first, tombstone, timeoutMs))) return undefined;
      firstAccepted = 1;
    } catch {
      // The first replica is unreachable: fall back to claiming on the others in parallel.
    }
    const claims = rest.map((id) => this.claimOn(id, tombstone, Math.max(1, deadline - Date.now())));
    const accepted =
      firstAccepted +
      (await countUntil(claims, required - firstAccepted, Math.max(1, deadline - Date.now())));
    if (accepted < required) return undefined;
    const replicas = [first, ...rest];
    for (const id of this.memberIds().filter((m) => !replicas.includes(m))) {
      void this.sendTombstone(id, tombstone, timeoutMs).catch(() => undefined);
    }
    return current;
  }

  private async claimOn(id: string, tombstone: Tombstone, timeoutMs: number): Promise<boolean> {
    if (id === this.nodeId) return this.claimBurn(tombstone).accepted;
    const res = await this.requireRpc().call(this.peerIdOf(id), { op: 'burn', tombstone }, timeoutMs);
    return res.accepted;
  }

  // ---- replica-side operations --------------------------------------------------------------------

  private applyPut(entry: Entry): 'stored' | 'stale' | 'expired' | 'tombstoned' | 'full' {
    const outcome = this.options.store.apply(entry);
    if (outcome === 'stored') {
      this.options.metrics?.replicationLag?.observe(Math.max(0, Date.now() - entry.createdAt) / 1000);
      return outcome;
    }
    // Holding exactly this version already (a retry, or the accepting node stored it first) is an ack.
    const held = this.options.store.get(entry.key);
    if (outcome === 'stale' && held && compareVersions(versionOf(held), versionOf(entry)) === 0)
      return 'stored';
    return outcome;
  }

  /** A first write (see `create`): refused while another version of the key is held. */
  private applyFirstWrite(entry: Entry): PutOutcome {
    const held = this.options.store.get(entry.key);
    if (held && compareVersions(versionOf(held), versionOf(entry)) !== 0) return 'held';
    return this.applyPut(entry);
  }

  private applyTombstone(tombstone: Tombstone): { existed: boolean; applied: boolean } {
    const held = this.options.store.get(tombstone.key);
    // A write newer than the delete (the owner wrote again afterwards) survives it.
    if (held && compareVersions(versionOf(held), tombstone.version) > 0)
      return { existed: false, applied: false };
    return { existed: this.options.store.remove(tombstone) !== undefined, applied: true };
  }

  private claimBurn(tombstone: Tombstone): { accepted: boolean; entry?: Entry } {
    const store = this.options.store;
    // Synchronous check-then-remove: no other claim can interleave on this replica.
    if (store.tombstone(tombstone.key)) return { accepted: false };
    const held = store.get(tombstone.key);
    if (held && compareVersions(versionOf(held), tombstone.version) > 0) return { accepted: false };
    const removed = store.remove(tombstone);
    return removed ? { accepted: true, entry: removed } : { accepted: true };
  }

  private async handle(envelope: Envelope, from: PeerId): Promise<Response> {
    const id = from.toString();
    if (envelope.enclave !== this.options.enclave) {
      this.membership?.forget(id);
      return { op: 'error', error: 'enclave mismatch' };
    }
    const replay = this.replay.check(id, envelope.id, envelope.ts);
    if (replay) return { op: 'error', error: replay };
    const body = envelope.body;
    if (body.op === 'hello') {
      if (body.enclave !== this.options.enclave) {
        this.membership?.forget(id);
        return { op: 'error', error: 'enclave mismatch' };
      }
      this.requireMembership().admit(from, body);
      return { op: 'hello', ...this.hello() };
    }
    if (!this.membership?.isMember(id)) return { op: 'error', error: 'not a member' };
    switch (body.op) {
      case 'put':
        return {
          op: 'put',
          outcome: body.ifAbsent ? this.applyFirstWrite(body.entry) : this.applyPut(body.entry),
        };
      case 'withdraw':
        return { op: 'withdraw', withdrawn: this.options.store.withdraw(body.key, body.version) };
      case 'get': {
        const entry = this.options.store.get(body.key);
        const tombstone = this.options.store.tombstone(body.key);
        return { op: 'get', ...(entry ? { entry } : {}), ...(tombstone ? { tombstone } : {}) };
      }
      case 'tombstone':
        return { op: 'tombstone', ...this.applyTombstone(body.tombstone) };
      case 'burn':
        return { op: 'burn', ...this.claimBurn(body.tombstone) };
      case 'digest':
        return { op: 'digest', ...this.digestFor(id, body.after, body.limit) };
      case 'pull': {
        const entries: Entry[] = [];
        for (const key of body.keys) {
          const entry = this.options.store.get(key);
          if (entry) entries.push(entry);
        }
        return { op: 'pull', entries };
      }
    }
  }

  // ---- membership -----------------------------------------------------------------------------------

  private hello(): Hello {
    const httpUrl = typeof this.httpUrl === 'function' ? this.httpUrl() : this.httpUrl;
    return {
      enclave: this.options.enclave,
      ...(httpUrl ? { httpUrl } : {}),
      addrs: this.listenAddresses().slice(0, 16),
      peers: this.requireMembership().exchange(),
    };
  }

  /** The hello exchange with a newly connected peer: enclave check, then admission and peer exchange. */
  private async handshake(peer: PeerId): Promise<void> {
    const id = peer.toString();
    const membership = this.requireMembership();
    if (membership.isMember(id) || this.handshaking.has(id)) return;
    this.handshaking.add(id);
    try {
      const res = await this.requireRpc().call(peer, { op: 'hello', ...this.hello() }, this.requestTimeoutMs);
      if (res.enclave !== this.options.enclave) {
        this.log('warn', `refused peer ${id}: enclave ${JSON.stringify(res.enclave.slice(0, 64))}`);
        membership.forget(id);
        await this.requireNode()
          .hangUp(peer)
          .catch(() => undefined);
        return;
      }
      membership.admit(peer, res);
    } catch (err) {
      if (err instanceof PeerRefusedError) {
        this.log('warn', `peer ${id} refused the hello: ${err.message}`);
        membership.forget(id);
        await this.requireNode()
          .hangUp(peer)
          .catch(() => undefined);
      }
    } finally {
      this.handshaking.delete(id);
    }
  }

  private async bootstrap(): Promise<void> {
    const membership = this.requireMembership();
    await Promise.all(
      (this.options.bootstrap ?? []).map(async (item) => {
        try {
          const target = parseBootstrapPeer(item);
          const addrs =
            target.kind === 'multiaddr'
              ? [target.addr]
              : await resolveHttpPeer(target.url, this.requestTimeoutMs);
          for (const addr of addrs) {
            const peerId = addr.getComponents().findLast((c) => c.name === 'p2p')?.value;
            if (!peerId || peerId === this.nodeId) continue;
            membership.remember({ peerId, addrs: [addr] });
          }
        } catch (err) {
          // The membership loop keeps redialing remembered peers; an unreachable seed is only logged.
          this.log('warn', `bootstrap peer ${item}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
    );
  }

  // ---- anti-entropy ---------------------------------------------------------------------------------

  private async antiEntropyRound(): Promise<void> {
    for (const id of this.memberIds()) await this.antiEntropyWith(peerIdFromString(id));
  }

  /**
   * Pulls from `peer` what this node should hold and lacks: its digest lists the unexpired entries and
   * tombstones placed on this node; entries newer than ours are pulled, tombstones newer than our entry
   * are applied. The store refuses expired entries and entries a tombstone covers, so nothing expired
   * or deleted is resurrected. Both sides run this on join, which makes the exchange symmetric.
   */
  async antiEntropyWith(peer: PeerId): Promise<void> {
    const id = peer.toString();
    if (this.syncing.has(id)) return;
    this.syncing.add(id);
    try {
      let after = '';
      for (;;) {
        const page = await this.requireRpc().call(
          peer,
          { op: 'digest', after, limit: 1_000 },
          this.requestTimeoutMs,
        );
        const missing = this.reconcile(page.items);
        for (let i = 0; i < missing.length; i += MAX_PULL_KEYS) {
          const keys = missing.slice(i, i + MAX_PULL_KEYS);
          const pulled = await this.requireRpc().call(peer, { op: 'pull', keys }, this.requestTimeoutMs);
          for (const entry of pulled.entries) this.applyPut(entry);
        }
        if (page.next === undefined) break;
        after = page.next;
      }
    } catch (err) {
      this.log('warn', `anti-entropy with ${id}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.syncing.delete(id);
    }
  }

  /** Applies newer tombstones and returns the keys whose entries must be pulled. */
  private reconcile(items: readonly DigestItem[]): string[] {
    const store = this.options.store;
    const now = Date.now();
    const missing: string[] = [];
    for (const item of items) {
      if (item.expiresAt <= now) continue;
      const held = store.get(item.key);
      const tombstone = store.tombstone(item.key);
      if (item.removed) {
        if (tombstone && compareVersions(item.version, tombstone.version) <= 0) continue;
        this.applyTombstone({
          key: item.key,
          version: item.version,
          expiresAt: item.expiresAt,
          reason: item.removed,
        });
        continue;
      }
      if (tombstone && compareVersions(item.version, tombstone.version) <= 0) continue;
      if (held && compareVersions(item.version, versionOf(held)) <= 0) continue;
      missing.push(item.key);
    }
    return missing;
  }

  /**
   * One page of the digest of what `requester` should hold, in key order after `after`. The first page
   * builds the sorted listing once (one pass over the store) and later pages slice it, so a full digest
   * costs O(n log n) rather than a pass over the store per page.
   */
  private digestFor(requester: string, after: string, limit: number): { items: DigestItem[]; next?: string } {
    let listing = this.digests.get(requester);
    if (after === '' || !listing || Date.now() - listing.builtAt > DIGEST_LISTING_TTL_MS) {
      listing = { items: this.buildDigest(requester), builtAt: Date.now() };
      this.digests.set(requester, listing);
    }
    const items = listing.items;
    // First index with key > after (binary search).
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((items[mid] as DigestItem).key <= after) lo = mid + 1;
      else hi = mid;
    }
    let end = Math.min(lo + Math.min(limit, MAX_DIGEST_PAGE), items.length);
    // Never split one key's entry and tombstone across pages.
    while (end < items.length && end > lo + 1 && items[end]?.key === items[end - 1]?.key) end--;
    const page = items.slice(lo, end);
    if (end >= items.length) {
      this.digests.delete(requester);
      return { items: page };
    }
    return { items: page, next: page[page.length - 1]?.key ?? after };
  }

  private buildDigest(requester: string): DigestItem[] {
    const members = [this.nodeId, ...this.memberIds()];
    const items: DigestItem[] = [];
    const belongs = (key: string): boolean => replicasFor(key, members, this.replication).includes(requester);
    for (const meta of this.options.store.entries()) {
      if (belongs(meta.key))
        items.push({ key: meta.key, version: versionOf(meta), expiresAt: meta.expiresAt });
    }
    for (const t of this.options.store.tombstones()) {
      if (belongs(t.key))
        items.push({ key: t.key, version: t.version, expiresAt: t.expiresAt, removed: t.reason });
    }
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return items;
  }

  // ---- helpers --------------------------------------------------------------------------------------

  private replicaSet(key: string): string[] {
    return replicasFor(key, [this.nodeId, ...this.memberIds()], this.replication);
  }

  private tombstoneFor(entry: Entry, reason: 'deleted' | 'burned'): Tombstone {
    // Versioned at "now" on this node (and strictly after the entry it removes, whatever the node ids),
    // so it also covers older writes a replica has not seen yet; a write after the delete survives it.
    return {
      key: entry.key,
      version: { createdAt: Math.max(Date.now(), entry.createdAt + 1), nodeId: this.nodeId },
      expiresAt: entry.expiresAt,
      reason,
    };
  }

  private broadcastTombstone(tombstone: Tombstone, timeoutMs: number): Map<string, Promise<boolean>> {
    const results = new Map<string, Promise<boolean>>();
    results.set(this.nodeId, Promise.resolve(this.applyTombstone(tombstone).applied));
    for (const id of this.memberIds())
      results.set(
        id,
        this.sendTombstone(id, tombstone, timeoutMs).catch(() => false),
      );
    return results;
  }

  private async sendTombstone(id: string, tombstone: Tombstone, timeoutMs: number): Promise<boolean> {
    const res = await this.requireRpc().call(this.peerIdOf(id), { op: 'tombstone', tombstone }, timeoutMs);
    return res.applied;
  }

  /** Asks peers in parallel and folds their answers into `read` (highest version, newest tombstone). */
  private async remoteGet(key: string, peers: readonly string[], read: RemoteRead): Promise<void> {
    if (peers.length === 0) return;
    const answers = await Promise.allSettled(
      peers.map((id) => this.requireRpc().call(this.peerIdOf(id), { op: 'get', key }, this.requestTimeoutMs)),
    );
    for (const answer of answers) {
      if (answer.status !== 'fulfilled') {
        read.unanswered = true;
        continue;
      }
      const { entry, tombstone } = answer.value;
      if (
        entry &&
        entry.expiresAt > Date.now() &&
        !(read.ignored && compareVersions(versionOf(entry), read.ignored) === 0) &&
        (!read.best || compareVersions(versionOf(entry), versionOf(read.best)) > 0)
      ) {
        read.best = entry;
      }
      if (tombstone && (!read.tombstone || compareVersions(tombstone.version, read.tombstone.version) > 0)) {
        read.tombstone = tombstone;
      }
    }
  }

  private requireNode(): ClusterLibp2p {
    if (!this.node) throw new Error('the cluster is not started');
    return this.node;
  }

  private peerIdOf(id: string): PeerId {
    return this.membership?.peerIdOf(id) ?? peerIdFromString(id);
  }

  private requireRpc(): RpcClient {
    if (!this.rpc) throw new Error('the cluster is not started');
    return this.rpc;
  }

  private requireMembership(): Membership {
    if (!this.membership) throw new Error('the cluster is not started');
    return this.membership;
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.options.log?.(level, message);
  }
}

/** What a read has learned from the peers asked so far. */
interface RemoteRead {
  best: Entry | undefined;
  tombstone: Tombstone | undefined;
  unanswered: boolean;
  /** A version withdrawn by this node (a first write that did not reach its quorum), not to be read. */
  readonly ignored?: EntryVersion | undefined;
}

function ipProto(host: string): string {
  if (host.includes(':')) return 'ip6';
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : 'dns';
}

/**
 * Resolves with the number of `true` results once `required` of them arrived, all settled, or the
 * timeout passed — whichever is first (Redis `WAIT` semantics: the count is reported either way).
 * Rejections count as negative answers.
 */
function countUntil(
  results: readonly Promise<boolean>[],
  required: number,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve) => {
    let yes = 0;
    let settled = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(yes);
    };
    const timer = setTimeout(finish, timeoutMs);
    for (const r of results) {
      r.then(
        (ok) => {
          if (done) return;
          if (ok) yes++;
          settled++;
          if (yes >= required || settled === results.length) finish();
        },
        () => {
          if (done) return;
          settled++;
          if (settled === results.length) finish();
        },
      );
    }
    if (results.length === 0) finish();
  });
}
