import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointCache } from '../src/modules/webhooks/endpoint-cache.js';
import { WebhookRepo } from '../src/modules/webhooks/repo.js';
import { migrate, openStore, type Store } from '../src/store/database.js';
import type { WebhookEndpointsTable } from '../src/store/schema.js';

// The outbox's in-memory endpoints on the embedded database: what it answers must always be what the
// database holds, whatever commits, rolls back or overlaps. The API-level behaviour is in webhooks.test.ts.

const PROJECT = 'prj_0000000000000000000000000000cac1';

function endpointRow(id: string, eventTypes: string[]): WebhookEndpointsTable {
  const at = new Date().toISOString();
  return {
    id,
    project_id: PROJECT,
    url: `https://receiver.example/${id}`,
    description: null,
    event_types: JSON.stringify(eventTypes),
    signing: 'v1',
    secret_box: 'sealed',
    public_key: null,
    previous_secret_box: null,
    previous_expires_at: null,
    rate_limit: null,
    enabled: 1,
    disabled_reason: null,
    failing_since: null,
    created_at: at,
    updated_at: at,
  };
}

describe('webhook endpoints kept in memory (embedded database)', () => {
  let store: Store;
  let cache: EndpointCache;
  let repo: WebhookRepo;
  const ids = async () => (await repo.enabledEndpoints(PROJECT)).map((endpoint) => endpoint.id);

  beforeAll(async () => {
    store = openStore('sqlite::memory:');
    await migrate(store);
    cache = new EndpointCache();
    repo = new WebhookRepo(store.db, cache);
  });
  afterAll(() => store.close());

  it('serves no change before it commits, forgets one that rolled back, and keeps no read that overlapped one', async () => {
    await repo.insertEndpoint(endpointRow('whe_a', []));
    expect(await ids()).toEqual(['whe_a']);
    expect(cache.get(PROJECT)).toEqual([{ id: 'whe_a', eventTypes: [] }]);

    // Inside the transaction the change is visible, also to the outbox's own repository on it (which
    // may keep it); after the rollback it is gone from memory too.
    await expect(
      repo.transaction(async (inside) => {
        await inside.insertEndpoint(endpointRow('whe_b', ['verification.approved']));
        const outbox = repo.on(inside.db);
        expect((await outbox.enabledEndpoints(PROJECT)).map((endpoint) => endpoint.id)).toEqual([
          'whe_a',
          'whe_b',
        ]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await ids()).toEqual(['whe_a']);
    // The change is over: the cache serves again.
    expect(cache.get(PROJECT)).toEqual([{ id: 'whe_a', eventTypes: [] }]);

    // A read that began before a change and ended after it is answered but not kept.
    cache.hold();
    cache.release();
    const overlapping = repo.enabledEndpoints(PROJECT);
    const disabled = repo.disableEndpoint('whe_a', 'manual', Date.now());
    expect((await overlapping).map((endpoint) => endpoint.id)).toEqual(['whe_a']);
    expect(await disabled).toBe(true);
    expect(await ids()).toEqual([]);

    await repo.updateEndpoint(PROJECT, 'whe_a', { enabled: 1, event_types: '["verification.*"]' });
    expect(await repo.enabledEndpoints(PROJECT)).toEqual([{ id: 'whe_a', eventTypes: ['verification.*'] }]);
    await repo.deleteEndpoint(PROJECT, 'whe_a');
    expect(await ids()).toEqual([]);
  });
});
