import { createPublicKey, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, PG_URL, skipReason, type Tenant } from './helpers.js';
import {
  eventually,
  FAST_WORKER,
  headersOf,
  idOf,
  type Received,
  Receiver,
  sleep,
  startWebhookServer,
  WebhookApi,
  type WebhookTestServer,
} from './webhooks-helpers.js';

// Endpoints, the outbox, signing and SSRF. Retry and delivery rules: webhooks-delivery.test.ts.

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

/** Verifies a v1a signature header (no upstream library implements v1a) with a `whpk_` key. */
function verifiesV1a(request: Received, publicKey: string): boolean {
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.slice(5), 'base64').toString('base64url') },
    format: 'jwk',
  });
  const { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': header } = headersOf(request);
  return header
    .split(' ')
    .filter((part) => part.startsWith('v1a,'))
    .some((part) =>
      verify(null, Buffer.from(`${id}.${ts}.${request.body}`), key, Buffer.from(part.slice(4), 'base64')),
    );
}

describe.each(engines)('webhooks on %s', (engine) => {
  let server: WebhookTestServer;
  let receiver: Receiver;
  let api: WebhookApi;
  let base: string;
  let a: Tenant;
  let b: Tenant;
  const fresh = (name: string) => createTenant(server, `${name} ${engine}`);

  beforeAll(async () => {
    receiver = new Receiver();
    base = await receiver.listen();
    server = await startWebhookServer({ PERSONA_OUTBOUND_TRUSTED_HOSTS: '127.0.0.1' }, engine, FAST_WORKER);
    api = new WebhookApi(server, base);
    a = await fresh('Hooks A');
    b = await fresh('Hooks B');
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  it('manages endpoints: the secret is shown once, roles apply, other projects see nothing, acts are audited', async () => {
    const made = await api.endpoint(a, '/crud', {
      eventTypes: ['verification.*'],
      description: 'KYC results',
    });
    expect(made).toMatchObject({
      projectId: a.projectId,
      url: `${base}/crud`,
      eventTypes: ['verification.*'],
      signing: 'v1',
      publicKey: null,
      enabled: true,
      disabledReason: null,
    });
    expect(made.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const got = await server.json('GET', `${api.hooks(a)}/${made.id}`, { key: a.keys.auditor });
    expect(got.status).toBe(200);
    expect(got.body).not.toHaveProperty('secret');
    expect(JSON.stringify(got.body)).not.toContain(made.secret.slice(6));
    const listed = await server.json('GET', api.hooks(a), { key: a.keys.auditor });
    expect(listed.body.data.map((e: { id: string }) => e.id)).toContain(made.id);
    expect(JSON.stringify(listed.body)).not.toContain(made.secret.slice(6));

    expect((await api.create(a, { url: `${base}/x` }, a.keys.auditor)).status).toBe(403);
    expect((await server.json('GET', api.hooks(a), { key: a.keys.viewer })).status).toBe(403);
    expect((await server.json('GET', `${api.hooks(b)}/${made.id}`, { key: b.keys.owner })).status).toBe(404);
    expect((await server.json('GET', `${api.hooks(a)}/${made.id}`, { key: b.keys.owner })).status).toBe(404);

    const patched = await server.json('PATCH', `${api.hooks(a)}/${made.id}`, {
      key: a.keys.developer,
      body: { description: null, eventTypes: ['verification.approved', 'webhook.test'], rateLimit: 10 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      description: null,
      eventTypes: ['verification.approved', 'webhook.test'],
      rateLimit: 10,
    });

    for (const body of [
      { url: `${base}/x`, eventTypes: ['Verification.Approved'] },
      { url: `${base}/x`, rateLimit: 0 },
      { url: `${base}/x`, signing: 'v2' },
      { url: `${base}/x`, extra: true },
      { description: 'no url' },
    ]) {
      const refused = await api.create(a, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
    }

    expect(
      (await server.call('DELETE', `${api.hooks(a)}/${made.id}`, { key: a.keys.developer })).status,
    ).toBe(204);
    expect((await server.json('GET', `${api.hooks(a)}/${made.id}`)).status).toBe(404);

    const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`);
    const types = audit.body.data
      .filter((entry: { subject: string }) => entry.subject === made.id)
      .map((entry: { type: string }) => entry.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'webhook_endpoint.created',
        'webhook_endpoint.updated',
        'webhook_endpoint.deleted',
      ]),
    );
    expect(JSON.stringify(audit.body)).not.toContain('/crud');
  });

  it('delivers thin, signed events to the endpoints whose filters match, verified by standardwebhooks', async () => {
    const t = await fresh('Deliver');
    const all = await api.endpoint(t, '/t3/all');
    const verification = await api.endpoint(t, '/t3/verification', { eventTypes: ['verification.*'] });
    await api.endpoint(t, '/t3/other', { eventTypes: ['connector.issued'] });
    await api.endpoint(t, '/t3/exact', { eventTypes: ['verification.declined'] });
    const off = await api.endpoint(t, '/t3/off');
    await server.json('PATCH', `${api.hooks(t)}/${off.id}`, {
      key: t.keys.developer,
      body: { enabled: false },
    });

    const before = Date.now();
    const id = await api.enqueue(t, 'verification.approved', { session_id: 'vrf_1', status: 'approved' });
    expect(id).toMatch(/^evt_[0-9a-f]{32}$/);
    await receiver.until(
      () => receiver.on('/t3/all').length === 1 && receiver.on('/t3/verification').length === 1,
    );
    await sleep(150);
    for (const path of ['/t3/other', '/t3/exact', '/t3/off']) expect(receiver.on(path)).toHaveLength(0);

    for (const [made, path] of [
      [all, '/t3/all'],
      [verification, '/t3/verification'],
    ] as const) {
      const [request] = receiver.on(path) as [Received];
      expect(request.headers['content-type']).toBe('application/json');
      expect(idOf(request)).toBe(id);
      const payload = new Webhook(made.secret).verify(request.body, headersOf(request)) as any;
      expect(payload).toEqual({
        type: 'verification.approved',
        timestamp: expect.any(String),
        data: { session_id: 'vrf_1', status: 'approved', project_id: t.projectId },
      });
      expect(Date.parse(payload.timestamp)).toBeGreaterThanOrEqual(before - 1000);
    }

    const log = await api.messages(t, all.id);
    expect(log.data).toHaveLength(1);
    expect(log.data[0]).toMatchObject({
      eventId: id,
      eventType: 'verification.approved',
      status: 'succeeded',
      attemptCount: 1,
      lastStatusCode: 200,
      nextAttemptAt: null,
    });
    const detail = await api.message(t, all.id, log.data[0].id);
    expect(detail.payload.data.session_id).toBe('vrf_1');
    expect(detail.attempts).toEqual([
      {
        number: 1,
        at: expect.any(String),
        statusCode: 200,
        durationMs: expect.any(Number),
        error: null,
        nextAttemptAt: null,
      },
    ]);
    // Another project's messages are not reachable through this endpoint id.
    expect((await server.json('GET', `${api.hooks(a)}/${all.id}/messages`)).status).toBe(404);
  });

  it('writes events in the caller\u2019s transaction: nothing goes out before commit, nothing after rollback', async () => {
    const t = await fresh('Outbox');
    await api.endpoint(t, '/t4');
    let committed = '';
    await server.db.transaction().execute(async (trx) => {
      committed = await server.webhooks.enqueue(trx, {
        projectId: t.projectId,
        type: 'verification.created',
        data: {},
      });
      server.webhooks.notify();
      await sleep(150);
      expect(receiver.on('/t4')).toHaveLength(0);
    });
    server.webhooks.notify();
    await receiver.until(() => receiver.on('/t4').length === 1);
    expect(idOf(receiver.on('/t4')[0] as Received)).toBe(committed);

    await expect(
      server.db.transaction().execute(async (trx) => {
        await server.webhooks.enqueue(trx, {
          projectId: t.projectId,
          type: 'verification.expired',
          data: {},
        });
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    server.webhooks.notify();
    await sleep(200);
    expect(receiver.on('/t4')).toHaveLength(1);

    await expect(
      server.db
        .transaction()
        .execute((trx) =>
          server.webhooks.enqueue(trx, { projectId: t.projectId, type: 'Not A Type', data: {} }),
        ),
    ).rejects.toThrow(/not an event type/);
  });

  it('routes the very next event by the endpoints as they are now: filters changed, disabled, enabled, deleted', async () => {
    // On SQLite the outbox keeps a project's endpoints in memory; every change must reach the next event.
    const t = await fresh('Changes');
    const watched = await api.endpoint(t, '/t5/watched', { eventTypes: ['verification.approved'] });
    await api.endpoint(t, '/t5/clock');
    const patch = async (body: Record<string, unknown>) =>
      expect(
        (await server.json('PATCH', `${api.hooks(t)}/${watched.id}`, { key: t.keys.developer, body })).status,
      ).toBe(200);
    let sent = 0;
    /** Enqueues one event and waits until the all-events endpoint has it (the watched one had its chance). */
    const send = async (type: string) => {
      await api.enqueue(t, type, { n: ++sent });
      await receiver.until(() => receiver.on('/t5/clock').length === sent);
      await sleep(100);
      return receiver.on('/t5/watched').map((request) => JSON.parse(request.body).data.n);
    };

    expect(await send('verification.approved')).toEqual([1]);
    await patch({ eventTypes: ['verification.declined'] });
    expect(await send('verification.approved')).toEqual([1]);
    expect(await send('verification.declined')).toEqual([1, 3]);
    await patch({ enabled: false });
    expect(await send('verification.declined')).toEqual([1, 3]);
    await patch({ enabled: true });
    expect(await send('verification.declined')).toEqual([1, 3, 5]);
    expect(
      (await server.call('DELETE', `${api.hooks(t)}/${watched.id}`, { key: t.keys.developer })).status,
    ).toBe(204);
    expect(await send('verification.declined')).toEqual([1, 3, 5]);
    // A new endpoint gets the next event.
    await api.endpoint(t, '/t5/watched');
    expect(await send('verification.expired')).toEqual([1, 3, 5, 7]);
  });

  it('signs with both keys during a rotation overlap, and with the new key only after it (v1 and v1a)', async () => {
    const t = await fresh('Rotate');
    const v1 = await api.endpoint(t, '/t11/v1', { eventTypes: ['webhook.test'] });
    const rotated = await server.json('POST', `${api.hooks(t)}/${v1.id}/rotate-secret`, {
      key: t.keys.developer,
      body: { overlapSeconds: 3600 },
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(v1.secret);
    expect(Date.parse(rotated.body.previousKeyExpiresAt) - Date.now()).toBeGreaterThan(3500_000);

    const sent = await server.json('POST', `${api.hooks(t)}/${v1.id}/test`, { key: t.keys.developer });
    expect(sent.status).toBe(202);
    await receiver.until(() => receiver.on('/t11/v1').length === 1);
    const overlap = receiver.on('/t11/v1')[0] as Received;
    expect(idOf(overlap)).toBe(sent.body.eventId);
    expect(overlap.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    for (const secret of [v1.secret, rotated.body.secret]) {
      expect(new Webhook(secret).verify(overlap.body, headersOf(overlap))).toMatchObject({
        type: 'webhook.test',
        data: { endpoint_id: v1.id, project_id: t.projectId },
      });
    }

    // No overlap: the replaced key stops signing at once. A bare POST would keep the 24 h default.
    const again = await server.json('POST', `${api.hooks(t)}/${v1.id}/rotate-secret`, {
      key: t.keys.developer,
      body: { overlapSeconds: 0 },
    });
    expect(again.body.previousKeyExpiresAt).toBeNull();
    await server.json('POST', `${api.hooks(t)}/${v1.id}/test`, { key: t.keys.developer });
    await receiver.until(() => receiver.on('/t11/v1').length === 2);
    const after = receiver.on('/t11/v1')[1] as Received;
    expect(after.headers['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(() => new Webhook(again.body.secret).verify(after.body, headersOf(after))).not.toThrow();
    expect(() => new Webhook(rotated.body.secret).verify(after.body, headersOf(after))).toThrow();

    const v1a = await api.endpoint(t, '/t11/v1a', { signing: 'v1a' });
    expect(v1a).not.toHaveProperty('secret');
    expect(v1a.publicKey).toMatch(/^whpk_/);
    await server.json('POST', `${api.hooks(t)}/${v1a.id}/test`, { key: t.keys.developer });
    await receiver.until(() => receiver.on('/t11/v1a').length === 1);
    expect(verifiesV1a(receiver.on('/t11/v1a')[0] as Received, v1a.publicKey)).toBe(true);
    const rotatedV1a = await server.json('POST', `${api.hooks(t)}/${v1a.id}/rotate-secret`, {
      key: t.keys.developer,
    });
    expect(rotatedV1a.body.publicKey).not.toBe(v1a.publicKey);
    expect(rotatedV1a.body).not.toHaveProperty('secret');
    await server.json('POST', `${api.hooks(t)}/${v1a.id}/test`, { key: t.keys.developer });
    await receiver.until(() => receiver.on('/t11/v1a').length === 2);
    const both = receiver.on('/t11/v1a')[1] as Received;
    expect(both.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(verifiesV1a(both, v1a.publicKey)).toBe(true);
    expect(verifiesV1a(both, rotatedV1a.body.publicKey)).toBe(true);

    const audit = await server.json('GET', `/v1/projects/${t.projectId}/audit?limit=100`);
    expect(
      audit.body.data.filter((e: { type: string }) => e.type === 'webhook_endpoint.secret_rotated'),
    ).toHaveLength(3);
    expect(JSON.stringify(audit.body)).not.toContain(rotated.body.secret.slice(6));
  });

  it('sends test events and pages through the delivery log', async () => {
    const t = await fresh('Log');
    const made = await api.endpoint(t, '/t13', { eventTypes: ['verification.approved'] });
    const sent: string[] = [];
    for (let n = 0; n < 3; n++) {
      const answer = await server.json('POST', `${api.hooks(t)}/${made.id}/test`, { key: t.keys.developer });
      expect(answer.status).toBe(202);
      sent.push(answer.body.messageId);
    }
    expect(
      (await server.json('POST', `${api.hooks(t)}/${made.id}/test`, { key: t.keys.auditor })).status,
    ).toBe(403);
    // Received is not yet recorded: wait for the worker to write the three successes.
    await eventually(
      () => api.messages(t, made.id, '?status=succeeded'),
      (log) => log.data.length === 3,
    );
    expect(receiver.on('/t13')).toHaveLength(3);
    const first = await api.messages(t, made.id, '?limit=2');
    expect(first.data.map((m: { id: string }) => m.id)).toEqual([sent[2], sent[1]]);
    const second = await api.messages(t, made.id, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.data.map((m: { id: string }) => m.id)).toEqual([sent[0]]);
    expect(second.nextCursor).toBeNull();
    expect((await api.messages(t, made.id, '?status=failed')).data).toHaveLength(0);
    expect((await server.json('GET', `${api.hooks(t)}/${made.id}/messages?cursor=bogus`)).status).toBe(400);
    const detail = await api.message(t, made.id, sent[0] as string);
    expect(detail.payload).toMatchObject({ type: 'webhook.test', data: { endpoint_id: made.id } });
  });
});

describe.each(engines)('webhook deliveries to names that resolve to private addresses, on %s', (engine) => {
  let server: WebhookTestServer;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.listen();
    // 127.0.0.1 is not trusted here, as in production.
    server = await startWebhookServer({}, engine, { ...FAST_WORKER, disableAfterMs: 400 });
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  it('refuses endpoint URLs that point at private, loopback or metadata addresses', async () => {
    const t = await createTenant(server, `SSRF ${engine}`);
    const hooks = `/v1/projects/${t.projectId}/webhooks`;
    const create = (url: string) => server.json('POST', hooks, { key: t.keys.developer, body: { url } });
    for (const url of [
      'http://10.0.0.1/x',
      'https://127.0.0.1/',
      'https://[::1]/',
      'https://169.254.169.254/latest/meta-data',
      `http://127.0.0.1:${receiver.port}/`,
    ]) {
      const refused = await create(url);
      expect(refused.status, url).toBe(400);
      expect(refused.body.errors[0].pointer).toBe('#/url');
    }
    const made = await create('https://hooks.example.com/in');
    expect(made.status).toBe(201);
    const patched = await server.json('PATCH', `${hooks}/${made.body.id}`, {
      key: t.keys.developer,
      body: { url: 'https://[::ffff:169.254.169.254]/' },
    });
    expect(patched.status).toBe(400);
    expect((await server.json('GET', hooks, { key: t.keys.auditor })).body.data).toHaveLength(1);
  });

  it('fails the delivery with the SSRF error, and disables the endpoint after failing for disableAfterMs', async () => {
    const t = await createTenant(server, `Rebinding ${engine}`);
    const hooks = `/v1/projects/${t.projectId}/webhooks`;
    const made = await server.json('POST', hooks, {
      key: t.keys.developer,
      body: { url: `https://localhost:${receiver.port}/hook` },
    });
    expect(made.status).toBe(201);

    await server.db
      .transaction()
      .execute((trx) =>
        server.webhooks.enqueue(trx, { projectId: t.projectId, type: 'verification.approved', data: {} }),
      );
    server.webhooks.notify();
    const endpoint = await eventually(
      async () => (await server.json('GET', `${hooks}/${made.body.id}`)).body,
      (e) => e.enabled === false,
    );
    expect(endpoint.disabledReason).toBe('failing');
    const log = (await server.json('GET', `${hooks}/${made.body.id}/messages`)).body;
    const detail = (await server.json('GET', `${hooks}/${made.body.id}/messages/${log.data[0].id}`)).body;
    expect(detail.attempts.length).toBeGreaterThanOrEqual(2);
    for (const attempt of detail.attempts) {
      expect(attempt.statusCode).toBeNull();
      expect(attempt.error).toMatch(/127\.0\.0\.1 is not a public address|::1 is not a public address/);
    }
    expect(receiver.received).toHaveLength(0);
  });
});
