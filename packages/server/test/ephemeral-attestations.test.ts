import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { hashLeaf, noteVerifier, verifyTlogProof } from '@personachain/ledger';
import { type DeletionAttestation, keyCommitment, signAttestation } from '@personachain/node/attestation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

async function nodeSigner() {
  const key = await generateKeyPair('Ed25519');
  return { nodeId: peerIdFromPrivateKey(key).toString(), sign: async (m: Uint8Array) => key.sign(m) };
}

describe.each(engines)('ephemeral deletion attestations on the ledger, on %s', (engine) => {
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;
  let verifierKey: string;
  const salt = new Uint8Array(32).fill(3);

  const post = (tenant: Tenant, body: unknown, key: string | null = tenant.keys.developer) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/ephemeral/attestations`, { key, body });
  const list = (tenant: Tenant, commitment: string, key: string | null = tenant.keys.viewer) =>
    server.json(
      'GET',
      `/v1/projects/${tenant.projectId}/ephemeral/attestations?keyCommitment=${commitment}`,
      { key },
    );

  beforeAll(async () => {
    server = await startTestServer({}, engine);
    a = await createTenant(server, 'Ephemeral A');
    b = await createTenant(server, 'Ephemeral B');
    verifierKey = (await (await server.call('GET', '/ledger/verifier-key', { key: null })).text()).trim();
  });
  afterAll(() => server.close());

  it('records attestations of several replicas on the ledger and proves each one', async () => {
    const commitment = keyCommitment(salt, 'invoices/42');
    const replicas = [await nodeSigner(), await nodeSigner(), await nodeSigner()];
    const deletedAt = Date.UTC(2026, 10, 21, 10, 0, 0, 0);
    const attestations = await Promise.all(
      replicas.map((r, i) =>
        signAttestation(r, { keyCommitment: commitment, deletedAt: deletedAt + i, reason: 'expired' }),
      ),
    );
    for (const att of attestations) {
      const made = await post(a, att);
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      expect(made.body).toMatchObject({ ...att, ledgerIndex: expect.any(Number) });
    }

    const listed = await list(a, commitment);
    expect(listed.status).toBe(200);
    expect(listed.body.keyCommitment).toBe(commitment);
    expect(listed.body.data.map((d: DeletionAttestation) => d.nodeId)).toEqual(
      attestations.map((x) => x.nodeId),
    );
    for (const item of listed.body.data) {
      const entry = new Uint8Array(Buffer.from(item.ledgerEntry, 'base64url'));
      const framed = JSON.parse(new TextDecoder().decode(entry));
      expect(framed.type).toBe('ephemeral/deletion-attestation');
      expect(framed.attestation).toEqual({
        keyCommitment: item.keyCommitment,
        deletedAt: item.deletedAt,
        reason: item.reason,
        nodeId: item.nodeId,
        signature: item.signature,
      });
      // Offline: checkpoint signed by the ledger key, the entry at the stated index.
      await verifyTlogProof(item.inclusionProof, hashLeaf(entry), [noteVerifier(verifierKey)]);
      expect(item.inclusionProof).toContain(`index ${item.ledgerIndex}\n`);
    }
  });

  it('is idempotent: the same attestation again returns the first ledger entry, also under concurrency', async () => {
    const node = await nodeSigner();
    const att = await signAttestation(node, {
      keyCommitment: keyCommitment(salt, 'once'),
      deletedAt: Date.now(),
      reason: 'burned',
    });
    const results = await Promise.all([post(a, att), post(a, att), post(a, att)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201 || s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    const again = await post(a, att);
    expect(again.status).toBe(200);
    expect(new Set([...results, again].map((r) => r.body.ledgerIndex)).size).toBe(1);
    expect((await list(a, att.keyCommitment)).body.data).toHaveLength(1);
  });

  it('refuses tampered, foreign-signed and malformed attestations without writing', async () => {
    const [n1, n2] = [await nodeSigner(), await nodeSigner()];
    const commitment = keyCommitment(salt, 'tamper');
    const att = await signAttestation(n1, {
      keyCommitment: commitment,
      deletedAt: Date.now(),
      reason: 'deleted',
    });
    const before = (await (await server.call('GET', '/ledger/checkpoint', { key: null })).text()).split(
      '\n',
    )[1];

    const tampered = await post(a, { ...att, reason: 'expired' });
    expect(tampered.status).toBe(400);
    expect(tampered.body.detail).toMatch(/does not verify/);
    expect((await post(a, { ...att, nodeId: n2.nodeId })).status).toBe(400);
    expect((await post(a, { ...att, extra: 'x' })).status).toBe(400);
    expect((await post(a, { ...att, deletedAt: 'yesterday' })).status).toBe(400);
    const huge = await server.call('POST', `/v1/projects/${a.projectId}/ephemeral/attestations`, {
      key: a.keys.developer,
      rawBody: JSON.stringify({ ...att, pad: 'x'.repeat(10_000) }),
    });
    expect(huge.status).toBe(413);

    const after = (await (await server.call('GET', '/ledger/checkpoint', { key: null })).text()).split(
      '\n',
    )[1];
    expect(after).toBe(before);
    expect((await list(a, commitment)).body.data).toEqual([]);
  });

  it('is tenant-scoped and needs the right role and scope', async () => {
    const node = await nodeSigner();
    const att = await signAttestation(node, {
      keyCommitment: keyCommitment(salt, 'scoped'),
      deletedAt: Date.now(),
      reason: 'expired',
    });
    expect((await post(a, att, b.keys.developer)).status).toBe(404);
    expect((await post(a, att, a.keys.viewer)).status).toBe(403);
    expect((await post(a, att, null)).status).toBe(401);

    // A key narrowed to ephemeral:attest submits but cannot read; one with ephemeral:read reads.
    const narrowed = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
      key: a.keys.developer,
      body: { name: 'node', role: 'developer', scopes: ['ephemeral:attest'] },
    });
    expect(narrowed.status, JSON.stringify(narrowed.body)).toBe(201);
    expect((await post(a, att, narrowed.body.secret)).status).toBe(201);
    expect((await list(a, att.keyCommitment, narrowed.body.secret)).status).toBe(403);
    expect((await list(a, att.keyCommitment)).body.data).toHaveLength(1);

    // Project B sees nothing of A's, and A's project id with B's key is a 404.
    expect((await list(b, att.keyCommitment)).body.data).toEqual([]);
    expect((await list(a, att.keyCommitment, b.keys.viewer)).status).toBe(404);
    expect((await list(a, 'not-a-commitment')).status).toBe(400);
  });
});
