import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PERSONA_DEFAULT_VERSION,
  parsePersonaWebhook,
  personaAdapter,
  personaOutcome,
  personaSignature,
} from '../src/modules/kyc/providers/persona.js';
import {
  type ProviderAdapter,
  ProviderError,
  type ProviderRequest,
  type ProviderSettings,
  WebhookRejected,
} from '../src/modules/kyc/providers/types.js';
import type { NormalizedStatus, PlainDocument } from '../src/modules/kyc/types.js';
import {
  type FakePersona,
  PERSONA_FAKE_API_KEY,
  PERSONA_FAKE_TEMPLATE_ID,
  PERSONA_FAKE_WEBHOOK_SECRET,
  type PersonaDecision,
  startFakePersona,
} from './fakes/persona.js';

const NOW = new Date('2026-05-01T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

let fake: FakePersona;
let adapter: ProviderAdapter;

function settings(
  secrets: Partial<ProviderSettings['secrets']> = {},
  options: ProviderSettings['options'] = {},
  baseUrl = fake.url,
): ProviderSettings {
  return {
    id: 'vpc_persona',
    kind: 'persona',
    baseUrl,
    secrets: { apiKey: PERSONA_FAKE_API_KEY, webhookSecret: PERSONA_FAKE_WEBHOOK_SECRET, ...secrets },
    options: { inquiryTemplateId: PERSONA_FAKE_TEMPLATE_ID, ...options },
  };
}

const deps = { fetch: globalThis.fetch, now: () => NOW };
const encode = (text: string) => new TextEncoder().encode(text);

const file = (kind: PlainDocument['kind'], bytes: number[], contentType = 'image/jpeg'): PlainDocument => ({
  kind,
  contentType,
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
      file('selfie', [7, 8, 9], 'image/png'),
    ],
    fields: {
      firstName: 'Anna Maria',
      lastName: 'Eriksson',
      dateOfBirth: '1974-08-12',
      documentType: 'PASSPORT',
      issuingCountry: 'GBR',
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
  fake = await startFakePersona({ now: () => NOW });
  adapter = personaAdapter(settings(), deps);
});

afterAll(async () => {
  await fake.close();
});

// Reference §2.4 [derived]: secret wbhsec_test, t=1568069091.
const VECTOR_BODY =
  '{"data":{"type":"event","id":"evt_XGuYWp7WuDzNxie5z16s7sGJ","attributes":{"name":"inquiry.approved","payload":{"data":{"type":"inquiry","id":"inq_2CVZ4HyVg7qaboXz2PUHknAn","attributes":{"status":"approved"}}},"created-at":"2019-09-09T22:44:51.000Z"}}}';
const VECTOR_HEADER = 't=1568069091,v1=5e78942805a94f4f765b394a531245dc19268c40afb8aaee1ddd068c6802cf92';
const VECTOR_T = 1568069091;

describe('Persona webhook signatures', () => {
  it('verifies the reference vector [derived]', () => {
    expect(personaSignature(String(VECTOR_T), VECTOR_BODY, 'wbhsec_test')).toBe(
      '5e78942805a94f4f765b394a531245dc19268c40afb8aaee1ddd068c6802cf92',
    );
    const event = parsePersonaWebhook(
      encode(VECTOR_BODY),
      { 'persona-signature': VECTOR_HEADER },
      ['wbhsec_test'],
      new Date((VECTOR_T + 30) * 1000),
    );
    // An approval without the government id's data: the decision (with what the document said) is fetched.
    expect(event).toEqual({
      dedupeKey: 'persona|evt_XGuYWp7WuDzNxie5z16s7sGJ',
      ref: 'inq_2CVZ4HyVg7qaboXz2PUHknAn',
      occurredAt: new Date('2019-09-09T22:44:51.000Z'),
    });
  });

  it('holds a 5-minute tolerance on the timestamp, using the clock it is given', () => {
    const parse = (offsetS: number) =>
      parsePersonaWebhook(
        encode(VECTOR_BODY),
        { 'Persona-Signature': VECTOR_HEADER },
        ['wbhsec_test'],
        new Date((VECTOR_T + offsetS) * 1000),
      );
    expect(parse(300)).not.toBeNull();
    expect(parse(-300)).not.toBeNull();
    expect(() => parse(301)).toThrow('tolerance');
    expect(() => parse(-301)).toThrow('tolerance');
  });

  it('rejects a tampered body, a wrong secret, a missing or malformed header', () => {
    const at = new Date(VECTOR_T * 1000);
    const tampered = VECTOR_BODY.replace('"approved"}}},', '"declined"}}},');
    expect(() =>
      parsePersonaWebhook(encode(tampered), { 'persona-signature': VECTOR_HEADER }, ['wbhsec_test'], at),
    ).toThrow(WebhookRejected);
    expect(() =>
      parsePersonaWebhook(encode(VECTOR_BODY), { 'persona-signature': VECTOR_HEADER }, ['wbhsec_other'], at),
    ).toThrow('does not match');
    expect(() => parsePersonaWebhook(encode(VECTOR_BODY), {}, ['wbhsec_test'], at)).toThrow(WebhookRejected);
    expect(() =>
      parsePersonaWebhook(encode(VECTOR_BODY), { 'persona-signature': 'v1=5e78' }, ['wbhsec_test'], at),
    ).toThrow(WebhookRejected);
    expect(() =>
      parsePersonaWebhook(encode(VECTOR_BODY), { 'persona-signature': VECTOR_HEADER }, [''], at),
    ).toThrow('not configured');
  });

  it('accepts either signature during a rotation, against either configured secret', () => {
    const body = VECTOR_BODY;
    const t = String(NOW_S);
    const pair = (secret: string) => `t=${t},v1=${personaSignature(t, body, secret)}`;
    const both = { 'persona-signature': `${pair('wbhsec_old')} ${pair('wbhsec_new')}` };
    const newOnly = { 'persona-signature': pair('wbhsec_new') };
    expect(parsePersonaWebhook(encode(body), both, ['wbhsec_new'], NOW)).not.toBeNull();
    expect(parsePersonaWebhook(encode(body), both, ['wbhsec_old'], NOW)).not.toBeNull();
    expect(parsePersonaWebhook(encode(body), newOnly, ['wbhsec_old', 'wbhsec_new'], NOW)).not.toBeNull();
    expect(() => parsePersonaWebhook(encode(body), newOnly, ['wbhsec_old'], NOW)).toThrow('does not match');
    // A fresh pair with a bad signature next to a stale pair with a good one does not pass.
    const stale = String(NOW_S - 3600);
    const mixed = `t=${stale},v1=${personaSignature(stale, body, 'wbhsec_new')} t=${t},v1=${'0'.repeat(64)}`;
    expect(() =>
      parsePersonaWebhook(encode(body), { 'persona-signature': mixed }, ['wbhsec_new'], NOW),
    ).toThrow('does not match');
  });

  it('names the inquiry of a verification event and ignores other subjects', () => {
    const sign = (body: string) => ({
      'persona-signature': `t=${NOW_S},v1=${personaSignature(String(NOW_S), body, 'wbhsec_test')}`,
    });
    const verificationEvent = JSON.stringify({
      data: {
        type: 'event',
        id: 'evt_verification',
        attributes: {
          name: 'verification.passed',
          payload: {
            data: {
              type: 'verification/government-id',
              id: 'ver_1',
              attributes: { status: 'passed' },
              relationships: { inquiry: { data: { type: 'inquiry', id: 'inq_1' } } },
            },
          },
          'created-at': '2026-05-01T11:59:00.000Z',
        },
      },
    });
    expect(
      parsePersonaWebhook(encode(verificationEvent), sign(verificationEvent), ['wbhsec_test'], NOW),
    ).toEqual({
      dedupeKey: 'persona|evt_verification',
      ref: 'inq_1',
      occurredAt: new Date('2026-05-01T11:59:00.000Z'),
    });
    const accountEvent = JSON.stringify({
      data: {
        type: 'event',
        id: 'evt_account',
        attributes: { name: 'account.created', payload: { data: { type: 'account', id: 'act_1' } } },
      },
    });
    expect(parsePersonaWebhook(encode(accountEvent), sign(accountEvent), ['wbhsec_test'], NOW)).toBeNull();
    const notAnEvent = '{"data":{"type":"inquiry","id":"inq_1"}}';
    expect(() => parsePersonaWebhook(encode(notAnEvent), sign(notAnEvent), ['wbhsec_test'], NOW)).toThrow(
      'not a Persona event',
    );
  });
});

describe('Persona adapter against the fake', () => {
  it('creates an inquiry, a government id and a selfie verification, and submits both', async () => {
    const before = fake.requests.length;
    const { ref, outcome } = await adapter.submit(request('vrf_submit'), signal());
    expect(outcome).toBeUndefined();
    expect(ref).toMatch(/^inq_/);
    const calls = fake.requests.slice(before);
    const [, governmentId, , selfie] = calls.map((call) => JSON.parse(call.body.toString() || '{}'));
    expect(calls.map((call) => `${call.method} ${call.path.replace(/ver_\w+/, 'ver_*')}`)).toEqual([
      'POST /inquiries',
      'POST /verification/government-ids',
      'POST /verification/government-ids/ver_*/submit',
      'POST /verification/selfies',
      'POST /verification/selfies/ver_*/submit',
    ]);
    for (const call of calls) {
      expect(call.headers.authorization).toBe(`Bearer ${PERSONA_FAKE_API_KEY}`);
      expect(call.headers['persona-version']).toBe(PERSONA_DEFAULT_VERSION);
    }
    expect(JSON.parse(calls[0]?.body.toString() ?? '{}')).toEqual({
      data: {
        attributes: {
          'inquiry-template-id': PERSONA_FAKE_TEMPLATE_ID,
          'reference-id': 'vrf_submit',
          fields: { 'name-first': 'Anna Maria', 'name-last': 'Eriksson', birthdate: '1974-08-12' },
        },
      },
    });
    expect(governmentId.data.attributes).toEqual({
      'inquiry-id': ref,
      'id-class': 'pp',
      'country-code': 'GB',
      'front-photo': { data: Buffer.from([1, 2, 3]).toString('base64'), filename: 'document-front.jpg' },
      'back-photo': { data: Buffer.from([4, 5, 6]).toString('base64'), filename: 'document-back.jpg' },
    });
    expect(selfie.data.attributes).toEqual({
      'inquiry-id': ref,
      'capture-method': 'photo',
      'center-photo': { data: Buffer.from([7, 8, 9]).toString('base64'), filename: 'selfie.png' },
    });
  });

  it('fetches an approval with what Persona read from the document', async () => {
    const { ref } = await adapter.submit(request('vrf_fetch'), signal());
    const before = fake.requests.length;
    const outcome = await adapter.fetchResult(ref, signal());
    expect(fake.requests[before]?.path).toBe(`/inquiries/${ref}?include=verifications`);
    expect(outcome).toMatchObject({
      status: 'approved',
      reasons: [],
      checks: { document: 'passed', selfie: 'passed' },
      extracted: {
        firstName: 'Anna Maria',
        lastName: 'Eriksson',
        dateOfBirth: '1974-08-12',
        documentExpiresOn: '2031-04-30',
        documentNumber: 'L898902C3',
        documentType: 'PASSPORT',
        issuingCountry: 'GBR',
      },
      occurredAt: NOW,
    });
  });

  it('maps every inquiry status', async () => {
    const cases: [PersonaDecision, NormalizedStatus, string[]][] = [
      ['pending', 'awaiting_input', []],
      ['completed', 'processing', []],
      ['needs_review', 'needs_review', []],
      ['approved', 'approved', []],
      [{ status: 'declined', failedChecks: ['id_expired_detection'] }, 'declined', ['document_expired']],
      [
        { status: 'failed', failedChecks: ['selfie_id_comparison', 'id_barcode_detection'] },
        'declined',
        ['face_mismatch', 'id_barcode_detection'],
      ],
      ['expired', 'expired', []],
      [
        { status: 'pending', verificationStatus: 'requires_retry', failedChecks: ['id_blur_detection'] },
        'resubmission_requested',
        ['poor_image_quality'],
      ],
    ];
    for (const [decision, status, reasons] of cases) {
      const key =
        typeof decision === 'string' ? decision : `${decision.status}_${decision.verificationStatus ?? ''}`;
      fake.decide(`vrf_status_${key}`, decision);
      const { ref } = await adapter.submit(request(`vrf_status_${key}`), signal());
      const outcome = await adapter.fetchResult(ref, signal());
      expect(outcome.status, JSON.stringify(decision)).toBe(status);
      expect(outcome.reasons).toEqual(reasons);
    }
    // An inquiry nobody has worked on yet.
    const { ref } = await adapter.submit(request('vrf_status_created', []), signal());
    expect((await adapter.fetchResult(ref, signal())).status).toBe('awaiting_input');
  });

  it('reads `completed` as approved for templates without decisioning', async () => {
    fake.decide('vrf_completed', 'completed');
    const { ref } = await adapter.submit(request('vrf_completed'), signal());
    const plain = personaAdapter(settings({}, { completedMeans: 'approved' }), deps);
    expect((await plain.fetchResult(ref, signal())).status).toBe('approved');
    expect((await adapter.fetchResult(ref, signal())).status).toBe('processing');
  });

  it('classifies errors', async () => {
    fake.failNext('error500');
    expect(await errorOf(adapter.submit(request('vrf_e1'), signal()))).toMatchObject({
      kind: 'transient',
      status: 500,
    });
    fake.failNext('rate_limited', '/selfies');
    expect(await errorOf(adapter.submit(request('vrf_e2'), signal()))).toMatchObject({
      kind: 'transient',
      status: 429,
    });
    fake.failNext('unauthorized');
    expect(await errorOf(adapter.submit(request('vrf_e3'), signal()))).toMatchObject({
      kind: 'rejected',
      status: 401,
    });
    fake.failNext('unsupported', '/government-ids');
    expect(await errorOf(adapter.submit(request('vrf_e4'), signal()))).toMatchObject({
      kind: 'unsupported',
      status: 422,
    });
    // The fake checks credentials and the version header as Persona does.
    const wrongKey = personaAdapter(settings({ apiKey: 'wrong' }), deps);
    expect(await errorOf(wrongKey.submit(request('vrf_e5'), signal()))).toMatchObject({
      kind: 'rejected',
      status: 401,
    });
    const badVersion = personaAdapter(settings({}, { apiVersion: 'latest' }), deps);
    expect(await errorOf(badVersion.submit(request('vrf_e6'), signal()))).toMatchObject({
      kind: 'rejected',
      status: 400,
    });
    const noTemplate = personaAdapter(settings({}, { inquiryTemplateId: '' }), deps);
    expect(await errorOf(noTemplate.submit(request('vrf_e7'), signal()))).toMatchObject({ kind: 'rejected' });
    expect(await errorOf(adapter.fetchResult('inq_unknown', signal()))).toMatchObject({
      kind: 'rejected',
      status: 404,
    });
  });

  it('times out on a hanging Persona', async () => {
    fake.failNext('hang');
    const started = Date.now();
    expect(await errorOf(adapter.fetchResult('inq_any', AbortSignal.timeout(200)))).toMatchObject({
      kind: 'timeout',
    });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('Persona webhooks from the fake', () => {
  it('parses a decision with its verifications; a redelivery has the same dedupe key', async () => {
    fake.decide('vrf_hook', { status: 'declined', failedChecks: ['id_tamper_detection'] });
    const { ref } = await adapter.submit(request('vrf_hook'), signal());
    const delivery = fake.webhook(ref);
    const event = adapter.parseWebhook(encode(delivery.body), delivery.headers, NOW);
    expect(event).toMatchObject({
      ref,
      occurredAt: NOW,
      outcome: { status: 'declined', reasons: ['suspected_tampering'], checks: { document: 'failed' } },
    });
    expect(event?.dedupeKey).toMatch(/^persona\|evt_/);
    const again = adapter.parseWebhook(
      encode(delivery.body),
      delivery.headers,
      new Date(NOW.getTime() + 60_000),
    );
    expect(again?.dedupeKey).toBe(event?.dedupeKey);
  });

  it('carries the extracted data of an approval that includes the government id', async () => {
    const { ref } = await adapter.submit(request('vrf_hook_approved'), signal());
    const delivery = fake.webhook(ref);
    const event = adapter.parseWebhook(encode(delivery.body), delivery.headers, NOW);
    expect(event?.outcome).toMatchObject({ status: 'approved', extracted: { dateOfBirth: '1974-08-12' } });
    const thin = fake.webhook(ref, { includeVerifications: false });
    expect(adapter.parseWebhook(encode(thin.body), thin.headers, NOW)?.outcome).toBeUndefined();
  });

  it('dates an older, non-final event by its created-at, so it sorts before the decision', async () => {
    const { ref } = await adapter.submit(request('vrf_hook_order'), signal());
    const earlier = new Date(NOW.getTime() - 120_000);
    const older = fake.webhook(ref, { asStatus: 'pending', createdAt: earlier });
    const event = adapter.parseWebhook(encode(older.body), older.headers, NOW);
    expect(event).toMatchObject({
      ref,
      occurredAt: earlier,
      outcome: { status: 'awaiting_input', occurredAt: earlier },
    });
    const decision = fake.webhook(ref);
    const decided = adapter.parseWebhook(encode(decision.body), decision.headers, NOW);
    expect(decided?.occurredAt.getTime()).toBeGreaterThan(earlier.getTime());
    expect(decided?.dedupeKey).not.toBe(event?.dedupeKey);
  });

  it('verifies with the next secret during a rotation', async () => {
    const { ref } = await adapter.submit(request('vrf_hook_rotation'), signal());
    const rotating = personaAdapter(
      settings({ webhookSecret: 'wbhsec_old', webhookSecretNext: PERSONA_FAKE_WEBHOOK_SECRET }),
      deps,
    );
    const delivery = fake.webhook(ref);
    expect(rotating.parseWebhook(encode(delivery.body), delivery.headers, NOW)?.ref).toBe(ref);
    const stale = fake.webhook(ref, { timestamp: NOW_S - 600 });
    expect(() => rotating.parseWebhook(encode(stale.body), stale.headers, NOW)).toThrow(WebhookRejected);
  });

  it('delivers to a target, and the same bytes again as a duplicate', async () => {
    const received: { body: string; headers: Record<string, string | string[] | undefined> }[] = [];
    const target = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks).toString(), headers: req.headers });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const { port } = target.address() as { port: number };
    try {
      const { ref } = await adapter.submit(request('vrf_deliver'), signal());
      const sent = await fake.sendWebhook(`http://127.0.0.1:${port}/hook`, ref);
      expect(sent.status).toBe(200);
      await fake.redeliver(`http://127.0.0.1:${port}/hook`, sent.delivery);
      const keys = received.map(
        (delivery) => adapter.parseWebhook(encode(delivery.body), delivery.headers, NOW)?.dedupeKey,
      );
      expect(keys).toHaveLength(2);
      expect(keys[1]).toBe(keys[0]);
    } finally {
      await new Promise<void>((resolve) => target.close(() => resolve()));
    }
  });
});

describe('personaOutcome', () => {
  it('sends unknown statuses to review and takes the latest attempt of each verification', () => {
    const unknown = personaOutcome(
      { type: 'inquiry', id: 'inq_1', attributes: { status: 'reopened' } },
      [],
      {},
      NOW,
    );
    expect(unknown).toMatchObject({ status: 'needs_review', reasons: ['provider_status_unknown'] });
    const retried = personaOutcome(
      { type: 'inquiry', id: 'inq_1', attributes: { status: 'approved' } },
      [
        {
          type: 'verification/government-id',
          id: 'ver_2',
          attributes: {
            status: 'passed',
            'created-at': '2026-05-01T10:05:00Z',
            'id-class': 'dl',
            'country-code': 'US',
          },
        },
        {
          type: 'verification/government-id',
          id: 'ver_1',
          attributes: {
            status: 'requires_retry',
            'created-at': '2026-05-01T10:00:00Z',
            checks: [{ name: 'id_glare_detection', status: 'failed', reasons: [] }],
          },
        },
      ],
      {},
      NOW,
    );
    expect(retried).toMatchObject({
      status: 'approved',
      reasons: [],
      checks: { document: 'passed' },
      extracted: { documentType: 'DRIVERS_LICENSE', issuingCountry: 'USA' },
    });
  });
});
