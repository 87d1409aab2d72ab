import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicFetch } from '../src/http/public-fetch.js';
import {
  parseSumsubTime,
  parseSumsubWebhook,
  sumsubAdapter,
  sumsubPayloadDigest,
  sumsubRequestSignature,
} from '../src/modules/kyc/providers/sumsub.js';
import {
  type ProviderAdapter,
  ProviderError,
  type ProviderRequest,
  WebhookRejected,
} from '../src/modules/kyc/providers/types.js';
import type { CheckType } from '../src/modules/kyc/types.js';
import { type FakeSumsub, startFakeSumsub } from './fakes/sumsub.js';

const enc = new TextEncoder();

// Reference §2.2, [derived] (recomputed independently with openssl).
const SIGNING_VECTOR = {
  secret: 'Hej2ch71kG2kTd1iIUDZFNsO5C1lh5Gq',
  ts: 1607551635,
  path: '/resources/applicants?levelName=basic-kyc-level',
  body: '{"externalUserId":"someUniqueUserId"}',
  sig: 'f72ef0c9a1cbcd1e9456f423495cf3f54c761fca380b71dbc05c6235d27cbd7d',
};

// A webhook in Sumsub's flat shape; digests computed with `openssl dgst -<alg> -hmac sumsub_test_secret`.
const WEBHOOK_SECRET = 'sumsub_test_secret';
const WEBHOOK_BODY =
  '{"applicantId":"5cb56e8e0a975a35f333cb83","inspectionId":"5cb56e8e0a975a35f333cb84","correlationId":"req-a260b669-4f14-4bb5-a4c5-ac0218acb9a4","externalUserId":"vrf_01JTESTSESSION0000000000","levelName":"basic-kyc-level","type":"applicantReviewed","reviewResult":{"reviewAnswer":"GREEN"},"reviewStatus":"completed","createdAtMs":"2020-02-21 13:23:19.321"}';
const WEBHOOK_DIGESTS = {
  HMAC_SHA1_HEX: '293b9889df44e22f345fd8c37242c030edef780d',
  HMAC_SHA256_HEX: '33393c387c949a2d894a84ba7e4879fc0fb12e5719c11f0c6703ef84f622d14d',
  HMAC_SHA512_HEX:
    '0c9ac26f904b5158f77b138440cdadcb5aa59500e6b92105b6ec98b8096628dccfefd8815cd7d0612ddf6d6603c00c08b8597ccee2d60f17c867eaafbf6e3dc4',
};

const NOW = new Date('2026-03-01T12:00:00Z');

function request(checks: CheckType[], overrides: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    sessionId: 'vrf_01JTESTSESSION0000000000',
    attemptId: 'vat_01JTESTATTEMPT0000000000',
    checks: checks.map((type) => ({ type })),
    documents: [
      { kind: 'document-front', contentType: 'image/jpeg', bytes: enc.encode('front-image') },
      { kind: 'document-back', contentType: 'image/jpeg', bytes: enc.encode('back-image') },
      { kind: 'selfie', contentType: 'image/jpeg', bytes: enc.encode('selfie-image') },
      { kind: 'liveness-video', contentType: 'video/mp4', bytes: enc.encode('liveness-video') },
    ],
    fields: { firstName: 'Anna Maria', lastName: 'Eriksson', documentType: 'ID_CARD', issuingCountry: 'UTO' },
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

let sessionCounter = 0;
const newSession = () => `vrf_01JSUMSUBSESSION${String(++sessionCounter).padStart(8, '0')}`;

describe('Sumsub request signing', () => {
  it('matches the derived vector', () => {
    const { secret, ts, path, body, sig } = SIGNING_VECTOR;
    expect(sumsubRequestSignature(secret, ts, 'POST', path, body)).toBe(sig);
    expect(sumsubRequestSignature(secret, ts, 'post', path, enc.encode(body))).toBe(sig);
    expect(sumsubRequestSignature(secret, ts, 'POST', path, `${body} `)).not.toBe(sig);
  });
});

describe('Sumsub webhook verification', () => {
  it('accepts each digest algorithm over the raw body', () => {
    for (const [alg, digest] of Object.entries(WEBHOOK_DIGESTS)) {
      expect(sumsubPayloadDigest(WEBHOOK_BODY, WEBHOOK_SECRET, alg)).toBe(digest);
      const event = parseSumsubWebhook(
        enc.encode(WEBHOOK_BODY),
        { 'X-Payload-Digest': digest, 'X-Payload-Digest-Alg': alg },
        WEBHOOK_SECRET,
        NOW,
      );
      expect(event).toMatchObject({
        dedupeKey: 'req-a260b669-4f14-4bb5-a4c5-ac0218acb9a4',
        ref: '5cb56e8e0a975a35f333cb83',
        occurredAt: new Date('2020-02-21T13:23:19.321Z'),
        outcome: { status: 'approved', reasons: [], occurredAt: new Date('2020-02-21T13:23:19.321Z') },
      });
    }
    // Without the algorithm header, SHA-256 is Sumsub's default.
    const event = parseSumsubWebhook(
      enc.encode(WEBHOOK_BODY),
      { 'x-payload-digest': WEBHOOK_DIGESTS.HMAC_SHA256_HEX },
      WEBHOOK_SECRET,
      NOW,
    );
    expect(event?.outcome?.status).toBe('approved');
  });

  it('rejects a tampered body, a wrong secret, a missing digest, an unknown or downgraded algorithm', () => {
    const headers = {
      'x-payload-digest': WEBHOOK_DIGESTS.HMAC_SHA256_HEX,
      'x-payload-digest-alg': 'HMAC_SHA256_HEX',
    };
    const tampered = enc.encode(WEBHOOK_BODY.replace('GREEN', 'RED'));
    expect(() => parseSumsubWebhook(tampered, headers, WEBHOOK_SECRET, NOW)).toThrow(WebhookRejected);
    expect(() => parseSumsubWebhook(enc.encode(WEBHOOK_BODY), headers, 'wrong', NOW)).toThrow(
      WebhookRejected,
    );
    expect(() => parseSumsubWebhook(enc.encode(WEBHOOK_BODY), {}, WEBHOOK_SECRET, NOW)).toThrow(
      WebhookRejected,
    );
    expect(() =>
      parseSumsubWebhook(
        enc.encode(WEBHOOK_BODY),
        { ...headers, 'x-payload-digest-alg': 'HMAC_MD5_HEX' },
        WEBHOOK_SECRET,
        NOW,
      ),
    ).toThrow(WebhookRejected);
    const sha1 = {
      'x-payload-digest': WEBHOOK_DIGESTS.HMAC_SHA1_HEX,
      'x-payload-digest-alg': 'HMAC_SHA1_HEX',
    };
    expect(() =>
      parseSumsubWebhook(enc.encode(WEBHOOK_BODY), sha1, WEBHOOK_SECRET, NOW, 'HMAC_SHA512_HEX'),
    ).toThrow(WebhookRejected);
  });

  it('maps every webhook type and review answer', () => {
    const parse = (payload: Record<string, unknown>) => {
      const body = JSON.stringify({
        applicantId: 'a'.repeat(24),
        correlationId: 'req-1',
        createdAtMs: '2026-01-02 03:04:05.006',
        ...payload,
      });
      return parseSumsubWebhook(
        enc.encode(body),
        { 'x-payload-digest': sumsubPayloadDigest(body, WEBHOOK_SECRET) },
        WEBHOOK_SECRET,
        NOW,
      );
    };
    const reviewed = (reviewResult: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      parse({ type: 'applicantReviewed', reviewStatus: 'completed', reviewResult, ...extra })?.outcome;

    expect(reviewed({ reviewAnswer: 'GREEN' })).toMatchObject({ status: 'approved', reasons: [] });
    expect(
      reviewed({
        reviewAnswer: 'RED',
        reviewRejectType: 'RETRY',
        rejectLabels: ['UNSATISFACTORY_PHOTOS', 'SCREENSHOTS'],
      }),
    ).toMatchObject({
      status: 'resubmission_requested',
      reasons: ['unsatisfactory_photos', 'screenshots'],
      checks: { document: 'failed' },
    });
    expect(
      reviewed({
        reviewAnswer: 'RED',
        reviewRejectType: 'FINAL',
        rejectLabels: ['FORGERY', 'SELFIE_MISMATCH', 'not a label'],
      }),
    ).toMatchObject({
      status: 'declined',
      reasons: ['document_tampered', 'forgery', 'face_mismatch', 'selfie_mismatch'],
      checks: { document: 'failed', selfie: 'failed' },
    });
    expect(
      reviewed(
        { reviewAnswer: 'RED', reviewRejectType: 'FINAL', rejectLabels: ['SANCTIONS'] },
        { reprocessing: true },
      ),
    ).toMatchObject({
      status: 'declined',
      reasons: ['provider_reversal', 'watchlist_hit', 'sanctions'],
    });
    expect(parse({ type: 'applicantOnHold', reviewStatus: 'onHold' })?.outcome).toMatchObject({
      status: 'needs_review',
      reasons: ['provider_on_hold'],
    });
    for (const type of ['applicantPending', 'applicantPrechecked', 'applicantAwaitingService']) {
      expect(parse({ type, reviewStatus: 'pending' })?.outcome?.status, type).toBe('processing');
    }
    expect(parse({ type: 'applicantAwaitingUser', reviewStatus: 'awaitingUser' })?.outcome?.status).toBe(
      'awaiting_input',
    );
    expect(parse({ type: 'applicantCreated', reviewStatus: 'init' })).toBeNull();
    expect(parse({ type: 'applicantPersonalInfoChanged' })).toBeNull();
    expect(() => parse({ type: undefined })).toThrow(WebhookRejected);
  });

  it('reads Sumsub times as UTC', () => {
    expect(parseSumsubTime('2020-02-21 13:23:19.321')).toEqual(new Date('2020-02-21T13:23:19.321Z'));
    expect(parseSumsubTime('2020-02-21 13:23:19+0000')).toEqual(new Date('2020-02-21T13:23:19Z'));
    expect(parseSumsubTime('2020-02-21 15:23:19+0200')).toEqual(new Date('2020-02-21T13:23:19Z'));
    expect(parseSumsubTime('yesterday')).toBeUndefined();
  });
});

describe('Sumsub adapter against the fake API', () => {
  let fake: FakeSumsub;
  let adapter: ProviderAdapter;

  const settings = (overrides: { secretKey?: string; options?: Record<string, string> } = {}) => ({
    id: 'vpc_sumsub',
    kind: 'sumsub' as const,
    baseUrl: fake.url,
    secrets: {
      appToken: fake.appToken,
      secretKey: overrides.secretKey ?? fake.secretKey,
      webhookSecret: fake.webhookSecret,
    },
    options: overrides.options ?? { levelName: 'basic-kyc-level' },
  });

  beforeAll(async () => {
    fake = await startFakeSumsub({ now: () => NOW });
    adapter = sumsubAdapter(settings(), { fetch: globalThis.fetch, now: () => NOW });
  });
  afterAll(() => fake.close());

  const signal = () => AbortSignal.timeout(5_000);

  it('signs every call, creates the applicant by session id, uploads each document and asks for review', async () => {
    const sessionId = newSession();
    const before = fake.requests.length;
    const submission = await adapter.submit(
      request(['document', 'selfie', 'liveness'], { sessionId }),
      signal(),
    );
    expect(submission.outcome).toBeUndefined();
    expect(submission.ref).toMatch(/^[0-9a-f]{24}$/);

    const calls = fake.requests.slice(before);
    expect(calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      'POST /resources/applicants?levelName=basic-kyc-level',
      `POST /resources/applicants/${submission.ref}/info/idDoc`,
      `POST /resources/applicants/${submission.ref}/info/idDoc`,
      `POST /resources/applicants/${submission.ref}/info/idDoc`,
      `POST /resources/applicants/${submission.ref}/info/idDoc`,
      `POST /resources/applicants/${submission.ref}/status/pending`,
    ]);
    for (const call of calls) {
      expect(call.headers['x-app-token']).toBe(fake.appToken);
      expect(call.headers['x-app-access-ts']).toBe(String(NOW.getTime() / 1000));
      expect(call.headers['x-app-access-sig']).toBe(
        sumsubRequestSignature(fake.secretKey, NOW.getTime() / 1000, call.method, call.path, call.body),
      );
    }
    // Only our session id leaves the platform with the applicant; the documents go as Sumsub types.
    expect(JSON.parse(calls[0]?.body.toString() ?? '{}')).toEqual({ externalUserId: sessionId });
    expect(fake.applicant(submission.ref)?.uploads).toEqual([
      { idDocType: 'ID_CARD', idDocSubType: 'FRONT_SIDE', country: 'UTO', size: 11 },
      { idDocType: 'ID_CARD', idDocSubType: 'BACK_SIDE', country: 'UTO', size: 10 },
      { idDocType: 'SELFIE', idDocSubType: null, country: 'UTO', size: 12 },
      { idDocType: 'VIDEO_SELFIE', idDocSubType: null, country: 'UTO', size: 14 },
    ]);
  });

  it('works through the platform’s SSRF-guarded fetch (trusted local host)', async () => {
    const guarded = sumsubAdapter(settings(), {
      fetch: publicFetch({ trustedHosts: ['127.0.0.1'], httpForTrustedHosts: true }),
      now: () => NOW,
    });
    const { ref } = await guarded.submit(
      request(['document', 'selfie'], { sessionId: newSession() }),
      signal(),
    );
    expect(fake.applicant(ref)?.uploads).toHaveLength(4);
    expect((await guarded.fetchResult(ref, signal())).status).toBe('approved');
  });

  it('maps GREEN to approved with what Sumsub read from the documents', async () => {
    const { ref } = await adapter.submit(
      request(['document', 'selfie'], { sessionId: newSession() }),
      signal(),
    );
    const outcome = await adapter.fetchResult(ref, signal());
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
        issuingCountry: 'UTO',
        nationality: 'UTO',
      },
      occurredAt: NOW,
    });
    expect(outcome.extracted.documentExpiresOn && outcome.extracted.documentExpiresOn > '2026-03-01').toBe(
      true,
    );
    expect(outcome.raw).toMatchObject({ id: ref, review: { reviewStatus: 'completed' } });
  });

  it('maps RED, on-hold and pending reviews, and a RED after GREEN as a reversal', async () => {
    const sessionId = newSession();
    fake.decide(sessionId, { reviewStatus: 'pending' });
    const { ref } = await adapter.submit(request(['document', 'selfie'], { sessionId }), signal());
    expect((await adapter.fetchResult(ref, signal())).status).toBe('processing');

    fake.decide(ref, { reviewStatus: 'onHold' });
    expect(await adapter.fetchResult(ref, signal())).toMatchObject({
      status: 'needs_review',
      checks: { document: 'passed', selfie: 'passed' },
    });

    fake.decide(ref, { reviewAnswer: 'RED', reviewRejectType: 'RETRY', rejectLabels: ['BAD_SELFIE'] });
    expect(await adapter.fetchResult(ref, signal())).toMatchObject({
      status: 'resubmission_requested',
      reasons: ['bad_selfie'],
      checks: { document: 'passed', selfie: 'failed' },
    });

    const approvedSession = newSession();
    const approved = await adapter.submit(request(['document'], { sessionId: approvedSession }), signal());
    expect((await adapter.fetchResult(approved.ref, signal())).status).toBe('approved');
    fake.decide(approved.ref, {
      reviewAnswer: 'RED',
      reviewRejectType: 'FINAL',
      rejectLabels: ['FRAUDULENT_PATTERNS'],
    });
    const reversed = await adapter.fetchResult(approved.ref, signal());
    expect(reversed).toMatchObject({
      status: 'declined',
      reasons: ['provider_reversal', 'fraudulent_patterns'],
    });

    const reversal = fake.webhook(approved.ref);
    expect(adapter.parseWebhook(enc.encode(reversal.body), reversal.headers, NOW)?.outcome).toMatchObject({
      status: 'declined',
      reasons: ['provider_reversal', 'fraudulent_patterns'],
    });

    const declinedSession = newSession();
    fake.decide(declinedSession, {
      reviewAnswer: 'RED',
      reviewRejectType: 'FINAL',
      rejectLabels: ['FORGERY'],
    });
    const declined = await adapter.submit(request(['document'], { sessionId: declinedSession }), signal());
    expect(await adapter.fetchResult(declined.ref, signal())).toMatchObject({
      status: 'declined',
      reasons: ['document_tampered', 'forgery'],
      checks: { document: 'failed' },
    });
  });

  it('reuses the session’s applicant on resubmission', async () => {
    const sessionId = newSession();
    fake.decide(sessionId, { reviewAnswer: 'RED', reviewRejectType: 'RETRY', rejectLabels: ['LOW_QUALITY'] });
    const first = await adapter.submit(request(['document'], { sessionId }), signal());
    expect((await adapter.fetchResult(first.ref, signal())).status).toBe('resubmission_requested');
    const second = await adapter.submit(
      request(['document'], { sessionId, attemptId: 'vat_01JSECONDATTEMPT00000000' }),
      signal(),
    );
    expect(second.ref).toBe(first.ref);
    expect(fake.applicant(first.ref)?.review).toMatchObject({ attemptCnt: 2 });
    expect((await adapter.fetchResult(second.ref, signal())).status).toBe('approved');
  });

  it('parses the fake’s webhooks: duplicates share a key, an older pending event stays older', async () => {
    const { ref } = await adapter.submit(request(['document'], { sessionId: newSession() }), signal());
    const reviewed = fake.webhook(ref);
    const event = adapter.parseWebhook(enc.encode(reviewed.body), reviewed.headers, NOW);
    expect(event).toMatchObject({ ref, occurredAt: NOW, outcome: { status: 'approved' } });
    const duplicate = adapter.parseWebhook(enc.encode(reviewed.body), reviewed.headers, NOW);
    expect(duplicate?.dedupeKey).toBe(event?.dedupeKey);

    const late = fake.webhook(ref, { type: 'applicantPending', createdAt: new Date(NOW.getTime() - 60_000) });
    const older = adapter.parseWebhook(enc.encode(late.body), late.headers, NOW);
    expect(older?.outcome?.status).toBe('processing');
    expect(older?.dedupeKey).not.toBe(event?.dedupeKey);
    expect(older?.occurredAt).toEqual(new Date(NOW.getTime() - 60_000));

    const sha512 = fake.webhook(ref, { digestAlg: 'HMAC_SHA512_HEX' });
    expect(adapter.parseWebhook(enc.encode(sha512.body), sha512.headers, NOW)?.outcome?.status).toBe(
      'approved',
    );
    const forged = fake.webhook(ref, { secret: 'not-the-secret' });
    expect(() => adapter.parseWebhook(enc.encode(forged.body), forged.headers, NOW)).toThrow(WebhookRejected);

    const pinned = sumsubAdapter(
      settings({ options: { levelName: 'basic-kyc-level', webhookDigestAlg: 'HMAC_SHA512_HEX' } }),
      {
        fetch: globalThis.fetch,
        now: () => NOW,
      },
    );
    expect(() => pinned.parseWebhook(enc.encode(reviewed.body), reviewed.headers, NOW)).toThrow(
      WebhookRejected,
    );
    expect(pinned.parseWebhook(enc.encode(sha512.body), sha512.headers, NOW)?.ref).toBe(ref);
  });

  it('classifies failures: 5xx and 429 transient, bad signature rejected, unsupported document, timeout', async () => {
    fake.failNext('error500', '/status/pending');
    let error = await providerError(
      adapter.submit(request(['document'], { sessionId: newSession() }), signal()),
    );
    expect([error.kind, error.status]).toEqual(['transient', 500]);

    fake.failNext('rate_limited');
    error = await providerError(adapter.submit(request(['document'], { sessionId: newSession() }), signal()));
    expect([error.kind, error.status]).toEqual(['transient', 429]);

    fake.failNext('unsupported', '/info/idDoc');
    error = await providerError(adapter.submit(request(['document'], { sessionId: newSession() }), signal()));
    expect([error.kind, error.status]).toEqual(['unsupported', 400]);

    const badKey = sumsubAdapter(settings({ secretKey: 'not-the-key' }), {
      fetch: globalThis.fetch,
      now: () => NOW,
    });
    error = await providerError(badKey.submit(request(['document'], { sessionId: newSession() }), signal()));
    expect([error.kind, error.status]).toEqual(['rejected', 401]);

    const stale = sumsubAdapter(settings(), {
      fetch: globalThis.fetch,
      now: () => new Date(NOW.getTime() - 3_600_000),
    });
    error = await providerError(stale.fetchResult('0'.repeat(24), signal()));
    expect([error.kind, error.status]).toEqual(['rejected', 401]);

    fake.failNext('hang', '/one');
    const { ref } = await adapter.submit(request(['document'], { sessionId: newSession() }), signal());
    const started = Date.now();
    error = await providerError(adapter.fetchResult(ref, AbortSignal.timeout(150)));
    expect(error.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('answers unknown applicants and bad input like Sumsub, and checks its own preconditions', async () => {
    let error = await providerError(adapter.fetchResult('0'.repeat(24), signal()));
    expect([error.kind, error.status]).toEqual(['rejected', 404]);

    const strict = await startFakeSumsub({ now: () => NOW, levels: { 'basic-kyc-level': ['IDENTITY'] } });
    try {
      const onStrict = sumsubAdapter(
        { ...settings({ options: { levelName: 'no-such-level' } }), baseUrl: strict.url },
        {
          fetch: globalThis.fetch,
          now: () => NOW,
        },
      );
      error = await providerError(
        onStrict.submit(request(['document'], { sessionId: newSession() }), signal()),
      );
      expect([error.kind, error.status]).toEqual(['rejected', 404]);
    } finally {
      await strict.close();
    }

    const before = fake.requests.length;
    const noLevel = sumsubAdapter(settings({ options: {} }), { fetch: globalThis.fetch, now: () => NOW });
    expect((await providerError(noLevel.submit(request(['document']), signal()))).kind).toBe('rejected');
    const noType = request(['document'], { fields: { issuingCountry: 'UTO' } });
    expect((await providerError(adapter.submit(noType, signal()))).kind).toBe('rejected');
    const noCountry = request(['document'], { fields: { documentType: 'PASSPORT' } });
    expect((await providerError(adapter.submit(noCountry, signal()))).kind).toBe('rejected');
    expect(fake.requests.length).toBe(before);
  });
});
