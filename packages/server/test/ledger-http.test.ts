import {
  decodeEntryBundle,
  hashLeaf,
  noteVerifier,
  openNote,
  parseCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from '@personachain/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';

if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

async function verifiedCheckpoint(server: TestServer) {
  const response = await server.call('GET', '/ledger/checkpoint', { key: null });
  expect(response.status).toBe(200);
  const vkey = (await (await server.call('GET', '/ledger/verifier-key', { key: null })).text()).trim();
  const opened = await openNote(await response.text(), [noteVerifier(vkey)]);
  return parseCheckpoint(opened.text);
}

/** Audit entries are integrated within milliseconds; poll until every listed entry has its index. */
async function auditPage(server: TestServer, projectId: string, query: string, key?: string) {
  for (let attempt = 0; ; attempt++) {
    const page = await server.json('GET', `/v1/projects/${projectId}/audit?${query}`, { key });
    if (page.status !== 200 || page.body.data.every((e: any) => e.ledgerIndex !== null) || attempt > 50) {
      return page;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function suite(engine: 'sqlite' | 'postgres') {
  let server: TestServer;
  let alpha: Tenant;
  let beta: Tenant;

  beforeAll(async () => {
    server = await startTestServer({}, engine);
    alpha = await createTenant(server, 'Alpha');
    beta = await createTenant(server, 'Beta');
  });
  afterAll(() => server.close());

  it('publishes a signed checkpoint and its verifier key without authentication', async () => {
    const response = await server.call('GET', '/ledger/checkpoint', { key: null });
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d$/);
    // Bootstrap, two organizations, their projects and twelve keys: 17 acts, on the log within milliseconds.
    let checkpoint = await verifiedCheckpoint(server);
    for (let attempt = 0; checkpoint.size < 17 && attempt < 50; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      checkpoint = await verifiedCheckpoint(server);
    }
    expect(checkpoint.origin).toMatch(/^127\.0\.0\.1:\d+\/ledger$/);
    expect(checkpoint.size).toBe(17);
  });

  it("lists a project's audit trail, each entry provably in the signed log", async () => {
    const page = await auditPage(server, alpha.projectId, 'proof=true&limit=100', alpha.keys.auditor);
    expect(page.status).toBe(200);
    const types = page.body.data.map((entry: any) => entry.type);
    expect(types).toEqual(['project.created', ...Array(6).fill('api_key.created')]);
    const checkpoint = parseCheckpoint(
      (await openNote(page.body.checkpoint, [noteVerifier(await verifierKey(server))])).text,
    );
    for (const entry of page.body.data) {
      expect(entry.projectId).toBe(alpha.projectId);
      const parsed = JSON.parse(entry.entry);
      expect(parsed).toMatchObject({ v: 1, id: entry.id, type: entry.type, project: alpha.projectId });
      expect(entry.proof.size).toBe(checkpoint.size);
      verifyInclusion(
        entry.ledgerIndex,
        checkpoint.size,
        hashLeaf(new TextEncoder().encode(entry.entry)),
        entry.proof.hashes.map(fromBase64),
        checkpoint.root,
      );
    }
    // Ids, roles and scopes only: no secret and no key name reaches the log.
    const created = page.body.data.find((entry: any) => entry.type === 'api_key.created');
    expect(created.details).toEqual({ role: 'owner', scopes: ['*'], expiresAt: null });
    expect(JSON.stringify(page.body)).not.toContain('sk_');
  });

  it('records revocations and member changes, without personal data', async () => {
    const revoke = await server.call(
      'DELETE',
      `/v1/projects/${alpha.projectId}/api-keys/${alpha.keyIds.viewer}`,
    );
    expect(revoke.status).toBe(204);
    const page = await auditPage(server, alpha.projectId, 'limit=100', alpha.keys.admin);
    const revoked = page.body.data.at(-1);
    expect(revoked).toMatchObject({ type: 'api_key.revoked', subject: alpha.keyIds.viewer });
    expect(revoked.actor).toMatch(/^key_/);

    const member = await server.json('POST', `/v1/organizations/${alpha.orgId}/members`, {
      body: { email: 'Dana@Example.com', role: 'developer' },
    });
    expect(member.status).toBe(201);
    await server.call('PATCH', `/v1/organizations/${alpha.orgId}/members/${member.body.id}`, {
      body: { role: 'admin' },
    });
    // Organization-level acts are on the log too; find them through their ledger entries.
    const entries = await ledgerEntriesUntil(server, (entry) => entry.type === 'member.role_changed');
    const changed = entries.find((entry) => entry.type === 'member.role_changed');
    expect(changed).toMatchObject({ subject: member.body.id, details: { from: 'developer', to: 'admin' } });
    expect(JSON.stringify(entries).toLowerCase()).not.toContain('dana@example.com');
  });

  it("answers 404 for another tenant's audit trail and 403 below the auditor role", async () => {
    const foreign = await server.json('GET', `/v1/projects/${beta.projectId}/audit`, {
      key: alpha.keys.owner,
    });
    expect(foreign.status).toBe(404);
    const viewer = await server.json('GET', `/v1/projects/${beta.projectId}/audit`, {
      key: beta.keys.viewer,
    });
    expect(viewer.status).toBe(403);
    const own = await server.json('GET', `/v1/projects/${beta.projectId}/audit`, { key: beta.keys.auditor });
    expect(own.status).toBe(200);
    expect(own.body.data.every((entry: any) => entry.projectId === beta.projectId)).toBe(true);
    const anonymous = await server.json('GET', `/v1/projects/${beta.projectId}/audit`, { key: null });
    expect(anonymous.status).toBe(401);
  });

  it('serves tiles with immutable caching only when full, and proofs that verify', async () => {
    const checkpoint = await verifiedCheckpoint(server);
    const width = checkpoint.size % 256;
    const partial = await server.call('GET', `/ledger/tile/0/000.p/${width}`, { key: null });
    expect(partial.status).toBe(200);
    expect(partial.headers.get('content-type')).toBe('application/octet-stream');
    expect(partial.headers.get('cache-control')).not.toContain('immutable');
    const hashes = new Uint8Array(await partial.arrayBuffer());
    expect(hashes.length).toBe(width * 32);
    expect((await server.call('GET', `/ledger/tile/0/000.p/${width + 1}`, { key: null })).status).toBe(404);
    expect((await server.call('GET', '/ledger/tile/0/000', { key: null })).status).toBe(404);
    expect((await server.call('GET', '/ledger/tile/0/0', { key: null })).status).toBe(404);

    const inclusion = await server.json('GET', `/ledger/proofs/inclusion?index=3&size=${checkpoint.size}`, {
      key: null,
    });
    expect(inclusion.status).toBe(200);
    verifyInclusion(
      3,
      checkpoint.size,
      hashes.subarray(96, 128),
      inclusion.body.hashes.map(fromBase64),
      checkpoint.root,
    );

    const consistency = await server.json('GET', `/ledger/proofs/consistency?from=2&to=${checkpoint.size}`, {
      key: null,
    });
    const root2 = (await server.json('GET', '/ledger/proofs/inclusion?index=0&size=2', { key: null })).body;
    expect(root2.hashes).toHaveLength(1);
    const leaves = [hashes.subarray(0, 32), hashes.subarray(32, 64)];
    const { hashChildren } = await import('@personachain/ledger');
    verifyConsistency(
      2,
      checkpoint.size,
      consistency.body.hashes.map(fromBase64),
      hashChildren(leaves[0] as Uint8Array, leaves[1] as Uint8Array),
      checkpoint.root,
    );

    const beyond = await server.json(
      'GET',
      `/ledger/proofs/inclusion?index=0&size=${checkpoint.size + 1000}`,
      {
        key: null,
      },
    );
    expect(beyond.status).toBe(400);
    expect(beyond.body.errors[0].pointer).toBe('#/size');
    const bad = await server.json('GET', '/ledger/proofs/consistency?from=0', { key: null });
    expect(bad.status).toBe(400);
  });
}

/** The log's first 256 entries, read back from the public entry bundle once one matches `found`. */
async function ledgerEntriesUntil(server: TestServer, found: (entry: any) => boolean): Promise<any[]> {
  for (let attempt = 0; ; attempt++) {
    const { size } = await verifiedCheckpoint(server);
    const bundle = await server.call('GET', `/ledger/tile/entries/000.p/${Math.min(size, 256)}`, {
      key: null,
    });
    const entries = decodeEntryBundle(new Uint8Array(await bundle.arrayBuffer())).map((bytes) =>
      JSON.parse(new TextDecoder().decode(bytes)),
    );
    if (entries.some(found) || attempt > 50) return entries;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function verifierKey(server: TestServer): Promise<string> {
  return (await (await server.call('GET', '/ledger/verifier-key', { key: null })).text()).trim();
}

describe('ledger and audit over HTTP on sqlite', () => suite('sqlite'));
describe.skipIf(!PG_URL)('ledger and audit over HTTP on postgres', () => suite('postgres'));

describe('audit atomicity', () => {
  it('an act whose audit entry cannot be written does not happen', async () => {
    const { default: SQLite } = await import('better-sqlite3');
    const server = await startTestServer();
    const tenant = await createTenant(server, 'Gamma');
    const before = await server.json('GET', `/v1/projects/${tenant.projectId}/api-keys?limit=100`);
    await server.close({ keepData: true });

    // Break the audit table, then start again on the same data: creating a key must fail whole.
    const db = new SQLite(`${server.dataDir}/persona.db`);
    db.exec('DROP TABLE audit_events');
    db.close();
    const again = await startTestServer({ PERSONA_DATA_DIR: server.dataDir });
    try {
      const created = await again.json('POST', `/v1/projects/${tenant.projectId}/api-keys`, {
        body: { name: 'never', role: 'viewer' },
      });
      expect(created.status).toBe(500);
      const after = await again.json('GET', `/v1/projects/${tenant.projectId}/api-keys?limit=100`);
      expect(after.body.data).toHaveLength(before.body.data.length);
    } finally {
      await again.close();
    }
  });
});
