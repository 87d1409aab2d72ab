import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ProviderAdapter,
  ProviderError,
  type ProviderRequest,
  type ProviderSettings,
  WebhookRejected,
} from '../src/modules/kyc/providers/types.js';
import {
  parseVeriffWebhook,
  veriffAdapter,
  veriffOutcome,
  veriffSignature,
} from '../src/modules/kyc/providers/veriff.js';
import type { PlainDocument } from '../src/modules/kyc/types.js';
import {
  type FakeVeriff,
  startFakeVeriff,
  VERIFF_FAKE_API_KEY,
  VERIFF_FAKE_SHARED_SECRET,
} from './fakes/veriff.js';

const NOW = new Date('2026-05-01T12:00:00Z');
let fake: FakeVeriff;
let adapter: ProviderAdapter;

function settings(
  overrides: Partial<ProviderSettings['secrets']> = {},
  baseUrl = fake.url,
): ProviderSettings {
  return {
    id: 'vpc_veriff',
    kind: 'veriff',
    baseUrl,
    secrets: { apiKey: VERIFF_FAKE_API_KEY, sharedSecret: VERIFF_FAKE_SHARED_SECRET, ...overrides },
    options: {},
  };
}

const deps = { fetch: globalThis.fetch, now: () => NOW };

const file = (kind: PlainDocument['kind'], bytes: number[]): PlainDocument => ({
  kind,
  contentType: 'image/jpeg',
  bytes: new Uint8Array(bytes),
});

function request(sessionId: string, documents?: PlainDocument[]): ProviderRequest {
  return {
    sessionId,
    attemptId: `vat_${sessionId}`,
    checks: [{ type: 'document' }, { type: 'selfie' }],
    documents: documents ?? [
      file('document-front', [1, 2, 3]),
      file('document-back', [4, 5, 6]),
      file('selfie', [7, 8, 9]),
      file('proof-of-address', [10]),
    ],
    fields: {
      firstName: 'Anna Maria',
      lastName: 'Eriksson',
      dateOfBirth: '1974-08-12',
      documentType: 'PASSPORT',
      issuingCountry: 'SWE',
      mrz: ['P<SWE…'],
    },
  };
}

const signal = () => AbortSignal.timeout(5000);

async function errorOf(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

beforeAll(async () => {
  fake = await startFakeVeriff({ now: () => NOW });
  adapter = veriffAdapter(settings(), deps);
});

afterAll(async () => {
  await fake.close();
});

describe('Veriff request signing', () => {
  it('matches the reference vectors [derived]', () => {
    const body =
      '{"verification":{"callback":"https://example.com/cb","person":{"firstName":"John","lastName":"Smith"},"vendorData":"user-123"}}';
    expect(veriffSignature(body, 'veriff_test_secret')).toBe(
      '33a0bb7393851a415d974f4725892d27db2ea707d05bf10e12029a9d2c4e4fec',
    );
    expect(veriffSignature('f04bdb47-d3be-4b28-b028-a652feb060b5', 'veriff_test_secret')).toBe(
      '0175a97ee896c3142367bebadfd45cdfdcde30943a75202b2e5a3f064cb670ae',
    );
    expect(veriffSignature(new TextEncoder().encode(body), 'veriff_test_secret')).toBe(
      veriffSignature(body, 'veriff_test_secret'),
    );
  });
});

describe('Veriff adapter against the fake', () => {
  it('creates a session, uploads the images and submits, signing every request', async () => {
    const before = fake.requests.length;
    const { ref, outcome } = await adapter.submit(request('vrf_submit'), signal());
    expect(outcome).toBeUndefined();
    expect(fake.sessionIds()).toContain(ref);
    const calls = fake.requests.slice(before);
    expect(calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      'POST /v1/sessions',
      `POST /v1/sessions/${ref}/media`,
      `POST /v1/sessions/${ref}/media`,
      `POST /v1/sessions/${ref}/media`,
      `PATCH /v1/sessions/${ref}`,
    ]);
    for (const call of calls) {
      expect(call.headers['x-auth-client']).toBe(VERIFF_FAKE_API_KEY);
      expect(call.headers['x-hmac-signature']).toBe(veriffSignature(call.body, VERIFF_FAKE_SHARED_SECRET));
    }
    const created = JSON.parse(calls[0]?.body.toString() ?? '{}');
    expect(created).toEqual({
      verification: {
        person: { firstName: 'Anna Maria', lastName: 'Eriksson', dateOfBirth: '1974-08-12' },
        document: { type: 'PASSPORT', country: 'SE' },
        vendorData: 'vrf_submit',
      },
    });
    const images = calls.slice(1, 4).map((call) => JSON.parse(call.body.toString()).image);
    expect(images.map((image) => [image.context, image.content])).toEqual([
      ['document-front', Buffer.from([1, 2, 3]).toString('base64')],
      ['document-back', Buffer.from([4, 5, 6]).toString('base64')],
      ['face', Buffer.from([7, 8, 9]).toString('base64')],
    ]);
    expect(images[0].timestamp).toBe(NOW.toISOString());
    expect(JSON.parse(calls[4]?.body.toString() ?? '{}')).toEqual({ verification: { status: 'submitted' } });
  });

  it('fetches an approval with what Veriff read, signing the GET over the session id', async () => {
    const { ref } = await adapter.submit(request('vrf_fetch'), signal());
    const before = fake.requests.length;
    const outcome = await adapter.fetchResult(ref, signal());
    const call = fake.requests[before];
    expect(call?.path).toBe(`/v1/sessions/${ref}/decision`);
    expect(call?.headers['x-hmac-signature']).toBe(veriffSignature(ref, VERIFF_FAKE_SHARED_SECRET));
    expect(outcome).toMatchObject({
      status: 'approved',
      reasons: [],
      checks: { document: 'passed', selfie: 'passed' },
      extracted: {
        firstName: 'ANNA MARIA',
        lastName: 'ERIKSSON',
        dateOfBirth: '1974-08-12',
        documentNumber: 'L898902C3',
        documentType: 'PASSPORT',
        issuingCountry: 'SWE',
        nationality: 'SWE',
        documentExpiresOn: '2031-04-30',
      },
      occurredAt: NOW,
    });
    expect(outcome.raw).toMatchObject({
      status: 'success',
      verification: { id: ref, vendorData: 'vrf_fetch' },
    });
  });

  it('maps every Veriff status', async () => {
    const cases = [
      ['pending', 'processing', []],
      ['approved', 'approved', []],
      [{ status: 'declined', reasonCode: 102 }, 'declined', ['suspected_tampering']],
      [
        { status: 'resubmission_requested', reasonCode: 204 },
        'resubmission_requested',
        ['poor_image_quality'],
      ],
      ['review', 'needs_review', []],
      ['expired', 'expired', []],
      ['abandoned', 'expired', []],
    ] as const;
    for (const [decision, status, reasons] of cases) {
      const sessionId = `vrf_status_${typeof decision === 'string' ? decision : decision.status}`;
      fake.decide(sessionId, decision);
      const { ref } = await adapter.submit(request(sessionId), signal());
      const outcome = await adapter.fetchResult(ref, signal());
      expect(outcome.status, JSON.stringify(decision)).toBe(status);
      expect(outcome.reasons).toEqual(reasons);
    }
  });

  it('reads a decision set after submission', async () => {
    fake.decide('vrf_later', 'pending');
    const { ref } = await adapter.submit(request('vrf_later'), signal());
    expect((await adapter.fetchResult(ref, signal())).status).toBe('processing');
    fake.decide(ref, { status: 'declined', reasonCode: 103 });
    const outcome = await adapter.fetchResult(ref, signal());
    expect(outcome).toMatchObject({
      status: 'declined',
      reasons: ['face_mismatch'],
      checks: { document: 'passed', selfie: 'failed' },
    });
  });

  it('classifies errors', async () => {
    fake.failNext('error500');
    expect(await errorOf(adapter.submit(request('vrf_e1'), signal()))).toMatchObject({
      kind: 'transient',
      status: 500,
    });
    fake.failNext('rate_limited', '/media');
    expect(await errorOf(adapter.submit(request('vrf_e2'), signal()))).toMatchObject({
      kind: 'transient',
      status: 429,
    });
    fake.failNext('unauthorized');
    expect(await errorOf(adapter.submit(request('vrf_e3'), signal()))).toMatchObject({
      kind: 'rejected',
      status: 401,
    });
    fake.failNext('unsupported');
    expect(await errorOf(adapter.submit(request('vrf_e4'), signal()))).toMatchObject({ kind: 'unsupported' });
    // The fake checks credentials as Veriff does.
    const wrongKey = veriffAdapter(settings({ apiKey: 'not-the-key' }), deps);
    expect(await errorOf(wrongKey.submit(request('vrf_e5'), signal()))).toMatchObject({
      kind: 'rejected',
      status: 401,
    });
    const wrongSecret = veriffAdapter(settings({ sharedSecret: 'not-the-secret' }), deps);
    expect(await errorOf(wrongSecret.fetchResult(fake.sessionIds()[0] ?? '', signal()))).toMatchObject({
      kind: 'rejected',
      status: 401,
    });
    // Missing media is bad input: rejected, no retry.
    expect(await errorOf(adapter.submit(request('vrf_e6', [file('selfie', [1])]), signal()))).toMatchObject({
      kind: 'rejected',
      status: 400,
    });
  });

  it('times out on a hanging Veriff and reports an unreachable one as transient', async () => {
    fake.failNext('hang');
    const started = Date.now();
    expect(await errorOf(adapter.submit(request('vrf_hang'), AbortSignal.timeout(200)))).toMatchObject({
      kind: 'timeout',
    });
    expect(Date.now() - started).toBeLessThan(3000);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = veriffAdapter(settings({}, `http://127.0.0.1:${port}`), deps);
    expect(await errorOf(unreachable.submit(request('vrf_down'), signal()))).toMatchObject({
      kind: 'transient',
    });
  });
});

describe('Veriff webhooks', () => {
  it('verifies the signature over the raw body: the reference vector passes, a wrong one does not', () => {
    const body = new TextEncoder().encode(
      '{"verification":{"callback":"https://example.com/cb","person":{"firstName":"John","lastName":"Smith"},"vendorData":"user-123"}}',
    );
    const headers = (signature: string) => ({ 'x-auth-client': 'key', 'x-hmac-signature': signature });
    const vector = '33a0bb7393851a415d974f4725892d27db2ea707d05bf10e12029a9d2c4e4fec';
    const secrets = { apiKey: 'key', sharedSecret: 'veriff_test_secret' };
    // Signature accepted (in either case); the body is a session request, not a webhook payload.
    expect(() => parseVeriffWebhook(body, headers(vector), secrets, NOW)).toThrow(
      'not a Veriff webhook payload',
    );
    expect(() => parseVeriffWebhook(body, headers(vector.toUpperCase()), secrets, NOW)).toThrow(
      'not a Veriff webhook payload',
    );
    expect(() => parseVeriffWebhook(body, headers(vector.replace(/^3/, '4')), secrets, NOW)).toThrow(
      'does not match',
    );
    expect(() => parseVeriffWebhook(body, headers(vector.slice(2)), secrets, NOW)).toThrow('does not match');
  });

  it('parses a decision webhook with its decision; a redelivery has the same dedupe key', async () => {
    fake.decide('vrf_hook', { status: 'declined', reasonCode: 106 });
    const { ref } = await adapter.submit(request('vrf_hook'), signal());
    const delivery = fake.webhook(ref);
    const event = adapter.parseWebhook(new TextEncoder().encode(delivery.body), delivery.headers, NOW);
    expect(event).toMatchObject({
      ref,
      occurredAt: NOW,
      outcome: { status: 'declined', reasons: ['known_fraud'], checks: { document: 'failed' } },
    });
    const again = adapter.parseWebhook(new TextEncoder().encode(delivery.body), delivery.headers, new Date());
    expect(again?.dedupeKey).toBe(event?.dedupeKey);
    // A later decision of the same session is a different event.
    fake.decide(ref, 'approved');
    const approval = fake.webhook(ref);
    const approved = adapter.parseWebhook(new TextEncoder().encode(approval.body), approval.headers, NOW);
    expect(approved?.dedupeKey).not.toBe(event?.dedupeKey);
  });

  it('rejects tampered bodies, wrong secrets, another integration and missing headers', async () => {
    const { ref } = await adapter.submit(request('vrf_reject'), signal());
    const good = fake.webhook(ref);
    const raw = new TextEncoder().encode(good.body);
    const tampered = new TextEncoder().encode(good.body.replace('"approved"', '"declined"'));
    expect(() => adapter.parseWebhook(tampered, good.headers, NOW)).toThrow(WebhookRejected);
    const wrongSecret = fake.webhook(ref, { sharedSecret: 'another-secret' });
    expect(() =>
      adapter.parseWebhook(new TextEncoder().encode(wrongSecret.body), wrongSecret.headers, NOW),
    ).toThrow(WebhookRejected);
    const otherClient = fake.webhook(ref, { apiKey: 'another-integration' });
    expect(() =>
      adapter.parseWebhook(new TextEncoder().encode(otherClient.body), otherClient.headers, NOW),
    ).toThrow(WebhookRejected);
    expect(() => adapter.parseWebhook(raw, { 'x-auth-client': VERIFF_FAKE_API_KEY }, NOW)).toThrow(
      WebhookRejected,
    );
    expect(() => adapter.parseWebhook(raw, {}, NOW)).toThrow(WebhookRejected);
  });

  it('verifies event webhooks and gives null for them (no time, nothing new)', async () => {
    const { ref } = await adapter.submit(request('vrf_events'), signal());
    for (const kind of ['started', 'submitted'] as const) {
      const delivery = fake.webhook(ref, { kind });
      expect(adapter.parseWebhook(new TextEncoder().encode(delivery.body), delivery.headers, NOW)).toBeNull();
      const forged = fake.webhook(ref, { kind, sharedSecret: 'another-secret' });
      expect(() => adapter.parseWebhook(new TextEncoder().encode(forged.body), forged.headers, NOW)).toThrow(
        WebhookRejected,
      );
    }
  });

  it('dates decisions by decisionTime, so an older review sorts before the approval', async () => {
    const { ref } = await adapter.submit(request('vrf_order'), signal());
    const anHourAgo = new Date(NOW.getTime() - 3_600_000);
    const older = fake.webhook(ref, { earlier: { decision: 'review', decisionTime: anHourAgo } });
    const review = adapter.parseWebhook(new TextEncoder().encode(older.body), older.headers, NOW);
    expect(review).toMatchObject({ ref, occurredAt: anHourAgo, outcome: { status: 'needs_review' } });
    const current = fake.webhook(ref);
    const approval = adapter.parseWebhook(new TextEncoder().encode(current.body), current.headers, NOW);
    expect(approval).toMatchObject({ ref, occurredAt: NOW, outcome: { status: 'approved' } });
    expect(approval?.dedupeKey).not.toBe(review?.dedupeKey);
  });

  it('delivers webhooks to a target, and the same bytes again as a duplicate', async () => {
    const received: { body: string; headers: Record<string, string | string[] | undefined> }[] = [];
    const { createServer: createHttpServer } = await import('node:http');
    const target = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks).toString(), headers: req.headers });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const { port } = target.address() as { port: number };
    try {
      const { ref } = await adapter.submit(request('vrf_deliver'), signal());
      const sent = await fake.sendWebhook(`http://127.0.0.1:${port}/hook`, ref);
      expect(sent.status).toBe(204);
      await fake.redeliver(`http://127.0.0.1:${port}/hook`, sent.delivery);
      expect(received).toHaveLength(2);
      const keys = received.map(
        (delivery) =>
          adapter.parseWebhook(new TextEncoder().encode(delivery.body), delivery.headers, NOW)?.dedupeKey,
      );
      expect(keys[0]).toBeDefined();
      expect(keys[1]).toBe(keys[0]);
    } finally {
      await new Promise<void>((resolve) => target.close(() => resolve()));
    }
  });
});

describe('veriffOutcome', () => {
  it('keys off status, sends unknown statuses to review and keeps unknown reason codes stable', () => {
    const outcome = veriffOutcome({ status: 'approved', code: 9102 }, {}, NOW);
    expect(outcome.status).toBe('approved');
    const unknown = veriffOutcome({ status: 'reconsidered', reasonCode: 999 }, {}, NOW);
    expect(unknown).toMatchObject({
      status: 'needs_review',
      reasons: ['veriff_reason_999', 'provider_status_unknown'],
    });
    const resubmission = veriffOutcome({ status: 'resubmission_requested', reasonCode: '207' }, {}, NOW);
    expect(resubmission.reasons).toEqual(['document_expired']);
    expect(veriffOutcome({ status: 'declined', reasonCode: 539 }, {}, NOW).reasons).toEqual([
      'attempt_limit_reached',
    ]);
    expect(
      veriffOutcome({ status: 'declined', decisionTime: '2026-04-01T10:00:00.000Z' }, {}, NOW).occurredAt,
    ).toEqual(new Date('2026-04-01T10:00:00.000Z'));
  });
});
