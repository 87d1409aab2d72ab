import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noteVerifier, openNote, parseCheckpoint, verifyInclusion } from '@personachain/ledger';
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyCommitment } from '../src/attestation/commitment.js';
import { AttestationLog, attestationLeafHash } from '../src/attestation/log.js';
import { verifyAttestation } from '../src/attestation/payload.js';
import { platformPublisher } from '../src/attestation/publisher.js';
import { registerAttestationRoutes } from '../src/attestation/routes.js';
import { AttestationService } from '../src/attestation/service.js';
import { MemoryStore } from '../src/store/memory-store.js';
import type { DeletionAttestation, NodeSigner } from '../src/types.js';
import { testSigner } from './attestation-helpers.js';

const salt = new Uint8Array(24).fill(9);
let dir: string;
let signer: NodeSigner;

/** A platform ledger stand-in speaking the real endpoint's shape; answers `failures` 503s first. */
async function fakePlatform(failures: number, status = 503) {
  const received: Array<{ auth: string | undefined; path: string | undefined; body: DeletionAttestation }> =
    [];
  let remaining = failures;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (remaining > 0) {
        remaining--;
        res.writeHead(status, { 'content-type': 'application/json' }).end('{"title":"unavailable"}');
        return;
      }
      received.push({ auth: req.headers.authorization, path: req.url, body: JSON.parse(body) });
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ledgerIndex: 40 + received.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attsvc-'));
  signer = await testSigner();
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

function entry(key: string, now: number, compliance: boolean) {
  return {
    key,
    createdAt: now,
    expiresAt: now + 300_000,
    ttlSeconds: 300,
    origin: signer.nodeId,
    value: new Uint8Array([1, 2, 3]),
    ...(compliance ? { keyCommitment: keyCommitment(salt, key) } : {}),
  };
}

describe('attestation service', () => {
  it('attests sweep expiry, delete and burn of compliance entries only, and serves them over HTTP', async () => {
    let now = 1_800_000_000_000;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => now });
    const log = await AttestationLog.open(dir);
    const service = new AttestationService({ signer, log });
    service.attach(store);

    store.apply(entry('expiring', now, true));
    store.apply(entry('plain', now, false));
    store.apply(entry('deleted', now, true));
    store.apply(entry('burned', now, true));
    store.remove({
      key: 'deleted',
      version: { createdAt: now, nodeId: signer.nodeId },
      expiresAt: now + 300_000,
      reason: 'deleted',
    });
    store.remove({
      key: 'burned',
      version: { createdAt: now, nodeId: signer.nodeId },
      expiresAt: now + 300_000,
      reason: 'burned',
    });
    now += 300_000;
    store.sweep(now);
    await service.settled();

    expect(log.treeSize).toBe(3);
    const expired = log.byKeyCommitment(keyCommitment(salt, 'expiring'));
    expect(expired.map((a) => [a.attestation.reason, a.attestation.deletedAt])).toEqual([
      ['expired', new Date(now).toISOString()],
    ]);
    expect(log.byKeyCommitment(keyCommitment(salt, 'deleted'))[0]?.attestation.reason).toBe('deleted');
    expect(log.byKeyCommitment(keyCommitment(salt, 'burned'))[0]?.attestation.reason).toBe('burned');

    const app = Fastify();
    registerAttestationRoutes(app, service);
    const commitment = keyCommitment(salt, 'expiring');
    const res = await app.inject({ method: 'GET', url: `/v1/attestations/${commitment}` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.node_id).toBe(signer.nodeId);
    expect(body.attestations).toHaveLength(1);
    const served = body.attestations[0];
    const attestation: DeletionAttestation = {
      keyCommitment: served.keyCommitment,
      deletedAt: served.deletedAt,
      reason: served.reason,
      nodeId: served.nodeId,
      signature: served.signature,
    };
    expect(await verifyAttestation(attestation)).toEqual({ valid: true });
    const { text } = await openNote(body.checkpoint, [noteVerifier(body.checkpoint_key)]);
    const cp = parseCheckpoint(text);
    verifyInclusion(
      served.log_index,
      cp.size,
      attestationLeafHash(attestation),
      served.inclusion_proof.map((p: string) => new Uint8Array(Buffer.from(p, 'base64'))),
      cp.root,
    );

    const none = await app.inject({ method: 'GET', url: `/v1/attestations/${keyCommitment(salt, 'plain')}` });
    expect(none.json().attestations).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/v1/attestations/not-a-commitment' })).statusCode).toBe(
      400,
    );
    await app.close();
    await service.stop();
    await log.close();
  });

  it('retries delivery with back-off until the platform accepts, and records it', async () => {
    const platform = await fakePlatform(2);
    const log = await AttestationLog.open(dir);
    const publish = platformPublisher({ url: platform.url, apiKey: 'sk_test_secret', project: 'prj_1' });
    const service = new AttestationService({
      signer,
      log,
      publish,
      retryBaseMs: 5,
      retryMaxMs: 20,
      onError: () => {},
    });
    const index = await service.attest(keyCommitment(salt, 'k'), 'deleted', Date.now());
    await until(() => log.get(index)?.delivered === true);
    expect(platform.received).toHaveLength(1);
    expect(platform.received[0]?.auth).toBe('Bearer sk_test_secret');
    expect(platform.received[0]?.path).toBe('/v1/projects/prj_1/ephemeral/attestations');
    expect(platform.received[0]?.body).toEqual(log.get(index)?.attestation);
    await service.stop();
    await log.close();
    await platform.close();
  });

  it('delivers after a restart what was undelivered when the node stopped', async () => {
    // First life: the platform is down for longer than the node runs.
    const down = await fakePlatform(1_000_000);
    let log = await AttestationLog.open(dir);
    let service = new AttestationService({
      signer,
      log,
      publish: platformPublisher({ url: down.url, apiKey: 'k', project: 'prj_1' }),
      retryBaseMs: 5,
      retryMaxMs: 10,
      onError: () => {},
    });
    await service.attest(keyCommitment(salt, 'a'), 'expired', Date.now());
    await service.attest(keyCommitment(salt, 'b'), 'burned', Date.now());
    await service.stop();
    await log.close();
    await down.close();

    // Second life: the platform is back; start() picks up both from the log.
    const up = await fakePlatform(0);
    log = await AttestationLog.open(dir);
    expect(log.undelivered()).toHaveLength(2);
    service = new AttestationService({
      signer,
      log,
      publish: platformPublisher({ url: up.url, apiKey: 'k', project: 'prj_1' }),
      onError: () => {},
    });
    service.start();
    await until(() => log.undelivered().length === 0);
    expect(up.received.map((r) => r.body.reason).sort()).toEqual(['burned', 'expired']);
    await service.stop();
    await log.close();
    await up.close();
  });

  it('stops retrying an attestation the platform refuses for good, keeping it undelivered in the log', async () => {
    const platform = await fakePlatform(1_000_000, 403);
    const log = await AttestationLog.open(dir);
    const errors: string[] = [];
    const service = new AttestationService({
      signer,
      log,
      publish: platformPublisher({ url: platform.url, apiKey: 'wrong', project: 'prj_1' }),
      retryBaseMs: 5,
      onError: (m) => errors.push(m),
    });
    const index = await service.attest(keyCommitment(salt, 'x'), 'deleted', Date.now());
    await until(() => errors.length > 0);
    await service.settled();
    expect(errors[0]).toMatch(/refused attestation 0.*403/);
    expect(log.get(index)?.delivered).toBe(false);
    await service.stop();
    await log.close();
    await platform.close();
  });
});
