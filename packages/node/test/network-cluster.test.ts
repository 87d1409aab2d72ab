import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replicasFor } from '../src/network/placement.js';
import {
  makeEntry,
  nth,
  startCluster,
  stopAll,
  type TestNode,
  text,
  uniqueKey,
  waitFor,
} from './network-helpers.js';

describe('a 5-node cluster on 127.0.0.1', () => {
  let nodes: TestNode[];
  const ids = (): string[] => nodes.map((n) => n.id);
  const holders = (key: string): string[] =>
    nodes.filter((n) => n.store.get(key) !== undefined).map((n) => n.id);

  beforeAll(async () => {
    nodes = await startCluster(5);
  });
  afterAll(async () => {
    await stopAll(nodes);
  });

  it('every node learns every other from one seed (peer exchange) and shows them in its topology', () => {
    for (const node of nodes) {
      const peers = node.cluster.peers();
      expect(peers.map((p) => p.peerId).sort()).toEqual(
        ids()
          .filter((id) => id !== node.id)
          .sort(),
      );
      for (const p of peers) {
        expect(p.enclave).toBe('test');
        expect(p.addresses.some((a) => a.includes(`/p2p/${p.peerId}`))).toBe(true);
      }
    }
  });

  it('places a write on its 3 rendezvous replicas, acknowledged by a majority, readable from every node', async () => {
    const key = uniqueKey('quorum');
    const entry = makeEntry(nth(nodes, 0), key, 'hello');
    const result = await nth(nodes, 0).cluster.put(entry, 2_000);
    expect(result.required).toBe(2);
    expect(result.replicas).toBe(3);
    expect(result.acknowledged).toBeGreaterThanOrEqual(2);
    const expected = replicasFor(key, ids(), 3).sort();
    await waitFor(() => holders(key).length === 3, 2_000, 'all replicas');
    expect(holders(key).sort()).toEqual(expected);
    // Every replica holds the same absolute expiry and version the accepting node set.
    for (const n of nodes.filter((n) => expected.includes(n.id))) {
      expect(n.store.get(key)?.expiresAt).toBe(entry.expiresAt);
      expect(n.store.get(key)?.origin).toBe(nth(nodes, 0).id);
    }
    for (const n of nodes) expect(text(await n.cluster.get(key))).toBe('hello');
  });

  it('orders concurrent and late writes by version on every replica (overwrite protection through replication)', async () => {
    const key = uniqueKey('version');
    const t = Date.now();
    const newer = makeEntry(nth(nodes, 1), key, 'newer', 60_000, t);
    const older = makeEntry(nth(nodes, 2), key, 'older', 60_000, t - 5_000);
    await nth(nodes, 1).cluster.put(newer, 2_000);
    // A late, older write (e.g. replayed by a confused client through another node) is refused everywhere.
    const late = await nth(nodes, 2).cluster.put(older, 2_000);
    expect(late.acknowledged).toBe(0);
    for (const n of nodes) expect(text(await n.cluster.get(key))).toBe('newer');

    // Two writes with the same createdAt from different nodes converge on the higher node id.
    const key2 = uniqueKey('tie');
    const [a, b] = [nth(nodes, 3), nth(nodes, 4)];
    await Promise.all([
      a.cluster.put(makeEntry(a, key2, 'from-a', 60_000, t), 2_000),
      b.cluster.put(makeEntry(b, key2, 'from-b', 60_000, t), 2_000),
    ]);
    const winner = a.id > b.id ? 'from-a' : 'from-b';
    for (const n of nodes) expect(text(await n.cluster.get(key2))).toBe(winner);
  });

  it('burns once: of concurrent burns on all five nodes exactly one gets the value, then it is gone', async () => {
    for (let round = 0; round < 5; round++) {
      const key = uniqueKey('burn');
      await nth(nodes, round).cluster.put(makeEntry(nth(nodes, round), key, `secret-${round}`), 2_000);
      const results = await Promise.all(nodes.map((n) => n.cluster.burn(key, 2_000)));
      const winners = results.filter((r) => r !== undefined);
      expect(winners.length).toBeLessThanOrEqual(1);
      // Uncontended replicas all answer within the timeout here, so one burn does win.
      expect(winners.length).toBe(1);
      expect(text(winners[0])).toBe(`secret-${round}`);
      for (const n of nodes) {
        expect(await n.cluster.get(key)).toBeUndefined();
        expect(await n.cluster.burn(key, 1_000)).toBeUndefined();
      }
    }
  });

  it('deletes with tombstones on the replica set; an older write cannot resurrect the key', async () => {
    const key = uniqueKey('delete');
    const entry = makeEntry(nth(nodes, 0), key, 'to-delete');
    await nth(nodes, 0).cluster.put(entry, 2_000);
    const res = await nth(nodes, 3).cluster.delete(key, 2_000);
    expect(res.existed).toBe(true);
    expect(res.acknowledged).toBeGreaterThanOrEqual(res.required);
    for (const n of nodes) expect(await n.cluster.get(key)).toBeUndefined();
    expect((await nth(nodes, 1).cluster.put(entry, 1_000)).acknowledged).toBe(0);
    expect((await nth(nodes, 2).cluster.delete(key, 1_000)).existed).toBe(false);
    // A new write by the owner after the delete is newer than the tombstone and is stored.
    const again = makeEntry(nth(nodes, 0), key, 'again', 60_000, Date.now() + 5);
    expect((await nth(nodes, 0).cluster.put(again, 2_000)).acknowledged).toBeGreaterThanOrEqual(2);
    expect(text(await nth(nodes, 4).cluster.get(key))).toBe('again');
  });

  it('anti-entropy pages through large digests and pulls what a replica lacks, tombstones included', async () => {
    const [a, b] = [nth(nodes, 0), nth(nodes, 1)];
    const keys: string[] = [];
    // Entries that reached only `a` (as if `b` had been away): 2,500 keys placed on both of them.
    for (let i = 0; keys.length < 2_500; i++) {
      const key = `ae/${i}`;
      const replicas = replicasFor(key, ids(), 3);
      if (!replicas.includes(a.id) || !replicas.includes(b.id)) continue;
      expect(a.store.apply(makeEntry(a, key, `ae-${i}`))).toBe('stored');
      keys.push(key);
    }
    const deleted = nth(keys, 7);
    a.store.remove({
      key: deleted,
      version: { createdAt: Date.now() + 1, nodeId: a.id },
      expiresAt: Date.now() + 60_000,
      reason: 'deleted',
    });
    expect(b.store.apply(makeEntry(a, deleted, 'stale copy', 60_000, Date.now() - 1_000))).toBe('stored');
    await b.cluster.antiEntropyWith(peer(a));
    expect(keys.filter((k) => k !== deleted).every((k) => b.store.get(k) !== undefined)).toBe(true);
    expect(b.store.get(deleted)).toBeUndefined();
    expect(b.store.tombstone(deleted)?.reason).toBe('deleted');
  });

  it('expires at the same absolute instant on every replica and never resurrects an expired entry', async () => {
    const key = uniqueKey('expiry');
    const entry = makeEntry(nth(nodes, 2), key, 'short', 600);
    await nth(nodes, 2).cluster.put(entry, 2_000);
    await waitFor(() => holders(key).length === 3, 2_000, 'replicas');
    const expiries = nodes.map((n) => n.store.get(key)?.expiresAt).filter((e) => e !== undefined);
    expect(new Set(expiries)).toEqual(new Set([entry.expiresAt]));
    await new Promise((r) => setTimeout(r, entry.expiresAt - Date.now() + 20));
    for (const n of nodes) expect(await n.cluster.get(key)).toBeUndefined();
    // Re-sending the expired entry and running anti-entropy between every pair do not bring it back.
    expect((await nth(nodes, 0).cluster.put(entry, 1_000)).acknowledged).toBe(0);
    for (const a of nodes) for (const b of nodes) if (a !== b) await a.cluster.antiEntropyWith(peer(b));
    expect(holders(key)).toEqual([]);
  });
});

function peer(node: TestNode): PeerId {
  return peerIdFromString(node.id);
}
