#!/usr/bin/env node
// Not a benchmark: the floor of the quorum section of bench/ephemeral-node.mjs. One node that does only
// what a quorum PUT needs, on the stack ARCHITECTURE.md chose (libp2p with TCP, Noise and yamux, as
// packages/node/src/network/cluster.ts builds it): an HTTP PUT keeps the value in a Map, sends it to every
// connected peer in a binary frame over one long-lived stream per peer (frames written in the same
// event-loop turn go out as one send, as rpc.ts does), and answers 201 at the first peer's
// acknowledgement (R = 3: itself and one more make the majority of 2). It leaves out all a real node
// needs: the envelope, JSON, versions, the replay guard, TTLs, metrics, rate limits, Fastify. Listens on
// 127.0.0.1; dials the multiaddrs in FLOOR_PEERS (comma-separated); prints `{"url","multiaddr"}` on stdout
// once listening; stops on SIGTERM. Never a way to run anything.
import { createServer } from 'node:http';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { tcp } from '@libp2p/tcp';
import { LengthPrefixedDecoder } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { encode as varint } from 'uint8-varint';

const PROTOCOL = '/persona-bench/floor-replicate/1';
const MAX_FRAME_BYTES = 11 * 1024 * 1024;
const ACK_TIMEOUT_MS = 2_000;

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: { inboundConnectionThreshold: 1_000 },
});

const values = new Map();

/** Length-prefixed frames on one stream: decoded as they arrive, written once per event-loop turn. */
function framed(stream, onFrame) {
  const decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_FRAME_BYTES });
  stream.addEventListener('message', (evt) => {
    for (const frame of decoder.decode(evt.data)) onFrame(frame.subarray());
  });
  let parts = [];
  let blocked = false;
  const flush = () => {
    if (blocked || parts.length === 0) return;
    const data = Buffer.concat(parts);
    parts = [];
    if (!stream.send(data)) blocked = true;
  };
  stream.addEventListener('drain', () => {
    blocked = false;
    flush();
  });
  return (frame) => {
    if (parts.length === 0) setImmediate(flush);
    parts.push(varint(frame.byteLength), frame);
  };
}

// A replica: frame = request id (4 bytes) | key length (2) | key | value; answer = the request id.
await node.handle(PROTOCOL, (stream) => {
  const write = framed(stream, (frame) => {
    const view = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    const keyLength = view.readUInt16BE(4);
    values.set(view.toString('utf8', 6, 6 + keyLength), view.subarray(6 + keyLength));
    write(view.subarray(0, 4));
  });
});

/** The coordinator's side: one stream per peer, acknowledgements matched to requests by id. */
const channels = new Map();
const pending = new Map();
let nextId = 0;

async function channelTo(peer) {
  const key = peer.toString();
  let channel = channels.get(key);
  if (!channel) {
    channel = node.dialProtocol(peer, PROTOCOL).then((stream) =>
      framed(stream, (frame) => {
        const id = Buffer.from(frame.buffer, frame.byteOffset, 4).readUInt32BE(0);
        pending.get(id)?.();
      }),
    );
    channels.set(key, channel);
  }
  return channel;
}

/** Sends the value to every peer; resolves true at the first acknowledgement, false after the timeout. */
async function replicate(key, value) {
  const peers = node.getPeers();
  if (peers.length === 0) return false;
  const id = nextId++ >>> 0;
  nextId %= 2 ** 32;
  const keyBytes = Buffer.from(key, 'utf8');
  const frame = Buffer.allocUnsafe(6 + keyBytes.length + value.length);
  frame.writeUInt32BE(id, 0);
  frame.writeUInt16BE(keyBytes.length, 4);
  keyBytes.copy(frame, 6);
  value.copy(frame, 6 + keyBytes.length);
  const acknowledged = new Promise((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve(false);
    }, ACK_TIMEOUT_MS);
    pending.set(id, () => {
      clearTimeout(timer);
      pending.delete(id);
      resolve(true);
    });
  });
  for (const write of await Promise.all(peers.map(channelTo))) write(frame);
  return acknowledged;
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://floor');
  if (req.method !== 'PUT' || !url.pathname.startsWith('/v1/data/')) {
    res.writeHead(404).end();
    return;
  }
  const key = decodeURIComponent(url.pathname.slice('/v1/data/'.length));
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const value = Buffer.concat(chunks);
    values.set(key, value);
    replicate(key, value).then((quorum) => {
      res.writeHead(quorum ? 201 : 202, { 'content-type': 'application/json' });
      res.end(quorum ? '{"stored":"quorum"}' : '{"stored":"local"}');
    });
  });
});
server.keepAliveTimeout = 65_000;
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

for (const address of (process.env.FLOOR_PEERS ?? '').split(',').filter(Boolean)) {
  await node.dial(multiaddr(address));
}
const { port } = server.address();
process.stdout.write(
  `${JSON.stringify({ url: `http://127.0.0.1:${port}`, multiaddr: node.getMultiaddrs()[0].toString() })}\n`,
);
process.on('SIGTERM', () => {
  server.close();
  node.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
