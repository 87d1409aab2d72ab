import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/database.js';
import { createTenant, startTestServer, type Tenant, type TestServer } from './helpers.js';

let server: TestServer;
let tenant: Tenant;

beforeAll(async () => {
  server = await startTestServer();
  tenant = await createTenant(server, 'Idem');
});
afterAll(() => server?.close());

const post = (key: string, body: unknown, apiKey?: string) =>
  server.json('POST', `/v1/projects/${tenant.projectId}/api-keys`, {
    body,
    key: apiKey,
    headers: { 'idempotency-key': key },
  });

describe('Idempotency-Key', () => {
  it('replays the first response for the same key and body, creating one key only', async () => {
    const first = await post('create-ci-key', { name: 'ci' });
    const second = await post('create-ci-key', { name: 'ci' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const list = await server.json('GET', `/v1/projects/${tenant.projectId}/api-keys?limit=100`);
    expect(list.body.data.filter((k: { name: string }) => k.name === 'ci')).toHaveLength(1);
  });

  it('rejects the same key with a different body with 422', async () => {
    await post('reuse-me', { name: 'one' });
    const other = await post('reuse-me', { name: 'two' });
    expect(other.status).toBe(422);
    expect(other.body.type).toBe('urn:personachain:problem:idempotency-key-reused');
  });

  it('keeps keys private to each caller', async () => {
    const mine = await post('shared-name', { name: 'mine' });
    const theirs = await post('shared-name', { name: 'mine' }, tenant.keys.owner);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('keeps only successes: after a rejected request, the corrected retry may reuse the key', async () => {
    const invalid = await post('fix-and-retry', { name: 5 });
    expect(invalid.status).toBe(400);
    // Rejected by the service itself, not the schema: still not kept.
    const past = await post('fix-and-retry', { name: 'late', expiresAt: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    const valid = await post('fix-and-retry', {
      name: 'late',
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(valid.status).toBe(201);
  });

  it('treats the same fields in another order as the same request', async () => {
    const first = await post('reordered', { name: 'ordered', role: 'viewer' });
    const again = await post('reordered', { role: 'viewer', name: 'ordered' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
  });

  it('rejects malformed Idempotency-Key values', async () => {
    const response = await post('x'.repeat(300), { name: 'long' });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].pointer).toBe('#/idempotency-key');
  });

  it('stores the replayable response encrypted: the secret is not in the database', async () => {
    const own = await startTestServer();
    const org = await own.json('POST', '/v1/organizations', { body: { name: 'Sealed' } });
    const project = await own.json('POST', `/v1/organizations/${org.body.id}/projects`, {
      body: { name: 'p' },
    });
    const created = await own.json('POST', `/v1/projects/${project.body.id}/api-keys`, {
      body: { name: 'sealed' },
      headers: { 'idempotency-key': 'secret-check' },
    });
    // The embedded database is exclusive to its server: inspect the file once the server has stopped.
    await own.close({ keepData: true });
    const store = openStore(`sqlite:${own.dataDir}/persona.db`);
    try {
      const rows = await store.db.selectFrom('idempotency_keys').select(['response_body']).execute();
      expect(rows.length).toBe(1);
      expect(rows[0]?.response_body).not.toContain(created.body.secret);
      expect(rows[0]?.response_body).not.toContain(created.body.id);
      const key = await store.db
        .selectFrom('api_keys')
        .selectAll()
        .where('id', '=', created.body.id)
        .executeTakeFirstOrThrow();
      expect(JSON.stringify(key)).not.toContain(created.body.secret);
    } finally {
      await store.close();
      rmSync(own.dataDir, { recursive: true, force: true });
    }
  });

  it('answers 409 while the first request with a key is still in flight', async () => {
    const responses = await Promise.all([post('racing', { name: 'race' }), post('racing', { name: 'race' })]);
    const statuses = responses.map((r) => r.status).sort();
    // Either the second arrived while the first was running (409) or after it finished (replay).
    expect([
      [201, 201],
      [201, 409],
    ]).toContainEqual(statuses);
    const list = await server.json('GET', `/v1/projects/${tenant.projectId}/api-keys?limit=100`);
    expect(list.body.data.filter((k: { name: string }) => k.name === 'race')).toHaveLength(1);
  });
});
