import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicFetch } from '../src/http/public-fetch.js';
import { callProvider, MAX_PROVIDER_RESPONSE_BYTES, safeEqual } from '../src/modules/kyc/providers/http.js';
import {
  onfidoAdapter,
  onfidoReportNames,
  onfidoWebhookSignature,
  parseOnfidoWebhook,
} from '../src/modules/kyc/providers/onfido.js';
import {
  type ProviderAdapter,
  ProviderError,
  type ProviderRequest,
  WebhookRejected,
} from '../src/modules/kyc/providers/types.js';
import type { CheckType } from '../src/modules/kyc/types.js';
import { type FakeOnfido, startFakeOnfido } from './fakes/onfido.js';

const enc = new TextEncoder();

// onfido/onfido-node test/webhook-event-verifier.test.ts (reference §2.1, [verified]).
const VECTOR_TOKEN = '_ABC123abc123ABC123abc123ABC123_';
const VECTOR_BODY =
  '{"payload":{"resource_type":"check","action":"check.completed","object":{"id":"check-123","status":"complete","completed_at_iso8601":"2020-01-01T00:00:00Z","href":"https://api.onfido.com/v3/checks/check-123"}}}';
const VECTOR_SIGNATURE = 'a0082d7481f9f0a2907583dbe1f344d6d4c0d9989df2fd804f98479f60cd760e';

const NOW = new Date('2026-03-01T12:00:00Z');

function request(checks: CheckType[], overrides: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    sessionId: 'vrf_01JTESTSESSION0000000000',
    attemptId: 'vat_01JTESTATTEMPT0000000000',
    checks: checks.map((type) => ({ type })),
    documents: [
      { kind: 'document-front', contentType: 'image/jpeg', bytes: enc.encode('front-image') },
      { kind: 'document-back', contentType: 'image/jpeg', bytes: enc.encode('back-image') },
      { kind: 'selfie', contentType: 'image/png', bytes: enc.encode('selfie-image') },
    ],
    fields: {
      firstName: 'Anna Maria',
      lastName: 'Eriksson',
      dateOfBirth: '1974-08-12',
      documentType: 'ID_CARD',
      issuingCountry: 'UTO',
      email: 'anna@example.com',
    },
    ...overrides,
  };
}

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('Onfido webhook verification', () => {
  it('accepts the published vector and asks for the result to be fetched', () => {
    expect(onfidoWebhookSignature(VECTOR_BODY, VECTOR_TOKEN)).toBe(VECTOR_SIGNATURE);
    const event = parseOnfidoWebhook(
      enc.encode(VECTOR_BODY),
      { 'X-SHA2-Signature': VECTOR_SIGNATURE },
      VECTOR_TOKEN,
      NOW,
    );
    expect(event).toEqual({
      dedupeKey: 'check|check-123|check.completed|complete|2020-01-01T00:00:00Z',
      ref: 'check-123',
      occurredAt: new Date('2020-01-01T00:00:00Z'),
    });
  });

  it('rejects a tampered body, a wrong token, a missing or malformed signature', () => {
    const tampered = enc.encode(VECTOR_BODY.replace('check-123', 'check-124'));
    const headers = { 'x-sha2-signature': VECTOR_SIGNATURE };
    expect(() => parseOnfidoWebhook(tampered, headers, VECTOR_TOKEN, NOW)).toThrow(WebhookRejected);
    expect(() => parseOnfidoWebhook(enc.encode(VECTOR_BODY), headers, 'another-token', NOW)).toThrow(
      WebhookRejected,
    );
    expect(() => parseOnfidoWebhook(enc.encode(VECTOR_BODY), {}, VECTOR_TOKEN, NOW)).toThrow(WebhookRejected);
    expect(() =>
      parseOnfidoWebhook(
        enc.encode(VECTOR_BODY),
        { 'x-sha2-signature': VECTOR_SIGNATURE.slice(0, 40) },
        VECTOR_TOKEN,
        NOW,
      ),
    ).toThrow(WebhookRejected);
    expect(() => parseOnfidoWebhook(enc.encode(VECTOR_BODY), headers, '', NOW)).toThrow(WebhookRejected);
  });

  it('rejects a correctly signed body that is not an Onfido event, and ignores report events', () => {
    const junk = '{"hello":"world"}';
    expect(() =>
      parseOnfidoWebhook(
        enc.encode(junk),
        { 'x-sha2-signature': onfidoWebhookSignature(junk, VECTOR_TOKEN) },
        VECTOR_TOKEN,
        NOW,
      ),
    ).toThrow(WebhookRejected);
    const report = JSON.stringify({
      payload: {
        resource_type: 'report',
        action: 'report.completed',
        object: { id: 'r-1', status: 'complete' },
      },
    });
    const signed = { 'x-sha2-signature': onfidoWebhookSignature(report, VECTOR_TOKEN) };
    expect(parseOnfidoWebhook(enc.encode(report), signed, VECTOR_TOKEN, NOW)).toBeNull();
  });

  it('constant-time comparison treats different lengths as unequal', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});

describe('Onfido report names', () => {
  it('derives reports from the checks, or takes the configured list', () => {
    expect(onfidoReportNames(['document', 'selfie', 'watchlist', 'address', 'age'])).toEqual([
      'document',
      'facial_similarity_photo',
      'watchlist_standard',
      'proof_of_address',
    ]);
    expect(onfidoReportNames(['age', 'connector'])).toEqual(['document']);
    expect(onfidoReportNames(['document'], ' document_with_address_information , watchlist_aml,')).toEqual([
      'document_with_address_information',
      'watchlist_aml',
    ]);
  });
});

describe('Onfido adapter against the fake API', () => {
  let fake: FakeOnfido;
  let adapter: ProviderAdapter;

  beforeAll(async () => {
    fake = await startFakeOnfido();
    adapter = onfidoAdapter(
      {
        id: 'vpc_onfido',
        kind: 'onfido',
        baseUrl: fake.url,
        secrets: { apiToken: fake.apiToken, webhookToken: fake.webhookToken },
        options: {},
      },
      { fetch: globalThis.fetch, now: () => NOW },
    );
  });
  afterAll(() => fake.close());

  const signal = () => AbortSignal.timeout(5_000);

  it('creates the applicant, uploads documents and the live photo, starts an asynchronous check', async () => {
    const before = fake.requests.length;
    const submission = await adapter.submit(request(['document', 'selfie', 'watchlist']), signal());
    expect(submission.outcome).toBeUndefined();
    expect(fake.checkIds()).toContain(submission.ref);

    const calls = fake.requests.slice(before);
    expect(calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      'POST /v3.6/applicants',
      'POST /v3.6/documents',
      'POST /v3.6/documents',
      'POST /v3.6/live_photos',
      'POST /v3.6/checks',
    ]);
    for (const call of calls) expect(call.headers.authorization).toBe(`Token token=${fake.apiToken}`);
    const applicant = JSON.parse(calls[0]?.body.toString() ?? '{}');
    // Only what Onfido needs: no email or other fields, no platform ids.
    expect(applicant).toEqual({ first_name: 'Anna Maria', last_name: 'Eriksson', dob: '1974-08-12' });
    const front = calls[1]?.body.toString() ?? '';
    expect(front).toContain('national_identity_card');
    expect(front).toContain('front-image');
    expect(calls[2]?.body.toString()).toContain('name="side"\r\n\r\nback');
    const check = JSON.parse(calls[4]?.body.toString() ?? '{}');
    expect(check).toMatchObject({
      report_names: ['document', 'facial_similarity_photo', 'watchlist_standard'],
      asynchronous: true,
      tags: ['vrf_01JTESTSESSION0000000000', 'vat_01JTESTATTEMPT0000000000'],
    });
    expect(check.document_ids).toHaveLength(2);
  });

  it('sends the address and a proof-of-address document only for the address check', async () => {
    const before = fake.requests.length;
    const address = { line1: '1 Main Street', city: 'London', postalCode: 'SW1A 1AA', country: 'GBR' };
    const base = request(['document', 'address']);
    const { ref } = await adapter.submit(
      {
        ...base,
        fields: { ...base.fields, address },
        documents: [
          ...base.documents.slice(0, 1),
          { kind: 'proof-of-address', contentType: 'application/pdf', bytes: enc.encode('utility-bill') },
        ],
      },
      signal(),
    );
    const calls = fake.requests.slice(before);
    expect(JSON.parse(calls[0]?.body.toString() ?? '{}').address).toEqual({
      street: '1 Main Street',
      town: 'London',
      postcode: 'SW1A 1AA',
      country: 'GBR',
    });
    expect(calls[2]?.body.toString()).toContain('name="type"\r\n\r\nutility_bill');
    expect(JSON.parse(calls[3]?.body.toString() ?? '{}').report_names).toEqual([
      'document',
      'proof_of_address',
    ]);
    expect((await adapter.fetchResult(ref, signal())).checks).toEqual({
      document: 'passed',
      address: 'passed',
    });

    const withoutCheck = fake.requests.length;
    await adapter.submit({ ...request(['document']), fields: { ...base.fields, address } }, signal());
    expect(JSON.parse(fake.requests[withoutCheck]?.body.toString() ?? '{}').address).toBeUndefined();
  });

  it('maps a clear check to approved with the document report’s extracted data', async () => {
    const { ref } = await adapter.submit(request(['document', 'selfie', 'watchlist']), signal());
    const outcome = await adapter.fetchResult(ref, signal());
    expect(outcome).toMatchObject({
      status: 'approved',
      reasons: [],
      checks: { document: 'passed', selfie: 'passed', watchlist: 'passed' },
      extracted: {
        firstName: 'ANNA MARIA',
        lastName: 'ERIKSSON',
        dateOfBirth: '1974-08-12',
        documentNumber: 'L898902C3',
        documentType: 'PASSPORT',
        issuingCountry: 'UTO',
        nationality: 'UTO',
      },
      occurredAt: NOW,
    });
    expect(outcome.extracted.documentExpiresOn && outcome.extracted.documentExpiresOn > '2026-01-01').toBe(
      true,
    );
    expect(outcome.raw).toMatchObject({ check: { id: ref, status: 'complete', result: 'clear' } });
  });

  it('maps consider to needs_review with stable reasons per report', async () => {
    const { ref } = await adapter.submit(request(['document', 'selfie', 'watchlist']), signal());

    fake.decide(ref, 'consider');
    let outcome = await adapter.fetchResult(ref, signal());
    expect(outcome.status).toBe('needs_review');
    expect(outcome.checks).toMatchObject({ document: 'review', selfie: 'passed' });
    expect(outcome.reasons).toEqual(['document_suspected', 'document_authenticity']);

    fake.decide(ref, 'face_mismatch');
    outcome = await adapter.fetchResult(ref, signal());
    expect(outcome).toMatchObject({
      status: 'needs_review',
      reasons: ['face_mismatch'],
      checks: { selfie: 'review' },
    });

    fake.decide(ref, {
      reports: {
        document: {
          result: 'consider',
          sub_result: 'rejected',
          breakdown: {
            data_validation: {
              result: 'consider',
              breakdown: { document_expiration: { result: 'consider' } },
            },
          },
        },
        watchlist_standard: { result: 'consider', breakdown: { sanction: { result: 'consider' } } },
      },
    });
    outcome = await adapter.fetchResult(ref, signal());
    expect(outcome.status).toBe('needs_review');
    expect(outcome.checks).toMatchObject({ document: 'failed', watchlist: 'review', selfie: 'passed' });
    expect(outcome.reasons).toEqual([
      'document_rejected',
      'document_expired',
      'watchlist_hit',
      'watchlist_sanction',
    ]);
  });

  it('maps every other check status', async () => {
    const { ref } = await adapter.submit(request(['document']), signal());
    const cases = [
      ['in_progress', 'processing'],
      ['reopened', 'processing'],
      ['paused', 'processing'],
      ['awaiting_applicant', 'awaiting_input'],
      ['withdrawn', 'error'],
    ] as const;
    for (const [onfido, platform] of cases) {
      fake.decide(ref, onfido);
      const outcome = await adapter.fetchResult(ref, signal());
      expect(outcome.status, onfido).toBe(platform);
      if (onfido !== 'withdrawn') expect(outcome.extracted).toEqual({});
    }
  });

  it('applies a decision scripted by session id before the check exists', async () => {
    const sessionId = 'vrf_01JSCRIPTEDSESSION000000';
    fake.decide(sessionId, 'consider');
    const { ref } = await adapter.submit(request(['document'], { sessionId }), signal());
    expect((await adapter.fetchResult(ref, signal())).status).toBe('needs_review');
  });

  it('parses the fake’s webhooks: completed needs a fetch, duplicates share a key, started is older', async () => {
    const { ref } = await adapter.submit(request(['document']), signal());
    const completed = fake.webhook(ref);
    const event = adapter.parseWebhook(enc.encode(completed.body), completed.headers, NOW);
    expect(event).toMatchObject({ ref });
    expect(event?.outcome).toBeUndefined();
    const again = adapter.parseWebhook(enc.encode(completed.body), completed.headers, NOW);
    expect(again?.dedupeKey).toBe(event?.dedupeKey);

    const started = fake.webhook(ref, { action: 'check.started' });
    const early = adapter.parseWebhook(enc.encode(started.body), started.headers, NOW);
    expect(early?.outcome).toMatchObject({ status: 'processing', reasons: [] });
    expect(early?.dedupeKey).not.toBe(event?.dedupeKey);
    expect(early && event && early.occurredAt.getTime() <= event.occurredAt.getTime()).toBe(true);

    const withdrawn = fake.webhook(ref, { action: 'check.withdrawn' });
    expect(adapter.parseWebhook(enc.encode(withdrawn.body), withdrawn.headers, NOW)?.outcome?.status).toBe(
      'error',
    );

    const forged = fake.webhook(ref, { signatureToken: 'not-the-token' });
    expect(() => adapter.parseWebhook(enc.encode(forged.body), forged.headers, NOW)).toThrow(WebhookRejected);
  });

  it('posts webhooks to a receiver and redelivers the same bytes', async () => {
    const { ref } = await adapter.submit(request(['document']), signal());
    const received: string[] = [];
    const { createServer: createHttpServer } = await import('node:http');
    const receiver = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push(`${req.headers['x-sha2-signature']} ${body}`);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    const target = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
    try {
      const first = await fake.sendWebhook(target, ref);
      expect(first.status).toBe(204);
      await fake.redeliver(target, first.delivery);
      expect(received).toHaveLength(2);
      expect(received[0]).toBe(received[1]);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  it('classifies failures: 5xx and 429 transient, 401 rejected, unsupported document, timeout', async () => {
    fake.failNext('error500', '/checks');
    let error = await providerError(adapter.submit(request(['document']), signal()));
    expect([error.kind, error.status]).toEqual(['transient', 500]);

    fake.failNext('rate_limited');
    error = await providerError(adapter.submit(request(['document']), signal()));
    expect([error.kind, error.status]).toEqual(['transient', 429]);

    fake.failNext('unauthorized');
    error = await providerError(adapter.submit(request(['document']), signal()));
    expect([error.kind, error.status]).toEqual(['rejected', 401]);

    fake.failNext('unsupported', '/documents');
    error = await providerError(adapter.submit(request(['document']), signal()));
    expect([error.kind, error.status]).toEqual(['unsupported', 422]);

    fake.failNext('hang', '/reports');
    const { ref } = await adapter.submit(request(['document']), signal());
    const started = Date.now();
    error = await providerError(adapter.fetchResult(ref, AbortSignal.timeout(150)));
    expect(error.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('rejects a wrong API token the way Onfido does', async () => {
    const wrong = onfidoAdapter(
      {
        id: 'vpc_x',
        kind: 'onfido',
        baseUrl: fake.url,
        secrets: { apiToken: 'nope', webhookToken: 'x' },
        options: {},
      },
      { fetch: globalThis.fetch, now: () => NOW },
    );
    const error = await providerError(wrong.fetchResult('00000000-0000-0000-0000-000000000000', signal()));
    expect([error.kind, error.status]).toEqual(['rejected', 401]);
  });

  it('refuses what Onfido cannot take before calling it', async () => {
    const before = fake.requests.length;
    let error = await providerError(adapter.submit(request(['document', 'liveness']), signal()));
    expect(error.kind).toBe('unsupported');
    error = await providerError(
      adapter.submit(request(['document'], { fields: { dateOfBirth: '1974-08-12' } }), signal()),
    );
    expect(error.kind).toBe('rejected');
    expect(fake.requests.length).toBe(before);
  });

  it('works through the platform’s SSRF-guarded fetch (trusted local host)', async () => {
    const guarded = onfidoAdapter(
      {
        id: 'vpc_onfido_guarded',
        kind: 'onfido',
        baseUrl: fake.url,
        secrets: { apiToken: fake.apiToken, webhookToken: fake.webhookToken },
        options: {},
      },
      { fetch: publicFetch({ trustedHosts: ['127.0.0.1'], httpForTrustedHosts: true }), now: () => NOW },
    );
    const { ref } = await guarded.submit(request(['document', 'selfie']), signal());
    expect(fake.requests.at(-4)?.body.toString()).toContain('front-image');
    expect((await guarded.fetchResult(ref, signal())).status).toBe('approved');
    const untrusted = onfidoAdapter(
      { id: 'vpc_x', kind: 'onfido', baseUrl: fake.url, secrets: { apiToken: fake.apiToken }, options: {} },
      { fetch: publicFetch(), now: () => NOW },
    );
    expect((await providerError(untrusted.fetchResult(ref, signal()))).kind).toBe('rejected');
  });

  it('uses the configured report names', async () => {
    const configured = onfidoAdapter(
      {
        id: 'vpc_onfido_2',
        kind: 'onfido',
        baseUrl: fake.url,
        secrets: { apiToken: fake.apiToken, webhookToken: fake.webhookToken },
        options: { reportNames: 'document,watchlist_aml' },
      },
      { fetch: globalThis.fetch, now: () => NOW },
    );
    await configured.submit(request(['document']), signal());
    const check = JSON.parse(fake.requests.at(-1)?.body.toString() ?? '{}');
    expect(check.report_names).toEqual(['document', 'watchlist_aml']);
  });
});

describe('provider HTTP helpers', () => {
  it('turns a refused connection into a transient error', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await providerError(
      callProvider(
        globalThis.fetch,
        'Test',
        `http://127.0.0.1:${port}/`,
        { method: 'GET' },
        AbortSignal.timeout(2_000),
      ),
    );
    expect(error.kind).toBe('transient');
  });

  it('refuses a response larger than 5 MiB, declared or streamed', async () => {
    const big = new Uint8Array(MAX_PROVIDER_RESPONSE_BYTES + 1);
    const declared: typeof fetch = async () =>
      new Response(big, { status: 200, headers: { 'content-length': String(big.byteLength) } });
    let error = await providerError(
      callProvider(declared, 'Test', 'http://x/', {}, AbortSignal.timeout(2_000)),
    );
    expect(error.kind).toBe('rejected');

    const streamed: typeof fetch = async () =>
      new Response(
        new ReadableStream({
          start(controller) {
            for (let i = 0; i < 6; i++) controller.enqueue(new Uint8Array(1024 * 1024));
            controller.close();
          },
        }),
        { status: 200 },
      );
    error = await providerError(callProvider(streamed, 'Test', 'http://x/', {}, AbortSignal.timeout(2_000)));
    expect(error.kind).toBe('rejected');
  });

  it('hex HMAC-SHA256 matches an independent computation', () => {
    expect(onfidoWebhookSignature('abc', 'key')).toBe(
      createHmac('sha256', 'key').update('abc').digest('hex'),
    );
  });
});
