import { randomBytes } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Libp2p } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { toBase64Url } from '@personachain/crypto';
import { createLibp2p } from 'libp2p';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeResponse,
  type Envelope,
  encodeFrame,
  REPLICATION_PROTOCOL,
  type Request,
  type Response,
} from '../src/network/protocol.js';
import { call } from '../src/network/rpc.js';
import { createSwarmKey } from '../src/network/swarm-key.js';
import {
  makeEntry,
  nth,
  startCluster,
  startNode,
  stopAll,
  type TestNode,
  uniqueKey,
  waitFor,
} from './network-helpers.js';

/** A bare libp2p node speaking the replication protocol by hand, as an attacker or a buggy peer would. */
async function rawNode(swarmKey?: Uint8Array): Promise<Libp2p> {
  const node = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(swarmKey ? { connectionProtector: preSharedKey({ psk: swarmKey }) } : {}),
    connectionGater: { denyDialMultiaddr: () => false },
  });
  return node;
}

/** Sends one exact envelope (so tests can replay it) and returns the decoded answer. */
async function sendEnvelope(from: Libp2p, to: TestNode, envelope: Envelope): Promise<Response> {
  const stream = await from.dialProtocol(
    multiaddr(nth(to.cluster.listenAddresses(), 0)),
    REPLICATION_PROTOCOL,
  );
  const lp = lpStream(stream);
  await lp.write(encodeFrame(envelope));
  const frame = await lp.read();
  await stream.close();
  return decodeResponse(frame.subarray(), envelope.body.op);
}

/** Ids as senders make them (see replay-guard.ts): a random prefix and a growing counter. */
const ID_PREFIX = toBase64Url(randomBytes(9));
let sent = 0;
const envelope = (body: Request, enclave = 'test', ts = Date.now()): Envelope => ({
  id: `${ID_PREFIX}.${(++sent).toString(36)}`,
  ts,
  enclave,
  body,
});

describe('enclaves: a swarm key (libp2p private network) plus the enclave name', () => {
  const swarmKey = createSwarmKey();
  let nodes: TestNode[];
  const extra: { stop(): void | Promise<void> }[] = [];

  beforeAll(async () => {
    nodes = await startCluster(3, { swarmKey });
  });
  afterEach(async () => {
    await Promise.all(extra.splice(0).map((n) => n.stop()));
  });
  afterAll(async () => {
    await stopAll(nodes);
  });

  it('an outside peer without the key cannot connect, join or inject a write', async () => {
    const outsider = await startNode({ bootstrap: nth(nodes, 0).cluster.listenAddresses() });
    extra.push(outsider.cluster);
    const wrongKey = await startNode({
      swarmKey: createSwarmKey(),
      bootstrap: nth(nodes, 0).cluster.listenAddresses(),
    });
    extra.push(wrongKey.cluster);
    const raw = await rawNode();
    extra.push(raw);

    const key = uniqueKey('inject');
    const target = peerIdFromString(nth(nodes, 0).id);
    await raw.peerStore.merge(target, {
      multiaddrs: [multiaddr(nth(nth(nodes, 0).cluster.listenAddresses(), 0))],
    });
    await expect(
      call(raw, target, 'test', { op: 'put', entry: makeEntry(nth(nodes, 0), key, 'evil') }, 1_000),
    ).rejects.toThrow();

    await new Promise((r) => setTimeout(r, 500)); // several ping/redial rounds
    expect(outsider.cluster.memberIds()).toEqual([]);
    expect(wrongKey.cluster.memberIds()).toEqual([]);
    for (const n of nodes) {
      expect(n.cluster.memberIds()).toHaveLength(2);
      expect(n.store.get(key)).toBeUndefined();
    }
  });

  it('a key holder of another enclave name is refused at the hello and cannot write', async () => {
    const other = await startNode({
      swarmKey,
      enclave: 'other',
      bootstrap: nth(nodes, 0).cluster.listenAddresses(),
    });
    extra.push(other.cluster);
    const raw = await rawNode(swarmKey);
    extra.push(raw);

    const key = uniqueKey('cross-enclave');
    const res = await sendEnvelope(
      raw,
      nth(nodes, 1),
      envelope({ op: 'put', entry: makeEntry(nth(nodes, 1), key, 'x') }, 'other'),
    );
    expect(res).toEqual({ op: 'error', error: 'enclave mismatch' });
    // Naming the right enclave is not enough: a put before a successful hello is refused.
    const notMember = await sendEnvelope(
      raw,
      nth(nodes, 1),
      envelope({ op: 'put', entry: makeEntry(nth(nodes, 1), key, 'x') }),
    );
    expect(notMember).toEqual({ op: 'error', error: 'not a member' });

    await new Promise((r) => setTimeout(r, 400));
    expect(other.cluster.memberIds()).toEqual([]);
    for (const n of nodes) {
      expect(n.cluster.memberIds()).not.toContain(other.id);
      expect(n.store.get(key)).toBeUndefined();
    }
  });

  it('refuses replayed and stale requests from a member (application-layer replay protection)', async () => {
    const raw = await rawNode(swarmKey);
    extra.push(raw);
    const hello = await sendEnvelope(
      raw,
      nth(nodes, 2),
      envelope({ op: 'hello', enclave: 'test', addrs: [], peers: [] }),
    );
    expect(hello.op).toBe('hello');

    const key = uniqueKey('replay');
    const put = envelope({ op: 'put', entry: makeEntry(nth(nodes, 2), key, 'once') });
    expect(await sendEnvelope(raw, nth(nodes, 2), put)).toEqual({ op: 'put', outcome: 'stored' });
    expect(await sendEnvelope(raw, nth(nodes, 2), put)).toEqual({ op: 'error', error: 'replayed' });
    const old = envelope({ op: 'get', key }, 'test', Date.now() - 120_000);
    expect(await sendEnvelope(raw, nth(nodes, 2), old)).toEqual({ op: 'error', error: 'stale-timestamp' });
    // Malformed input is answered with an error, not a crash.
    const bad = envelope({ op: 'get', key: '' });
    expect((await sendEnvelope(raw, nth(nodes, 2), bad)).op).toBe('error');
  });

  it('an allow-list of peer ids keeps out even a holder of the swarm key', async () => {
    const a = await startNode({ swarmKey });
    extra.push(a.cluster);
    const stranger = await startNode({ swarmKey, bootstrap: a.cluster.listenAddresses() });
    extra.push(stranger.cluster);
    const friendKey = await generateKeyPair('Ed25519');
    const guarded = await startNode({
      swarmKey,
      privateKey: friendKey,
      allowedPeers: [a.id],
      bootstrap: a.cluster.listenAddresses(),
    });
    extra.push(guarded.cluster);
    expect(guarded.id).toBe(peerIdFromPrivateKey(friendKey).toString());
    await waitFor(() => guarded.cluster.memberIds().includes(a.id), 3_000, 'allowed peer joins');
    await waitFor(() => a.cluster.memberIds().includes(stranger.id), 3_000, 'stranger meets a');
    // Peer exchange tells the guarded node about the stranger, but the gater refuses it.
    await new Promise((r) => setTimeout(r, 500));
    expect(guarded.cluster.memberIds()).toEqual([a.id]);
    expect(stranger.cluster.memberIds()).not.toContain(guarded.id);
  });
});
