/**
 * The contract between the node's parts: the store (memory), the HTTP API, the network (libp2p
 * replication) and deletion attestations. Each part depends on these types, not on the others' code.
 *
 * Times are absolute milliseconds since the Unix epoch. The node that accepts a client write sets
 * `createdAt` and `expiresAt` once; replicas keep them as received, so an entry expires at the same
 * instant everywhere (REPRAM used a relative TTL per hop, so replicas drifted later).
 */

/** Who may overwrite or delete an entry: registered by the first PUT, proven by later writes and deletes. */
export type WriteCapability =
  /** SHA-256 of a secret write token; a later request proves ownership by presenting the token. */
  | { readonly kind: 'token-sha256'; readonly hash: Uint8Array }
  /** An Ed25519 public key; a later request proves ownership with a fresh signature by its private key. */
  | { readonly kind: 'ed25519'; readonly publicKey: Uint8Array };

/**
 * Orders writes to one key the same way on every replica: the higher `createdAt` wins, ties broken by
 * the accepting node's id (byte order), so concurrent writes converge instead of diverging by arrival order.
 */
export interface EntryVersion {
  readonly createdAt: number;
  readonly nodeId: string;
}

/** What a node knows about a stored value besides its bytes. */
export interface EntryMeta {
  readonly key: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** The TTL the writer asked for, in seconds (REPRAM's `X-Original-TTL`). */
  readonly ttlSeconds: number;
  /** Peer id of the node that accepted the client write (the version tie-breaker). */
  readonly origin: string;
  readonly capability?: WriteCapability;
  /** Set for compliance writes: deletion is attested under this salted commitment (see attestation/commitment.ts). */
  readonly keyCommitment?: string;
  /**
   * The writer asked for read-once (`X-Read-Once: true`): the value is served only by a burning read,
   * so a reader who ignores the link's read-once flag cannot read it and leave it in place.
   */
  readonly readOnce?: boolean;
}

export interface Entry extends EntryMeta {
  /** The ciphertext exactly as the client sent it; nodes never interpret it. */
  readonly value: Uint8Array;
}

/** Why an entry left a node; attestations carry it. */
export type RemovalReason = 'expired' | 'deleted' | 'burned';

/**
 * A deleted or burned key is remembered until the entry it replaced would have expired, so a late
 * replica or anti-entropy cannot resurrect it.
 */
export interface Tombstone {
  readonly key: string;
  readonly version: EntryVersion;
  readonly expiresAt: number;
  readonly reason: Exclude<RemovalReason, 'expired'>;
}

/** How many replicas hold a write (Redis `WAIT` style: the count is reported even when short of the quorum). */
export interface QuorumResult {
  /** Replicas (this node included when it is one) that acknowledged. */
  readonly acknowledged: number;
  /** Acknowledgements needed: a majority of the replica set. */
  readonly required: number;
  /** Size of the replica set the write was placed on. */
  readonly replicas: number;
}

/** A peer as `/v1/topology` shows it. */
export interface PeerView {
  readonly peerId: string;
  readonly addresses: readonly string[];
  readonly enclave: string;
  /** Base URL of the peer's client HTTP API, when it told us. */
  readonly httpUrl?: string;
  readonly lastSeenAt: number;
  readonly status: 'alive' | 'suspect';
}

/**
 * The cluster as the HTTP API uses it. A node without peers uses a single-node implementation (the
 * local store is the whole replica set); the libp2p network implements the same interface.
 */
export interface Cluster {
  /** This node's peer id (also its attestation signing identity). */
  readonly nodeId: string;
  /** Places a locally accepted entry (or overwrite) on its replica set and waits for a majority or the timeout. */
  put(entry: Entry, timeoutMs: number): Promise<QuorumResult>;
  /**
   * Places a first write — one accepted while this node held nothing for the key — in one round trip:
   * a replica stores it only when it holds no live entry for the key either. When replicas hold one
   * (this node missed a write) and the write cannot reach its majority without them, it is withdrawn
   * from every node that took it and `held` is what a read of the cluster finds for the key: the caller
   * judges the request against that entry like any overwrite.
   */
  create(entry: Entry, timeoutMs: number): Promise<QuorumResult | { readonly held: Entry | undefined }>;
  /** The entry from the local store, or from a replica on a local miss; undefined when absent or expired. */
  get(key: string): Promise<Entry | undefined>;
  /** Deletes the key on its replica set (a tombstone), after the caller has proven ownership. */
  delete(key: string, timeoutMs: number): Promise<QuorumResult & { existed: boolean }>;
  /**
   * Read-once: returns the entry and removes it cluster-wide. Of any number of concurrent burns of one
   * key, at most one returns the entry.
   */
  burn(key: string, timeoutMs: number): Promise<Entry | undefined>;
  peers(): readonly PeerView[];
  /** libp2p multiaddrs others can dial (with `/p2p/<peerId>`), for `REPRAM_PEERS` given as `host:httpPort`. */
  listenAddresses(): readonly string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A replica's signed statement that it no longer holds a compliance entry. */
export interface DeletionAttestation {
  readonly keyCommitment: string;
  /** RFC 3339 with milliseconds. */
  readonly deletedAt: string;
  readonly reason: RemovalReason;
  /** The signing node's libp2p peer id; its Ed25519 public key is embedded in it. */
  readonly nodeId: string;
  /** base64url Ed25519 signature over the canonical payload (see attestation/ for the exact bytes). */
  readonly signature: string;
}

/** Called by the store for every entry that leaves this node (sweep, delete, burn, overwrite excluded). */
export type RemovalListener = (entry: EntryMeta, reason: RemovalReason, at: number) => void;

/** The node's in-memory store as the network and attestation parts use it. */
export interface LocalStore {
  /** The unexpired entry, or undefined. */
  get(key: string): Entry | undefined;
  /**
   * Applies a write (a client's or a replica's) when it is newer than what is held, not tombstoned and
   * not expired; the value bytes are copied.
   */
  apply(entry: Entry): 'stored' | 'stale' | 'expired' | 'tombstoned' | 'full';
  /** Removes the key and remembers the tombstone; returns the removed entry (atomic: one caller gets it). */
  remove(tombstone: Tombstone): Entry | undefined;
  /** Removes the key only when exactly `version` is held, without a tombstone or removal listeners (see Cluster.create). */
  withdraw(key: string, version: EntryVersion): boolean;
  tombstone(key: string): Tombstone | undefined;
  /** Unexpired entries' metadata (anti-entropy digests, owner key listings). */
  entries(): Iterable<EntryMeta>;
  tombstones(): Iterable<Tombstone>;
  readonly itemCount: number;
  readonly byteCount: number;
  onRemoved(listener: RemovalListener): void;
}

/** Signs with the node's libp2p Ed25519 identity key. */
export interface NodeSigner {
  /** The node's peer id (`12D3KooW…`), which embeds its Ed25519 public key. */
  readonly nodeId: string;
  sign(message: Uint8Array): Promise<Uint8Array>;
}
