import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { iso } from '../src/http/request.js';
import {
  type Entry,
  keyCommitment,
  loadNodeConfig,
  type NodeHandle,
  SingleNodeCluster,
  signedMessage,
  startNode,
} from '../src/index.js';

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** A node on 127.0.0.1:0 with test-friendly limits; `env` overrides. */
function start(env: Record<string, string> = {}): Promise<NodeHandle> {
  return startNode(
    loadNodeConfig({
      PERSONA_NODE_HOST: '127.0.0.1',
      REPRAM_HTTP_PORT: '0',
      REPRAM_RATE_LIMIT: '0',
      REPRAM_MIN_TTL: '1',
      PERSONA_NODE_MAX_VALUE_BYTES: String(64 * 1024),
      PERSONA_NODE_LOG_LEVEL: 'silent',
      ...env,
    }),
  );
}

function tokenPair() {
  const token = randomBytes(32);
  return {
    token: b64u(token),
    capability: `token-sha256=${b64u(createHash('sha256').update(token).digest())}`,
  };
}

function ed25519Owner() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return {
    publicKey: b64u(raw),
    capability: `ed25519=${b64u(raw)}`,
    headers(method: string, path: string, body: Uint8Array = new Uint8Array(), timestamp = Date.now()) {
      return signedHeaders(privateKey, method, path, body, timestamp);
    },
  };
}

function signedHeaders(key: KeyObject, method: string, path: string, body: Uint8Array, timestamp: number) {
  const signature = sign(null, signedMessage(method, path, String(timestamp), body), key);
  return { 'x-write-timestamp': String(timestamp), 'x-write-signature': b64u(signature) };
}

describe('node HTTP API', () => {
  let node: NodeHandle;
  let url: string;
  const put = (key: string, body: BodyInit, headers: Record<string, string> = {}, query = '') =>
    fetch(`${url}/v1/data/${key}${query}`, { method: 'PUT', body, headers });

  beforeAll(async () => {
    node = await start({ REPRAM_MAX_STORAGE_MB: '1' });
    url = node.url;
  });
  afterAll(() => node.close());

  it('stores raw bytes (201) and serves them back exactly with REPRAM headers', async () => {
    const value = randomBytes(1024);
    value[0] = 0;
    const response = await put('greeting', value, { 'content-type': 'application/json', 'x-ttl': '600' });
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(body).toMatchObject({
      key: 'greeting',
      ttl: 600,
      replicas: { acknowledged: 1, required: 1, total: 1 },
    });
    expect(Date.parse(body.expires_at) - Date.parse(body.created_at)).toBe(600_000);
    expect(response.headers.get('x-expires-at')).toBe(body.expires_at);
    expect(response.headers.get('x-replicas-acknowledged')).toBe('1');

    const read = await fetch(`${url}/v1/data/greeting`);
    expect(read.status).toBe(200);
    expect(read.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await read.arrayBuffer()).equals(value)).toBe(true);
    expect(read.headers.get('x-created-at')).toBe(body.created_at);
    expect(read.headers.get('x-original-ttl')).toBe('600');
    expect(Number(read.headers.get('x-remaining-ttl'))).toBeGreaterThanOrEqual(599);
    expect(read.headers.get('x-expires-at')).toBe(body.expires_at);

    const head = await fetch(`${url}/v1/data/greeting`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-original-ttl')).toBe('600');
    expect(head.headers.get('content-length')).toBe('1024');
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers 404 with an empty body for absent and expired keys', async () => {
    const missing = await fetch(`${url}/v1/data/never-written`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('');
    expect((await fetch(`${url}/v1/data/never-written`, { method: 'HEAD' })).status).toBe(404);

    expect((await put('brief', 'x', {}, '?ttl=1')).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const expired = await fetch(`${url}/v1/data/brief`);
    expect(expired.status).toBe(404);
    expect(await expired.text()).toBe('');
  });

  it('takes the TTL from ?ttl= over X-TTL, defaults to 3600, and refuses values outside the range', async () => {
    const both = await put('ttl-both', 'v', { 'x-ttl': '500' }, '?ttl=700');
    expect((await both.json()).ttl).toBe(700);
    expect((await (await put('ttl-default', 'v')).json()).ttl).toBe(3600);
    for (const ttl of ['0', '86401', '1.5', '-5', 'soon']) {
      const response = await put('ttl-bad', 'v', { 'x-ttl': ttl });
      expect(response.status).toBe(400);
      expect((await response.json()).detail).toContain('from 1 to 86400');
    }
    expect((await fetch(`${url}/v1/data/ttl-bad`)).status).toBe(404); // nothing partial was stored
  });

  it('accepts keys with slashes and UTF-8, refuses empty, control-character and over-long keys', async () => {
    expect((await put('a/b/c', 'v')).status).toBe(201);
    expect((await fetch(`${url}/v1/data/a/b/c`)).status).toBe(200);
    expect((await put(encodeURIComponent('clé-ü'), 'v')).status).toBe(201);
    expect(node.store.get('clé-ü')).toBeDefined();
    expect((await put('bad%01key', 'v')).status).toBe(400);
    expect((await put('x'.repeat(257), 'v')).status).toBe(400);
    expect((await put('é'.repeat(129), 'v')).status).toBe(400); // 258 bytes of UTF-8
    expect((await put('x'.repeat(256), 'v')).status).toBe(201);
    expect((await put('', 'v')).status).toBe(400);
    const malformed = await put('bad%ZZ', 'v');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).error).toBe('bad request');
  });

  it('refuses a body over the size limit with 413 and counts it', async () => {
    const response = await put('big', new Uint8Array(64 * 1024 + 1));
    expect(response.status).toBe(413);
    expect((await fetch(`${url}/v1/data/big`)).status).toBe(404);
    expect((await put('exactly-max', new Uint8Array(64 * 1024))).status).toBe(201);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^repram_oversized_requests_total 1$/m);
  });

  it('answers 507 when the memory budget is full', async () => {
    const chunk = new Uint8Array(60 * 1024);
    let status = 201;
    for (let i = 0; i < 40 && status === 201; i++) status = (await put(`fill-${i}`, chunk)).status;
    expect(status).toBe(507);
    expect(node.store.byteCount).toBeLessThanOrEqual(1024 * 1024);
    // Free the budget for the other tests.
    for (const meta of [...node.store.entries()]) {
      if (meta.key.startsWith('fill-') || meta.key === 'exactly-max') {
        node.store.remove({
          key: meta.key,
          version: { createdAt: Date.now(), nodeId: 'test' },
          expiresAt: 0,
          reason: 'deleted',
        });
      }
    }
  });

  it('keeps a key written without a capability immutable (409) and not deletable (403)', async () => {
    expect((await put('plain', 'first')).status).toBe(201);
    const again = await put('plain', 'second');
    expect(again.status).toBe(409);
    expect((await again.json()).error).toBe('conflict');
    expect(await (await fetch(`${url}/v1/data/plain`)).text()).toBe('first');
    expect((await fetch(`${url}/v1/data/plain`, { method: 'DELETE' })).status).toBe(403);
  });

  it('lets only the holder of the write token overwrite and delete', async () => {
    const owner = tokenPair();
    const stranger = tokenPair();
    expect((await put('tok', 'v1', { 'x-write-capability': owner.capability })).status).toBe(201);
    expect((await put('tok', 'evil')).status).toBe(403);
    expect((await put('tok', 'evil', { 'x-write-token': stranger.token })).status).toBe(403);
    // A stranger cannot take the key over by registering their own capability.
    expect(
      (
        await put('tok', 'evil', {
          'x-write-capability': stranger.capability,
          'x-write-token': stranger.token,
        })
      ).status,
    ).toBe(403);
    expect((await put('tok', 'v2', { 'x-write-token': owner.token })).status).toBe(201);
    expect(await (await fetch(`${url}/v1/data/tok`)).text()).toBe('v2');

    expect((await fetch(`${url}/v1/data/tok`, { method: 'DELETE' })).status).toBe(403);
    const wrong = await fetch(`${url}/v1/data/tok`, {
      method: 'DELETE',
      headers: { 'x-write-token': stranger.token },
    });
    expect(wrong.status).toBe(403);
    const deleted = await fetch(`${url}/v1/data/tok`, {
      method: 'DELETE',
      headers: { 'x-write-token': owner.token },
    });
    expect(deleted.status).toBe(204);
    expect((await fetch(`${url}/v1/data/tok`)).status).toBe(404);
    expect(
      (await fetch(`${url}/v1/data/tok`, { method: 'DELETE', headers: { 'x-write-token': owner.token } }))
        .status,
    ).toBe(404);
    expect((await put('tok2', 'v', { 'x-write-capability': 'token-sha256=short' })).status).toBe(400);
    expect((await put('tok2', 'v', { 'x-write-capability': 'rsa=abc' })).status).toBe(400);
  });

  it('lets only the Ed25519 key holder overwrite and delete, each signature once, within ±60 s', async () => {
    const owner = ed25519Owner();
    const other = ed25519Owner();
    expect((await put('sig', 'v1', { 'x-write-capability': owner.capability })).status).toBe(201);

    const body = Buffer.from('v2');
    const headers = owner.headers('PUT', 'sig', body);
    expect((await put('sig', body, headers)).status).toBe(201);
    expect((await put('sig', body, headers)).status).toBe(403); // replayed
    expect((await put('sig', 'v3', owner.headers('PUT', 'sig', body))).status).toBe(403); // signed another body
    expect((await put('sig', body, other.headers('PUT', 'sig', body))).status).toBe(403); // another key
    expect((await put('sig', body, owner.headers('PUT', 'sig', body, Date.now() - 61_000))).status).toBe(403); // stale
    expect((await put('sig', body, owner.headers('DELETE', 'sig', body))).status).toBe(403); // another method
    expect((await put('sig', body, { 'x-write-timestamp': 'now', 'x-write-signature': 'AA' })).status).toBe(
      400,
    );
    expect(await (await fetch(`${url}/v1/data/sig`)).text()).toBe('v2');

    const del = owner.headers('DELETE', 'sig');
    expect((await fetch(`${url}/v1/data/sig`, { method: 'DELETE', headers: del })).status).toBe(204);
    expect((await fetch(`${url}/v1/data/sig`)).status).toBe(404);
  });

  it('lists only the keys whose capability the caller proves, with prefix and cursor', async () => {
    const mine = tokenPair();
    const theirs = tokenPair();
    for (const key of ['list/a', 'list/b', 'list/c', 'other/d']) {
      await put(key, 'v', { 'x-write-capability': mine.capability });
    }
    await put('list/theirs', 'v', { 'x-write-capability': theirs.capability });
    await put('list/nobody', 'v');

    expect((await fetch(`${url}/v1/keys`)).status).toBe(401);
    const list = (query: string, headers: Record<string, string>) =>
      fetch(`${url}/v1/keys${query}`, { headers }).then((response) => response.json());
    expect(await list('', { 'x-write-token': mine.token })).toEqual({
      keys: ['list/a', 'list/b', 'list/c', 'other/d'],
      next_cursor: '',
    });
    const first = await list('?prefix=list/&limit=2', { 'x-write-token': mine.token });
    expect(first).toEqual({ keys: ['list/a', 'list/b'], next_cursor: 'list/b' });
    const second = await list(`?prefix=list/&limit=2&cursor=${first.next_cursor}`, {
      'x-write-token': mine.token,
    });
    expect(second).toEqual({ keys: ['list/c'], next_cursor: '' });
    expect((await list('', { 'x-write-token': theirs.token })).keys).toEqual(['list/theirs']);

    const signer = ed25519Owner();
    await put('signed/one', 'v', { 'x-write-capability': signer.capability });
    const signedList = await fetch(`${url}/v1/keys`, {
      headers: { ...signer.headers('GET', '/v1/keys'), 'x-write-public-key': signer.publicKey },
    });
    expect((await signedList.json()).keys).toEqual(['signed/one']);
    const forged = await fetch(`${url}/v1/keys`, {
      headers: { ...ed25519Owner().headers('GET', '/v1/keys'), 'x-write-public-key': signer.publicKey },
    });
    expect(forged.status).toBe(401);
  });

  it('burns a read-once value exactly once, even under concurrent reads; HEAD never burns', async () => {
    await put('secret', 'only-once');
    expect((await fetch(`${url}/v1/data/secret`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${url}/v1/data/secret`, { method: 'HEAD' })).status).toBe(200);
    const first = await fetch(`${url}/v1/data/secret?burn=true`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('only-once');
    expect((await fetch(`${url}/v1/data/secret?burn=true`)).status).toBe(404);
    expect((await fetch(`${url}/v1/data/secret`)).status).toBe(404);

    await put('race', 'prize');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${url}/v1/data/race?burn=true`)),
    );
    expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
    expect(responses.filter((response) => response.status === 404)).toHaveLength(19);
  });

  it('serves a value stored with X-Read-Once only to a burning read', async () => {
    expect((await put('once', 'for-one-reader', { 'x-read-once': 'true' })).status).toBe(201);
    const plain = await fetch(`${url}/v1/data/once`);
    expect(plain.status).toBe(409);
    expect(await plain.text()).not.toContain('for-one-reader');
    const head = await fetch(`${url}/v1/data/once`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-read-once')).toBe('true');
    const burned = await fetch(`${url}/v1/data/once?burn=true`);
    expect(await burned.text()).toBe('for-one-reader');
    expect((await fetch(`${url}/v1/data/once?burn=true`)).status).toBe(404);
    expect((await put('once-bad', 'v', { 'x-read-once': 'yes' })).status).toBe(400);
  });

  it('stores only the key commitment of a compliance write', async () => {
    const salt = randomBytes(16);
    expect((await put('regulated', 'v', { 'x-compliance-salt': b64u(salt) })).status).toBe(201);
    expect(node.store.get('regulated')?.keyCommitment).toBe(keyCommitment(salt, 'regulated'));
    expect((await put('regulated-2', 'v', { 'x-compliance-salt': b64u(randomBytes(8)) })).status).toBe(400);
    expect((await put('regulated-2', 'v', { 'x-compliance-salt': '!!' })).status).toBe(400);
  });

  it('answers CORS preflights and sets CORS and security headers on every response', async () => {
    const preflight = await fetch(`${url}/v1/data/anything`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'x-write-capability',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('DELETE');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
      'x-write-capability',
    );
    const read = await fetch(`${url}/v1/data/greeting`, { headers: { origin: 'https://app.example' } });
    expect(read.headers.get('access-control-allow-origin')).toBe('*');
    expect(read.headers.get('access-control-expose-headers')).toContain('X-Remaining-TTL');
    expect(read.headers.get('x-content-type-options')).toBe('nosniff');
    expect(read.headers.get('x-frame-options')).toBe('DENY');
  });

  it('reports health, status and topology in REPRAM shapes', async () => {
    expect(await (await fetch(`${url}/v1/health`)).json()).toEqual({
      status: 'healthy',
      node_id: node.nodeId,
      network: 'public',
      enclave: 'default',
    });
    const status = await (await fetch(`${url}/v1/status`)).json();
    expect(status).toMatchObject({ node_id: node.nodeId, version: '0.1.0', peers: 0 });
    expect(status.items).toBe(node.store.itemCount);
    expect(status.bytes).toBe(node.store.byteCount);
    expect(await (await fetch(`${url}/v1/topology`)).json()).toEqual({
      node_id: node.nodeId,
      enclave: 'default',
      addresses: [],
      peers: [],
    });
  });

  it('exposes Prometheus metrics with the REPRAM names on /metrics and /v1/metrics', async () => {
    // "brief" expired above; the once-a-second sweep removes it at most ~2 s after its instant.
    await vi.waitFor(
      async () =>
        expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^persona_node_expirations_total 1$/m),
      { timeout: 3_000, interval: 100 },
    );
    for (const path of ['/metrics', '/v1/metrics']) {
      const response = await fetch(`${url}${path}`);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      for (const name of [
        'repram_peers_active',
        'repram_peer_evictions_total',
        'repram_peer_joins_total',
        'repram_ping_failures_total',
        'repram_rate_limited_requests_total',
        'repram_oversized_requests_total',
        'persona_node_http_request_duration_seconds_bucket',
        'persona_node_expirations_total',
        'persona_node_quorum_successes_total',
        'persona_node_quorum_timeouts_total',
        'persona_node_replication_lag_seconds',
      ]) {
        expect(text).toContain(name);
      }
      expect(text).toMatch(new RegExp(`^persona_node_stored_items ${node.store.itemCount}$`, 'm'));
    }
  });
});

describe('rate limiting', () => {
  let node: NodeHandle;
  beforeAll(async () => {
    node = await start({ REPRAM_RATE_LIMIT: '1', PERSONA_NODE_RATE_BURST: '3', REPRAM_TRUST_PROXY: 'true' });
  });
  afterAll(() => node.close());

  it('answers 429 with Retry-After once a client used its burst, per client address', async () => {
    const from = (ip: string) => fetch(`${node.url}/v1/health`, { headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 3; i++) expect((await from('203.0.113.7')).status).toBe(200);
    const limited = await from('203.0.113.7');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.headers.get('access-control-allow-origin')).toBe('*');
    // Another client behind the same trusted proxy has its own bucket.
    expect((await from('203.0.113.8')).status).toBe(200);
    // Only the address the proxy appended counts: a client-supplied hop further left does not.
    expect((await from('198.51.100.1, 203.0.113.7')).status).toBe(429);
    const metrics = await (
      await fetch(`${node.url}/metrics`, { headers: { 'x-forwarded-for': '192.0.2.1' } })
    ).text();
    expect(metrics).toMatch(/^repram_rate_limited_requests_total 2$/m);
  });
});

describe('with a cluster behind the node', () => {
  let node: NodeHandle;
  const remoteOwner = tokenPair();
  const remote: Entry = {
    key: 'held-elsewhere',
    value: Buffer.from('from a replica'),
    createdAt: Date.now(),
    expiresAt: Date.now() + 600_000,
    ttlSeconds: 600,
    origin: 'node-remote',
    capability: {
      kind: 'token-sha256',
      hash: createHash('sha256').update(Buffer.from(remoteOwner.token, 'base64url')).digest(),
    },
  };

  beforeAll(async () => {
    node = await startNode(
      loadNodeConfig({
        PERSONA_NODE_HOST: '127.0.0.1',
        REPRAM_HTTP_PORT: '0',
        PERSONA_NODE_LOG_LEVEL: 'silent',
      }),
      {
        // A replica set of 3 where only this node answers, and one key that only a replica holds.
        cluster: ({ store }) => {
          const local = new SingleNodeCluster('node-local', store);
          return Object.assign(Object.create(local) as SingleNodeCluster, {
            put: async () => ({ acknowledged: 1, required: 2, replicas: 3 }),
            // The replicas refuse a first write of the key they hold; the node takes its copy back.
            create: async (entry: Entry) => {
              if (entry.key !== remote.key) return { acknowledged: 1, required: 2, replicas: 3 };
              store.withdraw(entry.key, { createdAt: entry.createdAt, nodeId: entry.origin });
              return { held: remote };
            },
            get: async (key: string) => store.get(key) ?? (key === remote.key ? remote : undefined),
          });
        },
      },
    );
  });
  afterAll(() => node.close());

  it('answers 202 with the replica count when the quorum times out', async () => {
    const response = await fetch(`${node.url}/v1/data/short-of-quorum`, { method: 'PUT', body: 'v' });
    expect(response.status).toBe(202);
    expect((await response.json()).replicas).toEqual({ acknowledged: 1, required: 2, total: 3 });
    expect(response.headers.get('x-replicas-acknowledged')).toBe('1');
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/^persona_node_quorum_timeouts_total 1$/m);
  });

  it('reads from replicas on a local miss and protects a key this node never saw', async () => {
    const read = await fetch(`${node.url}/v1/data/held-elsewhere`);
    expect(read.status).toBe(200);
    expect(await read.text()).toBe('from a replica');
    expect(read.headers.get('x-original-ttl')).toBe('600');
    const takeover = await fetch(`${node.url}/v1/data/held-elsewhere`, {
      method: 'PUT',
      body: 'mine now',
      headers: { 'x-write-capability': tokenPair().capability },
    });
    expect(takeover.status).toBe(403);
    expect(node.store.get('held-elsewhere')).toBeUndefined();
    const owner = await fetch(`${node.url}/v1/data/held-elsewhere`, {
      method: 'PUT',
      body: 'v2',
      headers: { 'x-write-token': remoteOwner.token },
    });
    expect(owner.status).toBe(202);
    expect(node.store.get('held-elsewhere')?.createdAt).toBeGreaterThan(remote.createdAt);
  });
});

describe('timestamps in answers', () => {
  it('formats exactly as Date#toISOString, across seconds, centuries and the four-digit-year edges', () => {
    const instants = [
      0, 5, 50, 999, 1_000, 1_800_000_000_000, 1_800_000_000_007, 1_800_000_000_070, 1_800_000_000_700,
      1_800_000_999_999, 946_684_799_999, 253_402_300_799_999, 253_402_300_800_000, -1, -86_400_001,
    ];
    // Twice: the second pass reads the cached seconds.
    for (const ms of [...instants, ...instants]) expect(iso(ms)).toBe(new Date(ms).toISOString());
  });
});
