import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromString } from '@libp2p/peer-id';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBootstrapPeer } from '../src/network/bootstrap.js';
import { loadOrCreateNodeKey, nodeSigner } from '../src/network/identity.js';
import { majority, replicasFor } from '../src/network/placement.js';
import {
  decodeEnvelope,
  decodeResponse,
  type Envelope,
  encodeFrame,
  encodeRequest,
  ProtocolError,
} from '../src/network/protocol.js';
import { ReplayGuard } from '../src/network/replay-guard.js';
import { createSwarmKey, loadSwarmKey } from '../src/network/swarm-key.js';

const members = Array.from({ length: 7 }, (_, i) => `node-${i}`);

describe('rendezvous placement', () => {
  it('picks R distinct members deterministically, independent of member order, capped at the member count', () => {
    const a = replicasFor('some/key', members, 3);
    expect(new Set(a).size).toBe(3);
    expect(replicasFor('some/key', [...members].reverse(), 3)).toEqual(a);
    expect(replicasFor('some/key', members.slice(0, 2), 3)).toHaveLength(2);
    expect(replicasFor('some/key', ['only'], 3)).toEqual(['only']);
    expect([1, 2, 3, 4, 5].map(majority)).toEqual([1, 2, 2, 3, 3]);
  });

  it('spreads keys evenly and moves only the keys a leaving member held', () => {
    const counts = new Map<string, number>();
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
    for (const k of keys) for (const m of replicasFor(k, members, 3)) counts.set(m, (counts.get(m) ?? 0) + 1);
    for (const c of counts.values()) expect(Math.abs(c - (3000 * 3) / 7)).toBeLessThan(250);
    const without = members.filter((m) => m !== 'node-3');
    for (const k of keys) {
      const before = replicasFor(k, members, 3);
      const after = replicasFor(k, without, 3);
      const kept = before.filter((m) => m !== 'node-3');
      expect(kept.every((m) => after.includes(m))).toBe(true);
    }
  });
});

describe('replay guard', () => {
  const P = 'prefixAAAA';
  it('refuses a repeated id from the same sender and timestamps outside the window', () => {
    const guard = new ReplayGuard(1000);
    const now = 1_000_000;
    expect(guard.check('a', `${P}.1`, now, now)).toBeUndefined();
    expect(guard.check('a', `${P}.1`, now, now + 10)).toBe('replayed');
    expect(guard.check('b', `${P}.1`, now, now + 10)).toBeUndefined();
    expect(guard.check('a', `${P}.2`, now - 1001, now)).toBe('stale-timestamp');
    expect(guard.check('a', `${P}.3`, now + 1001, now)).toBe('stale-timestamp');
    expect(guard.check('a', 'no-counter', now, now)).toBe('bad-request-id');
  });

  it('accepts reordering within the window, refuses what is too old to tell, in constant memory', () => {
    const guard = new ReplayGuard(60_000, 64);
    const now = 5_000;
    expect(guard.check('a', `${P}.a`, now, now)).toBeUndefined(); // 10
    expect(guard.check('a', `${P}.5`, now, now)).toBeUndefined(); // late but unseen
    expect(guard.check('a', `${P}.5`, now, now)).toBe('replayed');
    for (let c = 11; c < 200; c++)
      expect(guard.check('a', `${P}.${c.toString(36)}`, now, now)).toBeUndefined();
    expect(guard.check('a', `${P}.${(199 - 64).toString(36)}`, now, now)).toBe('replayed'); // older than the window
    expect(guard.check('a', `${P}.${(199 - 10).toString(36)}`, now, now)).toBe('replayed');
    expect(guard.check('a', `${P}.${(1000).toString(36)}`, now, now)).toBeUndefined(); // jump clears the window
    expect(guard.check('a', `${P}.${(999).toString(36)}`, now, now)).toBeUndefined();
  });

  it('limits prefixes per sender within the window and forgets prefixes unused for longer', () => {
    const guard = new ReplayGuard(1000, 64, 2);
    expect(guard.check('a', 'prefix111.1', 0, 0)).toBeUndefined();
    expect(guard.check('a', 'prefix222.1', 0, 0)).toBeUndefined();
    expect(guard.check('a', 'prefix333.1', 0, 0)).toBe('replay-window-full');
    expect(guard.check('a', 'prefix333.1', 5000, 5000)).toBeUndefined();
  });
});

describe('wire protocol validation', () => {
  /** A frame as the protocol lays it out: u32 JSON length, the JSON, then the attached bytes. */
  const frame = (body: unknown, extra: Record<string, unknown> = {}, attached = new Uint8Array(0)) => {
    const json = Buffer.from(JSON.stringify({ id: 'x', ts: 1, enclave: 'e', body, ...extra }));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(json.length);
    return Buffer.concat([head, json, attached]);
  };
  const entry = (fields: Record<string, unknown> = {}) => ({
    key: 'k',
    value: { bin: [0, 0] },
    createdAt: 1,
    expiresAt: 5,
    ttlSeconds: 0,
    origin: 'o',
    ...fields,
  });

  it('round-trips an entry with its bytes and capability', () => {
    const envelope: Envelope = {
      id: 'id',
      ts: 5,
      enclave: 'e',
      body: {
        op: 'put',
        entry: {
          key: 'k/é',
          value: Buffer.from([0, 1, 255]),
          createdAt: 10,
          expiresAt: 20,
          ttlSeconds: 1,
          origin: 'o',
          capability: { kind: 'token-sha256', hash: new Uint8Array(32).fill(7) },
          keyCommitment: 'c',
        },
      },
    };
    const decoded = decodeEnvelope(encodeFrame(envelope));
    // A request's body is encoded once for every peer it goes to; each frame keeps its own envelope.
    expect(decodeEnvelope(encodeRequest(envelope))).toEqual(decoded);
    expect(decodeEnvelope(encodeRequest({ ...envelope, id: 'other', ts: 6 }))).toEqual({
      ...decoded,
      id: 'other',
      ts: 6,
    });
    expect(decoded.body.op).toBe('put');
    if (decoded.body.op !== 'put') return;
    expect([...decoded.body.entry.value]).toEqual([0, 1, 255]);
    expect(decoded.body.entry.capability).toEqual({ kind: 'token-sha256', hash: new Uint8Array(32).fill(7) });
    expect(decoded.body.entry.keyCommitment).toBe('c');
  });

  it('round-trips a first write, its refusal and its withdrawal', () => {
    const value = Buffer.from('v');
    const put = decodeEnvelope(
      encodeFrame({
        id: 'p',
        ts: 1,
        enclave: 'e',
        body: { op: 'put', ifAbsent: true, entry: { ...entry(), value } as never },
      }),
    );
    expect(put.body).toMatchObject({ op: 'put', ifAbsent: true, entry: { key: 'k' } });
    expect(decodeResponse(encodeFrame({ op: 'put', outcome: 'held', re: 'p' }), 'put')).toEqual({
      op: 'put',
      outcome: 'held',
    });
    const version = { createdAt: 1, nodeId: 'n' };
    const withdraw = decodeEnvelope(
      encodeFrame({ id: 'w', ts: 1, enclave: 'e', body: { op: 'withdraw', key: 'k', version } }),
    );
    expect(withdraw.body).toEqual({ op: 'withdraw', key: 'k', version });
    expect(decodeResponse(encodeFrame({ op: 'withdraw', withdrawn: true }), 'withdraw')).toEqual({
      op: 'withdraw',
      withdrawn: true,
    });
  });

  it('reads byte fields from the bytes after the JSON and copies them out', () => {
    const attached = Buffer.from([9, 8, 7, 6]);
    const decoded = decodeEnvelope(
      frame({ op: 'put', entry: entry({ value: { bin: [1, 2] } }) }, {}, attached),
    );
    if (decoded.body.op !== 'put') throw new Error('not a put');
    expect([...decoded.body.entry.value]).toEqual([8, 7]);
    attached.fill(0);
    expect([...decoded.body.entry.value]).toEqual([8, 7]);
  });

  it.each([
    ['not JSON', frame({}).subarray(0, 6)],
    ['a JSON length past the frame', Buffer.from([0, 0, 1, 0, 123, 125])],
    ['a frame shorter than its length prefix', Buffer.from([0, 0])],
    [
      'bytes past the attached section',
      frame({ op: 'put', entry: entry({ value: { bin: [0, 5] } }) }, {}, Buffer.alloc(4)),
    ],
    [
      'a negative byte offset',
      frame({ op: 'put', entry: entry({ value: { bin: [-1, 1] } }) }, {}, Buffer.alloc(4)),
    ],
    ['base64 instead of attached bytes', frame({ op: 'put', entry: entry({ value: { b64: 'AA' } }) })],
    ['a non-boolean ifAbsent', frame({ op: 'put', ifAbsent: 'yes', entry: entry() })],
    ['a withdrawal without a version', frame({ op: 'withdraw', key: 'k' })],
    ['unknown op', frame({ op: 'exec' })],
    ['empty key', frame({ op: 'get', key: '' })],
    ['oversized key', frame({ op: 'get', key: 'k'.repeat(2000) })],
    ['expiry before creation', frame({ op: 'put', entry: entry({ createdAt: 5, expiresAt: 5 }) })],
    [
      'bad capability length',
      frame(
        { op: 'put', entry: entry({ capability: { kind: 'ed25519', publicKey: { bin: [0, 1] } } }) },
        {},
        Buffer.alloc(1),
      ),
    ],
    ['huge digest page', frame({ op: 'digest', after: '', limit: 1e9 })],
    ['too many pulls', frame({ op: 'pull', keys: Array.from({ length: 1000 }, (_, i) => `k${i}`) })],
    [
      'bad tombstone reason',
      frame({
        op: 'tombstone',
        tombstone: { key: 'k', version: { createdAt: 1, nodeId: 'n' }, expiresAt: 2, reason: 'expired' },
      }),
    ],
    ['negative timestamp', frame({ op: 'get', key: 'k' }, { ts: -1 })],
  ])('rejects %s', (_name, bytes) => {
    expect(() => decodeEnvelope(bytes)).toThrow(ProtocolError);
  });
});

describe('node identity', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates the key once with mode 0600, reloads the same identity, and signs verifiably', async () => {
    dir = await mkdtemp(join(tmpdir(), 'persona-identity-'));
    const first = await loadOrCreateNodeKey(join(dir, 'data'));
    const path = join(dir, 'data', 'node-key');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateNodeKey(join(dir, 'data'));
    expect(Buffer.from(again.raw).equals(Buffer.from(first.raw))).toBe(true);
    const signer = nodeSigner(again);
    expect(signer.nodeId).toMatch(/^12D3KooW/);
    const message = new TextEncoder().encode('attest');
    const signature = await signer.sign(message);
    // Anyone can verify with the public key embedded in the peer id.
    const publicKey = peerIdFromString(signer.nodeId).publicKey;
    expect(await publicKey?.verify(message, signature)).toBe(true);
    expect(publicKeyFromRaw(first.publicKey.raw).equals(publicKey)).toBe(true);
  });

  it('refuses a corrupt key file instead of silently replacing the identity', async () => {
    dir = await mkdtemp(join(tmpdir(), 'persona-identity-'));
    await writeFile(join(dir, 'node-key'), 'garbage');
    await expect(loadOrCreateNodeKey(dir)).rejects.toThrow();
    expect(await readFile(join(dir, 'node-key'), 'utf8')).toBe('garbage');
  });
});

describe('configuration inputs', () => {
  it('parses REPRAM host:port peers and multiaddrs with a peer id, and names bad values', () => {
    expect(parseBootstrapPeer('10.0.0.5:8080')).toEqual({ kind: 'http', url: 'http://10.0.0.5:8080' });
    expect(parseBootstrapPeer('seed.example:8080')).toEqual({
      kind: 'http',
      url: 'http://seed.example:8080',
    });
    const ma = parseBootstrapPeer(
      '/ip4/127.0.0.1/tcp/9090/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
    );
    expect(ma.kind).toBe('multiaddr');
    expect(() => parseBootstrapPeer('/ip4/127.0.0.1/tcp/9090')).toThrow(/p2p/);
    expect(() => parseBootstrapPeer('nope')).toThrow(/"nope"/);
    expect(() => parseBootstrapPeer('host:99999')).toThrow();
  });

  it('writes and validates swarm key files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'persona-swarm-'));
    try {
      const key = createSwarmKey();
      await writeFile(join(dir, 'swarm.key'), key);
      expect(Buffer.from(await loadSwarmKey(join(dir, 'swarm.key'))).equals(Buffer.from(key))).toBe(true);
      await writeFile(join(dir, 'bad.key'), '/key/swarm/psk/1.0.0/\n/base16/\nabc\n');
      await expect(loadSwarmKey(join(dir, 'bad.key'))).rejects.toThrow(/swarm key/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
