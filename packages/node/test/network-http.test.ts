import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyCommitment, loadNodeConfig, type NodeHandle, runNode, verifyAttestation } from '../src/index.js';
import { nth, waitFor } from './network-helpers.js';

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

describe('a 3-node cluster over the client HTTP API (nodes as `persona node start` runs them)', () => {
  let dir: string;
  let nodes: NodeHandle[];

  const start = (index: number, peers?: string) =>
    runNode(
      loadNodeConfig({
        PERSONA_NODE_HOST: '127.0.0.1',
        REPRAM_HTTP_PORT: '0',
        REPRAM_GOSSIP_PORT: '0',
        REPRAM_RATE_LIMIT: '0',
        REPRAM_MIN_TTL: '1',
        REPRAM_WRITE_TIMEOUT: '2s',
        PERSONA_NODE_LOG_LEVEL: 'silent',
        PERSONA_NODE_DATA_DIR: join(dir, `node-${index}`),
        ...(peers ? { REPRAM_PEERS: peers } : {}),
      }),
      { timings: { pingIntervalMs: 200, pingTimeoutMs: 400, maxMissedPings: 2 } },
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'persona-net-http-'));
    const seed = await start(0);
    // REPRAM's form: host:httpPort; the nodes learn the seed's libp2p address from its /v1/topology.
    const seedHostPort = new URL(seed.url).host;
    nodes = [seed, await start(1, seedHostPort), await start(2, seedHostPort)];
    await waitFor(() => nodes.every((n) => n.cluster.peers().length === 2), 10_000, 'mesh');
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('uses a persistent libp2p identity stored 0600 in the data directory as the node id', async () => {
    const info = await stat(join(dir, 'node-0', 'node-key'));
    expect(info.mode & 0o777).toBe(0o600);
    const health = (await (await fetch(`${nth(nodes, 0).url}/v1/health`)).json()) as { node_id: string };
    expect(health.node_id).toMatch(/^12D3KooW/);
    const topology = (await (await fetch(`${nth(nodes, 1).url}/v1/topology`)).json()) as {
      addresses: string[];
      peers: { node_id: string; http_url?: string }[];
    };
    expect(topology.addresses.every((a) => a.endsWith(`/p2p/${nth(nodes, 1).nodeId}`))).toBe(true);
    expect(topology.peers.map((p) => p.node_id).sort()).toEqual(
      [nth(nodes, 0).nodeId, nth(nodes, 2).nodeId].sort(),
    );
    expect(topology.peers.map((p) => p.http_url).sort()).toEqual(
      [nth(nodes, 0).url, nth(nodes, 2).url].sort(),
    );
  });

  it('PUT on one node answers 201 at quorum; GET from every node returns the same bytes and expiry', async () => {
    const value = randomBytes(1024);
    const res = await fetch(`${nth(nodes, 0).url}/v1/data/cluster/one?ttl=60`, {
      method: 'PUT',
      body: value,
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      replicas: { acknowledged: number; required: number; total: number };
    };
    expect(body.replicas.required).toBe(2);
    expect(body.replicas.total).toBe(3);
    expect(body.replicas.acknowledged).toBeGreaterThanOrEqual(2);
    const expires = res.headers.get('x-expires-at');
    for (const n of nodes) {
      const got = await fetch(`${n.url}/v1/data/cluster/one`);
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).equals(value)).toBe(true);
      expect(got.headers.get('x-expires-at')).toBe(expires);
    }
  });

  it('keeps overwrite protection across nodes: only the token holder can overwrite or delete via another node', async () => {
    const token = randomBytes(32);
    const capability = `token-sha256=${b64u(createHash('sha256').update(token).digest())}`;
    const created = await fetch(`${nth(nodes, 0).url}/v1/data/cluster/owned`, {
      method: 'PUT',
      body: 'v1',
      headers: { 'x-write-capability': capability },
    });
    expect(created.status).toBe(201);
    const stranger = await fetch(`${nth(nodes, 1).url}/v1/data/cluster/owned`, {
      method: 'PUT',
      body: 'evil',
    });
    expect(stranger.status).toBe(403);
    const owner = await fetch(`${nth(nodes, 2).url}/v1/data/cluster/owned`, {
      method: 'PUT',
      body: 'v2',
      headers: { 'x-write-token': b64u(token) },
    });
    expect(owner.status).toBe(201);
    for (const n of nodes) expect(await (await fetch(`${n.url}/v1/data/cluster/owned`)).text()).toBe('v2');
    const del = await fetch(`${nth(nodes, 1).url}/v1/data/cluster/owned`, {
      method: 'DELETE',
      headers: { 'x-write-token': b64u(token) },
    });
    expect(del.status).toBe(204);
    for (const n of nodes) expect((await fetch(`${n.url}/v1/data/cluster/owned`)).status).toBe(404);
  });

  it('judges a first write on a node that missed the key against the replicas that hold it, in one round trip otherwise', async () => {
    const token = randomBytes(32);
    const capability = `token-sha256=${b64u(createHash('sha256').update(token).digest())}`;
    const key = 'cluster/missed';
    const url = (n: NodeHandle) => `${n.url}/v1/data/${key}`;
    expect(
      (
        await fetch(url(nth(nodes, 0)), {
          method: 'PUT',
          body: 'v1',
          headers: { 'x-write-capability': capability },
        })
      ).status,
    ).toBe(201);
    // Node 1 loses its copy, as a node that was away during the write never had one.
    const forget = () => {
      const held = nth(nodes, 1).store.get(key);
      if (!held) throw new Error('node 1 never received the write');
      expect(nth(nodes, 1).store.withdraw(key, { createdAt: held.createdAt, nodeId: held.origin })).toBe(
        true,
      );
    };
    forget();
    const strangerToken = randomBytes(32);
    const takeover = await fetch(url(nth(nodes, 1)), {
      method: 'PUT',
      body: 'evil',
      headers: {
        'x-write-capability': `token-sha256=${b64u(createHash('sha256').update(strangerToken).digest())}`,
      },
    });
    expect(takeover.status).toBe(403);
    // The refused write was taken back everywhere, and node 1 learnt the real entry while judging it.
    for (const n of nodes) {
      expect(Buffer.from(n.store.get(key)?.value ?? []).toString()).toBe('v1');
      expect(await (await fetch(url(n))).text()).toBe('v1');
    }
    // The owner proves the capability through a node that missed the key, and overwrites everywhere.
    forget();
    const owner = await fetch(url(nth(nodes, 1)), {
      method: 'PUT',
      body: 'v2',
      headers: { 'x-write-token': b64u(token) },
    });
    expect(owner.status).toBe(201);
    for (const n of nodes) {
      await waitFor(
        () => Buffer.from(n.store.get(key)?.value ?? []).toString() === 'v2',
        2_000,
        'v2 everywhere',
      );
    }
  });

  it('burns once across nodes: concurrent ?burn=true on all three returns the value exactly once', async () => {
    await fetch(`${nth(nodes, 1).url}/v1/data/cluster/burn`, {
      method: 'PUT',
      body: 'read-once',
      headers: { 'x-read-once': 'true' },
    });
    // Every node knows the value is read-once, replicas and the node without a copy alike.
    for (const n of nodes) expect((await fetch(`${n.url}/v1/data/cluster/burn`)).status).toBe(409);
    const results = await Promise.all(nodes.map((n) => fetch(`${n.url}/v1/data/cluster/burn?burn=true`)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 404, 404]);
    const winner = results.find((r) => r.status === 200);
    expect(await winner?.text()).toBe('read-once');
    for (const n of nodes) expect((await fetch(`${n.url}/v1/data/cluster/burn`)).status).toBe(404);
  });

  it('has every replica attest the deletion of a compliance entry, each signed by its own node key', async () => {
    const salt = randomBytes(16);
    const token = randomBytes(32);
    const put = await fetch(`${nth(nodes, 0).url}/v1/data/cluster/regulated`, {
      method: 'PUT',
      body: 'ciphertext',
      headers: {
        'x-compliance-salt': b64u(salt),
        'x-write-capability': `token-sha256=${b64u(createHash('sha256').update(token).digest())}`,
      },
    });
    expect(put.status).toBe(201);
    const deleted = await fetch(`${nth(nodes, 2).url}/v1/data/cluster/regulated`, {
      method: 'DELETE',
      headers: { 'x-write-token': b64u(token) },
    });
    expect(deleted.status).toBe(204);

    const commitment = keyCommitment(salt, 'cluster/regulated');
    const attestationsOf = async (node: NodeHandle) =>
      (
        (await (await fetch(`${node.url}/v1/attestations/${commitment}`)).json()) as {
          attestations: unknown[];
        }
      ).attestations;
    // Replicas apply the tombstone as the delete reaches them; give the last one a moment.
    const deadline = Date.now() + 5_000;
    let lists = await Promise.all(nodes.map(attestationsOf));
    while (!lists.every((list) => list.length === 1) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      lists = await Promise.all(nodes.map(attestationsOf));
    }
    for (const [index, node] of nodes.entries()) {
      const [attestation] = lists[index] ?? [];
      expect(attestation).toMatchObject({
        nodeId: node.nodeId,
        reason: 'deleted',
        keyCommitment: commitment,
      });
      // The node's answer adds its log's proof material; the attestation itself is these five fields.
      const {
        keyCommitment: c,
        deletedAt,
        reason,
        nodeId,
        signature,
      } = attestation as Record<string, unknown>;
      expect(await verifyAttestation({ keyCommitment: c, deletedAt, reason, nodeId, signature })).toEqual({
        valid: true,
      });
    }
  });
});
