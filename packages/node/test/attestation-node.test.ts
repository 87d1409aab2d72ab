import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noteVerifier, openNote, parseCheckpoint, verifyInclusion } from '@personachain/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationLog, attestationLeafHash } from '../src/attestation/log.js';
import { verifyAttestation } from '../src/attestation/payload.js';
import { registerAttestationRoutes } from '../src/attestation/routes.js';
import { AttestationService } from '../src/attestation/service.js';
import { keyCommitment, loadNodeConfig, type NodeHandle, startNode } from '../src/index.js';
import type { DeletionAttestation } from '../src/types.js';
import { testSigner } from './attestation-helpers.js';

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** A running node with attestations wired the way `persona node start` wires them. */
describe('deletion attestations on a running node', () => {
  let dir: string;
  let node: NodeHandle;
  let log: AttestationLog;
  let service: AttestationService;
  const salt = randomBytes(16);
  const token = randomBytes(32);
  const owner = {
    'x-write-capability': `token-sha256=${b64u(createHash('sha256').update(token).digest())}`,
    'x-compliance-salt': b64u(salt),
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'attnode-'));
    const signer = await testSigner();
    log = await AttestationLog.open(dir);
    service = new AttestationService({ signer, log });
    node = await startNode(
      loadNodeConfig({
        PERSONA_NODE_HOST: '127.0.0.1',
        REPRAM_HTTP_PORT: '0',
        REPRAM_RATE_LIMIT: '0',
        REPRAM_MIN_TTL: '1',
        PERSONA_NODE_LOG_LEVEL: 'silent',
        PERSONA_NODE_DATA_DIR: dir,
      }),
      {
        nodeId: signer.nodeId,
        onStore: (store) => service.attach(store),
        extraRoutes: (app) => registerAttestationRoutes(app, service),
      },
    );
  });
  afterAll(async () => {
    await node.close();
    await service.stop();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  const put = (key: string, ttl: number) =>
    fetch(`${node.url}/v1/data/${key}?ttl=${ttl}`, { method: 'PUT', body: 'ciphertext', headers: owner });

  async function attestationsFor(key: string): Promise<DeletionAttestation[]> {
    const res = await fetch(`${node.url}/v1/attestations/${keyCommitment(salt, key)}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    const { text } = await openNote(body.checkpoint, [noteVerifier(body.checkpoint_key)]);
    const cp = parseCheckpoint(text);
    const out: DeletionAttestation[] = [];
    for (const item of body.attestations) {
      const a: DeletionAttestation = {
        keyCommitment: item.keyCommitment,
        deletedAt: item.deletedAt,
        reason: item.reason,
        nodeId: item.nodeId,
        signature: item.signature,
      };
      expect(await verifyAttestation(a)).toEqual({ valid: true });
      const proof = item.inclusion_proof.map((p: string) => new Uint8Array(Buffer.from(p, 'base64')));
      verifyInclusion(item.log_index, cp.size, attestationLeafHash(a), proof, cp.root);
      out.push(a);
    }
    return out;
  }

  it('attests a compliance entry deleted by its owner, burned, and expired — and nothing else', async () => {
    expect((await put('doc-deleted', 600)).status).toBe(201);
    expect((await put('doc-burned', 600)).status).toBe(201);
    expect((await put('doc-expiring', 1)).status).toBe(201);
    const plain = await fetch(`${node.url}/v1/data/plain?ttl=1`, { method: 'PUT', body: 'x' });
    expect(plain.status).toBe(201);

    const deleted = await fetch(`${node.url}/v1/data/doc-deleted`, {
      method: 'DELETE',
      headers: { 'x-write-token': b64u(token) },
    });
    expect(deleted.status).toBe(204);
    expect((await fetch(`${node.url}/v1/data/doc-burned?burn=true`)).status).toBe(200);
    // The expiry sweep runs once a second; the entry expires one second after the write.
    const deadline = Date.now() + 5000;
    while (log.byKeyCommitment(keyCommitment(salt, 'doc-expiring')).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await service.settled();

    expect((await attestationsFor('doc-deleted')).map((a) => a.reason)).toEqual(['deleted']);
    expect((await attestationsFor('doc-burned')).map((a) => a.reason)).toEqual(['burned']);
    const expired = await attestationsFor('doc-expiring');
    expect(expired.map((a) => a.reason)).toEqual(['expired']);
    expect(expired[0]?.nodeId).toBe(node.nodeId);
    expect(log.treeSize).toBe(3);
  });
});
