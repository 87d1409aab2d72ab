import { generateKeyPair } from '@libp2p/crypto/keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeMetrics } from '../src/metrics.js';
import { LibP2PCluster } from '../src/network/cluster.js';
import { replicasFor } from '../src/network/placement.js';
import { MemoryStore } from '../src/store/memory-store.js';
import {
  FAST,
  makeEntry,
  nth,
  startCluster,
  stopAll,
  type TestNode,
  text,
  uniqueKey,
  waitFor,
} from './network-helpers.js';

const metricValue = async (metrics: ReturnType<typeof createNodeMetrics>, name: string): Promise<number> => {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return Number(m?.values[0]?.value ?? 0);
};

describe('failure detection, node loss mid-write and rejoin', () => {
  let nodes: TestNode[];
  const metrics = createNodeMetrics();
  let restarted: TestNode | undefined;

  beforeAll(async () => {
    nodes = await startCluster(5, {});
  });
  afterAll(async () => {
    await stopAll(restarted ? [...nodes.slice(0, 4), restarted] : nodes);
  });

  it('keeps reaching quorum while a replica is killed mid-write, evicts it, and lets it rejoin and catch up', async () => {
    // Observe membership metrics on the node that will watch the victim die and come back.
    const victimKey = await generateKeyPair('Ed25519');
    const victimStore = new MemoryStore({ sweepIntervalMs: 0 });
    const victim = new LibP2PCluster({
      store: victimStore,
      privateKey: victimKey,
      enclave: 'test',
      listenHost: '127.0.0.1',
      listenPort: 0,
      ...FAST,
      bootstrap: nth(nodes, 0).cluster.listenAddresses(),
    });
    await victim.start();
    // Replace node 4 by the victim so its identity can be reused on restart.
    await nth(nodes, 4).cluster.stop();
    nth(nodes, 4).store.close();
    nodes[4] = { cluster: victim, store: victimStore, id: victim.nodeId };
    const meshed = (): boolean =>
      nodes.every(
        (n) =>
          n.cluster.memberIds().length === 4 &&
          nodes.every((m) => m === n || n.cluster.memberIds().includes(m.id)),
      );
    await waitFor(meshed, 5_000, 'mesh with the victim, the stopped node evicted');

    const writer = nth(nodes, 0);
    const keys: string[] = [];
    const writes: Promise<{ acknowledged: number; required: number }>[] = [];
    for (let i = 0; i < 60; i++) {
      const key = uniqueKey('midwrite');
      keys.push(key);
      writes.push(writer.cluster.put(makeEntry(writer, key, `v${i}`), 2_000));
      if (i === 20) await victim.stop(); // killed while writes are in flight
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const results = await Promise.all(writes);
    for (const r of results) expect(r.acknowledged).toBeGreaterThanOrEqual(r.required);

    const live = nodes.slice(0, 4);
    await waitFor(() => live.every((n) => !n.cluster.memberIds().includes(victim.nodeId)), 3_000, 'eviction');
    for (const key of keys) expect(text(await nth(live, key.length % 4).cluster.get(key))).toMatch(/^v\d+$/);

    // With the victim gone, new writes are placed on live members only: all three replicas get them.
    const afterKey = uniqueKey('after');
    const after = await writer.cluster.put(makeEntry(writer, afterKey, 'x'), 2_000);
    expect(after.replicas).toBe(3);
    expect(after.acknowledged).toBeGreaterThanOrEqual(2);
    await waitFor(
      () => live.filter((n) => n.store.get(afterKey) !== undefined).length === 3,
      2_000,
      'live replicas',
    );

    // The victim restarts with the same identity (empty memory) and rejoins through one seed.
    const restartedStore = new MemoryStore({ sweepIntervalMs: 0 });
    const again = new LibP2PCluster({
      store: restartedStore,
      privateKey: victimKey,
      enclave: 'test',
      listenHost: '127.0.0.1',
      listenPort: 0,
      ...FAST,
      bootstrap: nth(nodes, 1).cluster.listenAddresses(),
      metrics,
    });
    await again.start();
    restarted = { cluster: again, store: restartedStore, id: again.nodeId };
    expect(again.nodeId).toBe(victim.nodeId);
    await waitFor(() => again.memberIds().length === 4, 5_000, 'rejoin');
    await waitFor(
      () => live.every((n) => n.cluster.memberIds().includes(again.nodeId)),
      5_000,
      'rejoin seen by all',
    );
    expect(await metricValue(metrics, 'repram_peer_joins_total')).toBe(4);
    expect(await metricValue(metrics, 'repram_peers_active')).toBe(4);

    // Anti-entropy on join hands it every key the 5-member placement gives it.
    const all = [...live.map((n) => n.id), again.nodeId];
    const mine = keys.filter((k) => replicasFor(k, all, 3).includes(again.nodeId));
    expect(mine.length).toBeGreaterThan(0);
    await waitFor(() => mine.every((k) => restartedStore.get(k) !== undefined), 5_000, 'catch-up');
  });

  it('counts ping failures and evictions of a vanished peer', async () => {
    if (!restarted) throw new Error('the previous test did not restart the victim');
    const watcher = restarted;
    const watcherMetrics = metrics;
    const target = nth(nodes, 3);
    const failuresBefore = await metricValue(watcherMetrics, 'repram_ping_failures_total');
    await target.cluster.denyPeers([watcher.id]);
    await watcher.cluster.denyPeers([target.id]);
    await waitFor(() => !watcher.cluster.memberIds().includes(target.id), 3_000, 'eviction');
    expect(await metricValue(watcherMetrics, 'repram_peers_active')).toBe(3);
    // denyPeers evicts directly; lifting it and cutting the link without telling the watcher tests pings.
    watcher.cluster.allowPeers([target.id]);
    target.cluster.allowPeers([watcher.id]);
    await waitFor(() => watcher.cluster.memberIds().includes(target.id), 5_000, 'redial after heal');
    await target.cluster.stop();
    await waitFor(() => !watcher.cluster.memberIds().includes(target.id), 3_000, 'eviction by pings');
    expect(await metricValue(watcherMetrics, 'repram_ping_failures_total')).toBeGreaterThan(failuresBefore);
    expect(await metricValue(watcherMetrics, 'repram_peer_evictions_total')).toBeGreaterThanOrEqual(1);
  });
});

describe('a 2-node partition and heal', () => {
  let nodes: TestNode[];
  beforeAll(async () => {
    nodes = await startCluster(5);
  });
  afterAll(async () => {
    await stopAll(nodes);
  });

  it('keeps serving on both sides and converges after the partition heals', async () => {
    const majoritySide = nodes.slice(0, 3);
    const minoritySide = nodes.slice(3);
    for (const n of majoritySide) await n.cluster.denyPeers(minoritySide.map((m) => m.id));
    for (const n of minoritySide) await n.cluster.denyPeers(majoritySide.map((m) => m.id));
    await waitFor(
      () =>
        majoritySide.every((n) => n.cluster.memberIds().length === 2) &&
        minoritySide.every((n) => n.cluster.memberIds().length === 1),
      3_000,
      'partition',
    );

    const written = new Map<string, string>();
    for (let i = 0; i < 30; i++) {
      const side = i % 3 === 0 ? minoritySide : majoritySide;
      const writer = nth(side, i % side.length);
      const key = uniqueKey('partition');
      const res = await writer.cluster.put(makeEntry(writer, key, `p${i}`), 2_000);
      expect(res.acknowledged).toBeGreaterThanOrEqual(res.required);
      written.set(key, `p${i}`);
    }
    // A key deleted on the majority side while the minority still holds nothing of it stays deleted.
    const doomed = uniqueKey('partition-deleted');
    await nth(nodes, 0).cluster.put(makeEntry(nth(nodes, 0), doomed, 'gone'), 2_000);
    expect((await nth(nodes, 1).cluster.delete(doomed, 2_000)).existed).toBe(true);

    for (const n of nodes) n.cluster.allowPeers(nodes.map((m) => m.id).filter((id) => id !== n.id));
    await waitFor(() => nodes.every((n) => n.cluster.memberIds().length === 4), 8_000, 'heal');

    const ids = nodes.map((n) => n.id);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    await waitFor(
      () =>
        [...written.keys()].every((key) =>
          replicasFor(key, ids, 3).every((id) => byId.get(id)?.store.get(key) !== undefined),
        ),
      8_000,
      'convergence of every replica set',
    );
    for (const [key, value] of written) {
      for (const n of nodes) expect(text(await n.cluster.get(key))).toBe(value);
    }
    for (const n of nodes) expect(await n.cluster.get(doomed)).toBeUndefined();
  });
});
