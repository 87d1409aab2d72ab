import type { Cluster, Entry, LocalStore, PeerView, QuorumResult } from '../types.js';

const SELF: QuorumResult = { acknowledged: 1, required: 1, replicas: 1 };

/**
 * A node without peers: its local store is the whole replica set, so every write that the store holds
 * has its quorum, and a burn is one atomic local removal.
 */
export class SingleNodeCluster implements Cluster {
  constructor(
    readonly nodeId: string,
    private readonly store: LocalStore,
  ) {}

  /** Acknowledged when the store holds exactly this version (applied now or by the caller before). */
  async put(entry: Entry, _timeoutMs: number): Promise<QuorumResult> {
    const outcome = this.store.apply(entry);
    const held = this.store.get(entry.key);
    const holds =
      outcome === 'stored' ||
      (held !== undefined && held.createdAt === entry.createdAt && held.origin === entry.origin);
    return holds ? SELF : { acknowledged: 0, required: 1, replicas: 1 };
  }

  /** The caller found the key absent here, and here is the whole replica set: a plain put. */
  async create(entry: Entry, timeoutMs: number): Promise<QuorumResult> {
    return this.put(entry, timeoutMs);
  }

  async get(key: string): Promise<Entry | undefined> {
    return this.store.get(key);
  }

  async delete(key: string, _timeoutMs: number): Promise<QuorumResult & { existed: boolean }> {
    const removed = this.removeLocal(key, 'deleted');
    return { ...SELF, existed: removed !== undefined };
  }

  async burn(key: string, _timeoutMs: number): Promise<Entry | undefined> {
    return this.removeLocal(key, 'burned');
  }

  peers(): readonly PeerView[] {
    return [];
  }

  listenAddresses(): readonly string[] {
    return [];
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  private removeLocal(key: string, reason: 'deleted' | 'burned'): Entry | undefined {
    const held = this.store.get(key);
    if (held === undefined) return undefined;
    return this.store.remove({
      key,
      version: { createdAt: Math.max(Date.now(), held.createdAt), nodeId: this.nodeId },
      expiresAt: held.expiresAt,
      reason,
    });
  }
}
