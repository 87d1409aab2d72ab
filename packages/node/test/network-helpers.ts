import { generateKeyPair } from '@libp2p/crypto/keys';
import { LibP2PCluster, type LibP2PClusterOptions } from '../src/network/cluster.js';
import { MemoryStore } from '../src/store/memory-store.js';
import type { Entry } from '../src/types.js';

export interface TestNode {
  readonly cluster: LibP2PCluster;
  readonly store: MemoryStore;
  readonly id: string;
}

/** Short timings so failure detection and repair happen in well under a second. */
export const FAST = {
  pingIntervalMs: 150,
  pingTimeoutMs: 300,
  maxMissedPings: 2,
  antiEntropyIntervalMs: 60_000,
  requestTimeoutMs: 1_000,
} as const;

export async function startNode(overrides: Partial<LibP2PClusterOptions> = {}): Promise<TestNode> {
  const store = new MemoryStore({ sweepIntervalMs: 0 });
  const cluster = new LibP2PCluster({
    store,
    privateKey: await generateKeyPair('Ed25519'),
    enclave: 'test',
    listenHost: '127.0.0.1',
    listenPort: 0,
    replication: 3,
    ...FAST,
    ...overrides,
  });
  await cluster.start();
  return { cluster, store, id: cluster.nodeId };
}

/** Starts `n` nodes; all bootstrap from the first only, so full membership proves peer exchange. */
export async function startCluster(
  n: number,
  overrides: Partial<LibP2PClusterOptions> = {},
): Promise<TestNode[]> {
  const seed = await startNode(overrides);
  const rest = await Promise.all(
    Array.from({ length: n - 1 }, () => startNode({ ...overrides, bootstrap: [...seedAddrs(seed)] })),
  );
  const nodes = [seed, ...rest];
  await waitFor(() => nodes.every((node) => node.cluster.memberIds().length === n - 1), 10_000, 'full mesh');
  return nodes;
}

export function seedAddrs(node: TestNode): readonly string[] {
  return node.cluster.listenAddresses();
}

export async function stopAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(
    nodes.map(async (node) => {
      await node.cluster.stop();
      node.store.close();
    }),
  );
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let counter = 0;

/** An entry as the HTTP layer of `origin` would accept it. */
export function makeEntry(
  origin: TestNode,
  key: string,
  value: string,
  ttlMs = 60_000,
  createdAt = Date.now(),
): Entry {
  counter++;
  return {
    key,
    value: new TextEncoder().encode(value),
    createdAt,
    expiresAt: createdAt + ttlMs,
    ttlSeconds: Math.ceil(ttlMs / 1000),
    origin: origin.id,
  };
}

export function text(entry: Entry | undefined): string | undefined {
  return entry === undefined ? undefined : new TextDecoder().decode(entry.value);
}

export function uniqueKey(prefix: string): string {
  counter++;
  return `${prefix}/${counter}/${Math.random().toString(36).slice(2)}`;
}

/** `list[i]`, failing the test clearly instead of a non-null assertion. */
export function nth<T>(list: readonly T[], i: number): T {
  const item = list[i];
  if (item === undefined) throw new Error(`no item at index ${i}`);
  return item;
}
