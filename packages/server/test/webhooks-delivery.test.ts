import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, PG_URL, skipReason } from './helpers.js';
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

// Delivery rules: order and exactly-once delivery to a receiver that was down, the retry schedule, 410,
// 429/502 with Retry-After, redirects, timeouts, abort-message, rate limits. On a fast schedule
// (FAST_WORKER: 10 attempts 50 ms apart); the real schedule's arithmetic is in webhooks-signing.test.ts.

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

describe.each(engines)('webhook delivery on %s', (engine) => {
  let server: WebhookTestServer;
  let receiver: Receiver;
  let api: WebhookApi;
  let base: string;
  const fresh = (name: string) => createTenant(server, `${name} ${engine}`);

  beforeAll(async () => {
    receiver = new Receiver();
    base = await receiver.listen();
    server = await startWebhookServer({ PERSONA_OUTBOUND_TRUSTED_HOSTS: '127.0.0.1' }, engine, FAST_WORKER);
    api = new WebhookApi(server, base);
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  it('gives a receiver that was down every event exactly once, in order, without holding up other endpoints', async () => {
    const t = await fresh('Down');
    const flaky = await api.endpoint(t, '/t5/flaky');
    await api.endpoint(t, '/t5/ok');
    let down = true;
    receiver.answer = (request) => (request.path === '/t5/flaky' && down ? { status: 503 } : { status: 200 });
    try {
      const ids: string[] = [];
      for (let n = 0; n < 5; n++) ids.push(await api.enqueue(t, 'verification.processing', { n }));
      // The healthy endpoint gets everything while the other one's first event is being retried.
      await receiver.until(() => receiver.on('/t5/ok').length === 5 && receiver.on('/t5/flaky').length >= 3);
      expect(receiver.on('/t5/ok').map(idOf)).toEqual(ids);
      expect(new Set(receiver.on('/t5/flaky').map(idOf))).toEqual(new Set([ids[0]]));

      down = false;
      await receiver.until(() => receiver.on('/t5/flaky').filter((r) => r.status === 200).length >= 5);
      await sleep(150);
      const flakyRequests = receiver.on('/t5/flaky');
      const delivered = flakyRequests.filter((r) => r.status === 200);
      // Each event delivered once, in the order they happened; nothing sent again once delivered.
      expect(delivered.map(idOf)).toEqual(ids);
      const afterUp = flakyRequests.slice(flakyRequests.indexOf(delivered[0] as Received));
      expect(afterUp).toEqual(delivered);
      for (const request of afterUp) new Webhook(flaky.secret).verify(request.body, headersOf(request));
      const log = await api.messages(t, flaky.id);
      expect(log.data.map((m: { status: string }) => m.status)).toEqual(Array(5).fill('succeeded'));
      expect(log.data.at(-1).attemptCount).toBeGreaterThanOrEqual(4);
    } finally {
      receiver.answer = () => ({ status: 200 });
    }
  });

  it('fails a message after the last scheduled attempt, logs each attempt, and replays it with the same webhook-id', async () => {
    const t = await fresh('Exhaust');
    const made = await api.endpoint(t, '/t6');
    let status = 500;
    receiver.answer = (request) => (request.path === '/t6' ? { status } : { status: 200 });
    try {
      const id = await api.enqueue(t, 'verification.error', { session_id: 'vrf_6' });
      const [failed] = (
        await eventually(
          () => api.messages(t, made.id),
          (log) => log.data[0]?.status === 'failed',
        )
      ).data;
      expect(failed).toMatchObject({ attemptCount: 10, lastStatusCode: 500, nextAttemptAt: null });
      const detail = await api.message(t, made.id, failed.id);
      expect(detail.attempts).toHaveLength(10);
      expect(detail.attempts.map((x: { number: number }) => x.number)).toEqual([
        10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
      ]);
      expect(detail.attempts.every((x: { statusCode: number }) => x.statusCode === 500)).toBe(true);
      expect(detail.attempts[0].nextAttemptAt).toBeNull();
      expect(detail.attempts[1].nextAttemptAt).toEqual(expect.any(String));
      expect(receiver.on('/t6')).toHaveLength(10);
      const failing = await server.json('GET', `${api.hooks(t)}/${made.id}`);
      expect(failing.body.failingSince).toEqual(expect.any(String));

      status = 200;
      const replayed = await server.json('POST', `${api.hooks(t)}/${made.id}/messages/${failed.id}/replay`, {
        key: t.keys.developer,
      });
      expect(replayed.status).toBe(202);
      await receiver.until(() => receiver.on('/t6').length === 11);
      expect(idOf(receiver.on('/t6')[10] as Received)).toBe(id);
      await eventually(
        () => api.message(t, made.id, failed.id),
        (m) => m.status === 'succeeded' && m.attemptCount === 11,
      );
      expect((await server.json('GET', `${api.hooks(t)}/${made.id}`)).body.failingSince).toBeNull();

      expect(
        (
          await server.json('POST', `${api.hooks(t)}/${made.id}/messages/${failed.id}/replay`, {
            key: t.keys.auditor,
          })
        ).status,
      ).toBe(403);
      expect(
        (
          await server.json('POST', `${api.hooks(t)}/${made.id}/messages/msg_${'0'.repeat(32)}/replay`, {
            key: t.keys.developer,
          })
        ).status,
      ).toBe(404);
    } finally {
      receiver.answer = () => ({ status: 200 });
    }
  });

  it('disables an endpoint that answers 410 and cancels its queue; enabled again, it gets new events only', async () => {
    const t = await fresh('Gone');
    const made = await api.endpoint(t, '/t7');
    let gone = true;
    receiver.answer = (request) => (request.path === '/t7' && gone ? { status: 410 } : { status: 200 });
    try {
      // Together: enqueued one by one, the first 410 could disable the endpoint before the third is queued.
      await api.enqueueTogether(t, 'verification.canceled', [{ n: 0 }, { n: 1 }, { n: 2 }]);
      const disabled = await eventually(
        async () => (await server.json('GET', `${api.hooks(t)}/${made.id}`)).body,
        (e) => e.enabled === false,
      );
      expect(disabled.disabledReason).toBe('gone');
      const log = await eventually(
        () => api.messages(t, made.id),
        (l) => l.data.every((m: { status: string }) => m.status !== 'pending'),
      );
      expect(log.data.map((m: { status: string }) => m.status)).toEqual(['canceled', 'canceled', 'failed']);
      expect(receiver.on('/t7')).toHaveLength(1);

      const last = log.data[0].id;
      const replay = await server.json('POST', `${api.hooks(t)}/${made.id}/messages/${last}/replay`, {
        key: t.keys.developer,
      });
      expect(replay.status).toBe(409);
      expect(
        (await server.json('POST', `${api.hooks(t)}/${made.id}/test`, { key: t.keys.developer })).status,
      ).toBe(409);
      // Disabled endpoints get no new deliveries.
      await api.enqueue(t, 'verification.created');
      expect((await api.messages(t, made.id)).data).toHaveLength(3);

      gone = false;
      const enabled = await server.json('PATCH', `${api.hooks(t)}/${made.id}`, {
        key: t.keys.developer,
        body: { enabled: true },
      });
      expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null });
      const fresh = await api.enqueue(t, 'verification.submitted');
      await receiver.until(() => receiver.on('/t7').length === 2);
      await sleep(100);
      expect(receiver.on('/t7').map(idOf)[1]).toBe(fresh);
      expect(receiver.on('/t7')).toHaveLength(2);
    } finally {
      receiver.answer = () => ({ status: 200 });
    }
  });

  it('retries 429 without using up attempts, and waits for Retry-After on 429/502/504', async () => {
    const t = await fresh('Throttle');
    const throttled = await api.endpoint(t, '/t8/throttled');
    await api.endpoint(t, '/t8/bad-gateway');
    receiver.answer = (request) => {
      if (request.path === '/t8/throttled' && receiver.on('/t8/throttled').length <= 12)
        return { status: 429 };
      if (request.path === '/t8/bad-gateway' && receiver.on('/t8/bad-gateway').length === 1) {
        return { status: 502, headers: { 'retry-after': '1' } };
      }
      return { status: 200 };
    };
    try {
      await api.enqueue(t, 'verification.needs_review');
      await receiver.until(
        () => receiver.on('/t8/throttled').length === 13 && receiver.on('/t8/bad-gateway').length === 2,
      );
      // 12 answers of 429, more than the 10 attempts of the schedule, and the message still succeeded.
      const [done] = (
        await eventually(
          () => api.messages(t, throttled.id),
          (l) => l.data[0]?.status === 'succeeded',
        )
      ).data;
      expect(done.attemptCount).toBe(13);
      const [first, second] = receiver.on('/t8/bad-gateway') as [Received, Received];
      expect(second.at - first.at).toBeGreaterThanOrEqual(950);
    } finally {
      receiver.answer = () => ({ status: 200 });
    }
  });

  it('counts redirects and timeouts as failures, and stops when the receiver says abort-message', async () => {
    const t = await fresh('Odd answers');
    const redirect = await api.endpoint(t, '/t9/redirect');
    const hang = await api.endpoint(t, '/t9/hang');
    const abort = await api.endpoint(t, '/t9/abort');
    receiver.answer = (request) => {
      if (request.path === '/t9/redirect') return { status: 302, headers: { location: `${base}/t9/target` } };
      if (request.path === '/t9/hang') return 'hang';
      if (request.path === '/t9/abort')
        return { status: 400, headers: { 'webhook-delivery': 'abort-message' } };
      return { status: 200 };
    };
    try {
      await api.enqueue(t, 'verification.awaiting_input');
      const firstAttempt = async (endpointId: string) => {
        const log = await eventually(
          () => api.messages(t, endpointId),
          (l) => (l.data[0]?.attemptCount ?? 0) >= 1,
          3_000,
        );
        return (await api.message(t, endpointId, log.data[0].id)).attempts.at(-1);
      };
      expect(await firstAttempt(redirect.id)).toMatchObject({
        statusCode: 302,
        error: 'redirects are not followed',
      });
      expect(await firstAttempt(hang.id)).toMatchObject({
        statusCode: null,
        error: 'no answer within 500 ms',
      });
      const aborted = await eventually(
        () => api.messages(t, abort.id),
        (l) => l.data[0]?.status === 'failed',
      );
      expect(aborted.data[0].attemptCount).toBe(1);
      expect(receiver.on('/t9/target')).toHaveLength(0);
    } finally {
      for (const made of [redirect, hang])
        await server.call('DELETE', `${api.hooks(t)}/${made.id}`, { key: t.keys.developer });
      receiver.answer = () => ({ status: 200 });
    }
  });

  it('holds deliveries over the project and endpoint rate limits back without dropping any', async () => {
    const t = await fresh('Limited');
    await api.endpoint(t, '/t12/project');
    const started = Date.now();
    for (let n = 0; n < 25; n++) await api.enqueue(t, 'verification.created', { n });
    await receiver.until(() => receiver.on('/t12/project').length === 25, 5_000);
    // A burst of 5, then 20 a second: the other 20 take about a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    const u = await fresh('Limited endpoint');
    await api.endpoint(u, '/t12/endpoint', { rateLimit: 4 });
    const begun = Date.now();
    for (let n = 0; n < 8; n++) await api.enqueue(u, 'verification.created', { n });
    await receiver.until(() => receiver.on('/t12/endpoint').length === 8, 5_000);
    expect(Date.now() - begun).toBeGreaterThanOrEqual(900);
    await sleep(50);
    expect(new Set(receiver.on('/t12/endpoint').map(idOf)).size).toBe(8);
  });
});

describe.each(engines)('webhook retention on %s', (engine) => {
  let server: WebhookTestServer;
  let receiver: Receiver;
  let api: WebhookApi;

  beforeAll(async () => {
    receiver = new Receiver();
    const base = await receiver.listen();
    server = await startWebhookServer({ PERSONA_OUTBOUND_TRUSTED_HOSTS: '127.0.0.1' }, engine, {
      ...FAST_WORKER,
      retentionMs: 300,
      purgeIntervalMs: 100,
    });
    api = new WebhookApi(server, base);
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  it('deletes finished messages, their attempts and events after the retention period, not pending ones', async () => {
    const t = await createTenant(server, `Retention ${engine}`);
    const done = await api.endpoint(t, '/r/done');
    const stuck = await api.endpoint(t, '/r/stuck');
    receiver.answer = (request) => (request.path === '/r/stuck' ? 'hang' : { status: 200 });
    await api.enqueue(t, 'verification.approved');
    const [delivered] = (
      await eventually(
        () => api.messages(t, done.id),
        (l) => l.data[0]?.status === 'succeeded',
      )
    ).data;
    await eventually(
      () => api.messages(t, done.id),
      (l) => l.data.length === 0,
    );
    expect((await server.json('GET', `${api.hooks(t)}/${done.id}/messages/${delivered.id}`)).status).toBe(
      404,
    );
    // The other endpoint's message is still being retried: it stays, and so does the event it needs.
    const [waiting] = (await api.messages(t, stuck.id)).data;
    expect(['pending', 'delivering']).toContain(waiting.status);
    expect((await api.message(t, stuck.id, waiting.id)).payload.type).toBe('verification.approved');
  });
});
