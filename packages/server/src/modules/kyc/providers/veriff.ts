/**
 * Veriff, API capture: create a session (our session id as `vendorData`) → upload each image as media →
 * PATCH the session to `submitted`; the Veriff session id is our ref. Every request is signed: X-AUTH-CLIENT
 * (API key) + X-HMAC-SIGNATURE, hex HMAC-SHA256 with the shared secret over the raw body (POST/PATCH) or the
 * session id (GET). Webhooks are signed the same way over their raw body. The decision webhook carries the
 * decision. Event webhooks (`started` 7001, `submitted` 7002) are verified and give null: they carry no time
 * and nothing our API capture does not know already (we submit the session ourselves), and dated by their
 * arrival a late one would make an earlier `review` decision look stale. Statuses are read from `status`,
 * never `code` (Veriff's pages disagree on some codes, e.g. 9121).
 *
 * `verification.callback` is where Veriff sends the end user's browser, not webhooks (those are set per
 * integration in Veriff's portal), so no callback is sent. Veriff speaks ISO 3166-1
 * alpha-2; the platform alpha-3.
 */
import { createHmac } from 'node:crypto';
import { alpha2FromAlpha3, alpha3FromAlpha2 } from '../country-codes.js';
import type {
  CheckOutcome,
  DocumentType,
  ExtractedFields,
  NormalizedStatus,
  PlainDocument,
  ProviderOutcome,
} from '../types.js';
import {
  asRecord,
  callProvider,
  errorKindForStatus,
  headerValue,
  joinUrl,
  type ProviderResponse,
  parseJsonBody,
  safeEqual,
  stringField,
  tryParseJson,
} from './http.js';
import {
  type AdapterDeps,
  type AdapterFactory,
  type HeaderBag,
  type ProviderCapabilities,
  ProviderError,
  type ProviderEvent,
  type ProviderSettings,
  WebhookRejected,
} from './types.js';

/**
 * A decision covers the document and the face on it compared with the face image (Veriff's identity
 * verification always does both). Age is derived by the platform from the date of birth Veriff reads.
 * Liveness videos and proof of address are other Veriff products with other APIs.
 */
export const veriffCapabilities: ProviderCapabilities = {
  checks: ['document', 'selfie', 'age'],
  documentTypes: ['PASSPORT', 'ID_CARD', 'DRIVERS_LICENSE', 'RESIDENCE_PERMIT'],
  countries: null,
};

const PROVIDER = 'Veriff';

/** Hex HMAC-SHA256 of a request body, a webhook body or (for GET) a session id. */
export function veriffSignature(payload: Uint8Array | string, sharedSecret: string): string {
  return createHmac('sha256', sharedSecret).update(payload).digest('hex');
}

const MEDIA_CONTEXT: Partial<Record<PlainDocument['kind'], string>> = {
  'document-front': 'document-front',
  'document-back': 'document-back',
  selfie: 'face',
};

const STATUS: Record<string, NormalizedStatus> = {
  created: 'awaiting_input',
  started: 'awaiting_input',
  submitted: 'processing',
  approved: 'approved',
  declined: 'declined',
  resubmission_requested: 'resubmission_requested',
  review: 'needs_review',
  expired: 'expired',
  abandoned: 'expired',
};

/** Veriff's decline (1xx) and resubmission (2xx) reason codes as stable platform reasons. */
const REASONS: Record<number, string> = {
  101: 'physical_document_not_used',
  102: 'suspected_tampering',
  103: 'face_mismatch',
  104: 'name_mismatch',
  105: 'suspicious_behaviour',
  106: 'known_fraud',
  108: 'duplicate_user',
  109: 'duplicate_device',
  110: 'duplicate_document',
  112: 'restricted_ip_location',
  201: 'images_missing',
  204: 'poor_image_quality',
  205: 'document_damaged',
  206: 'document_type_not_supported',
  207: 'document_expired',
  539: 'attempt_limit_reached',
};

function reasonFor(code: unknown): string | undefined {
  const number = typeof code === 'string' ? Number(code) : code;
  if (typeof number !== 'number' || !Number.isInteger(number)) return undefined;
  return REASONS[number] ?? `veriff_reason_${number}`;
}

const DOCUMENT_TYPES = new Set<string>(veriffCapabilities.documentTypes ?? []);

function isoDate(value: string | undefined): string | undefined {
  return value && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : undefined;
}

function parseTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time);
}

function extractedFrom(verification: Record<string, unknown>): ExtractedFields {
  const person = asRecord(verification.person);
  const document = asRecord(verification.document);
  const type = stringField(document, 'type');
  const extracted: ExtractedFields = {
    firstName: stringField(person, 'firstName'),
    lastName: stringField(person, 'lastName'),
    dateOfBirth: isoDate(stringField(person, 'dateOfBirth')),
    nationality: alpha3FromAlpha2(stringField(person, 'nationality')),
    documentNumber: stringField(document, 'number'),
    documentType: type && DOCUMENT_TYPES.has(type) ? (type as DocumentType) : undefined,
    issuingCountry: alpha3FromAlpha2(stringField(document, 'country')),
    documentExpiresOn: isoDate(stringField(document, 'validUntil')),
  };
  return Object.fromEntries(
    Object.entries(extracted).filter(([, value]) => value !== undefined),
  ) as ExtractedFields;
}

/**
 * Maps a Veriff decision (`verification` of the decision webhook or of GET …/decision) into the platform's
 * outcome (pure; exported for tests). `raw` is the whole answer as received.
 */
export function veriffOutcome(verification: unknown, raw: unknown, fallbackTime: Date): ProviderOutcome {
  const decision = asRecord(verification);
  const veriffStatus = stringField(decision, 'status') ?? '';
  const known = STATUS[veriffStatus];
  const status = known ?? 'needs_review';
  const reasons: string[] = [];
  const reason = reasonFor(decision.reasonCode);
  if (reason) reasons.push(reason);
  // A status Veriff added after this adapter was written goes to a person rather than being guessed.
  if (!known) reasons.push('provider_status_unknown');

  const checks: ProviderOutcome['checks'] = {};
  const both = (outcome: CheckOutcome) => {
    checks.document = outcome;
    checks.selfie = outcome;
  };
  if (status === 'approved') both('passed');
  else if (status === 'needs_review') both('review');
  else if (status === 'declined') {
    if (reason === 'face_mismatch') {
      checks.document = 'passed';
      checks.selfie = 'failed';
    } else checks.document = 'failed';
  }
  const occurredAt =
    parseTime(stringField(decision, 'decisionTime')) ??
    parseTime(stringField(decision, 'acceptanceTime')) ??
    fallbackTime;
  return { status, reasons, checks, extracted: extractedFrom(decision), raw, occurredAt };
}

/** Verifies and parses a Veriff webhook (pure; the factory binds the key and secret). */
export function parseVeriffWebhook(
  rawBody: Uint8Array,
  headers: HeaderBag,
  credentials: { apiKey: string; sharedSecret: string },
  now: Date,
): ProviderEvent | null {
  if (!credentials.sharedSecret || !credentials.apiKey)
    throw new WebhookRejected('Veriff credentials are not configured');
  const client = headerValue(headers, 'x-auth-client');
  const signature = headerValue(headers, 'x-hmac-signature');
  if (!client || !signature) throw new WebhookRejected('missing X-AUTH-CLIENT or X-HMAC-SIGNATURE');
  if (!safeEqual(client, credentials.apiKey))
    throw new WebhookRejected('X-AUTH-CLIENT is not this integration');
  if (!safeEqual(signature.toLowerCase(), veriffSignature(rawBody, credentials.sharedSecret))) {
    throw new WebhookRejected('X-HMAC-SIGNATURE does not match');
  }
  const body = asRecord(tryParseJson(rawBody));
  const verification = asRecord(body.verification);
  const sessionId = stringField(verification, 'id');
  const status = stringField(verification, 'status');
  if (sessionId && status) {
    const outcome = veriffOutcome(verification, body, now);
    return {
      dedupeKey: ['veriff', 'decision', sessionId, stringField(verification, 'attemptId') ?? '', status].join(
        '|',
      ),
      ref: sessionId,
      occurredAt: outcome.occurredAt,
      outcome,
    };
  }
  // An event webhook (`id` is the session id, `action` started/submitted): nothing to act on.
  if (stringField(body, 'id') && stringField(body, 'action')) return null;
  throw new WebhookRejected('not a Veriff webhook payload');
}

/** Classifies a non-2xx answer; Veriff's `fail` about the document's type or country is "unsupported". */
function veriffError(response: ProviderResponse, what: string): ProviderError {
  const body = asRecord(tryParseJson(response.body));
  const code = stringField(body, 'code') ?? (typeof body.code === 'number' ? String(body.code) : undefined);
  const message = stringField(body, 'message') ?? '';
  const unsupported =
    response.status >= 400 &&
    response.status < 500 &&
    /document\.(type|country)|not supported|unsupported/i.test(message);
  const kind = unsupported ? 'unsupported' : errorKindForStatus(response.status);
  return new ProviderError(
    kind,
    `${PROVIDER} ${what} failed (${response.status}${code ? ` ${code}` : ''})`,
    response.status,
  );
}

export const veriffAdapter: AdapterFactory = (settings: ProviderSettings, deps: AdapterDeps) => {
  const apiKey = settings.secrets.apiKey ?? '';
  const sharedSecret = settings.secrets.sharedSecret ?? '';

  async function call(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    signed: string,
    body: string | undefined,
    what: string,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-auth-client': apiKey,
      'x-hmac-signature': veriffSignature(signed, sharedSecret),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await callProvider(
      deps.fetch,
      PROVIDER,
      joinUrl(settings.baseUrl, path),
      { method, headers, ...(body !== undefined ? { body } : {}) },
      signal,
    );
    if (response.status < 200 || response.status >= 300) throw veriffError(response, what);
    return asRecord(parseJsonBody(response, PROVIDER));
  }

  function send(method: 'POST' | 'PATCH', path: string, payload: unknown, what: string, signal: AbortSignal) {
    const body = JSON.stringify(payload);
    return call(method, path, body, body, what, signal);
  }

  return {
    kind: 'veriff',
    capabilities: veriffCapabilities,

    async submit(request, signal) {
      const { fields } = request;
      const person = Object.fromEntries(
        Object.entries({
          firstName: fields.firstName,
          lastName: fields.lastName,
          dateOfBirth: fields.dateOfBirth,
        }).filter(([, value]) => value),
      );
      const document = Object.fromEntries(
        Object.entries({
          number: fields.documentNumber,
          type: fields.documentType,
          country: alpha2FromAlpha3(fields.issuingCountry),
        }).filter(([, value]) => value),
      );
      const created = await send(
        'POST',
        '/v1/sessions',
        {
          verification: {
            ...(Object.keys(person).length > 0 ? { person } : {}),
            ...(Object.keys(document).length > 0 ? { document } : {}),
            vendorData: request.sessionId,
          },
        },
        'session creation',
        signal,
      );
      const sessionId = stringField(created.verification, 'id');
      if (!sessionId) throw new ProviderError('transient', `${PROVIDER} session creation answer has no id`);
      const path = `/v1/sessions/${encodeURIComponent(sessionId)}`;
      for (const item of request.documents) {
        const context = MEDIA_CONTEXT[item.kind];
        // Only what Veriff's decision uses leaves the platform (no liveness video, no proof of address).
        if (!context) continue;
        const image = {
          context,
          content: Buffer.from(item.bytes).toString('base64'),
          timestamp: deps.now().toISOString(),
        };
        await send('POST', `${path}/media`, { image }, `${context} upload`, signal);
      }
      await send('PATCH', path, { verification: { status: 'submitted' } }, 'submission', signal);
      return { ref: sessionId };
    },

    async fetchResult(ref, signal) {
      const answer = await call(
        'GET',
        `/v1/sessions/${encodeURIComponent(ref)}/decision`,
        ref,
        undefined,
        'decision fetch',
        signal,
      );
      const now = deps.now();
      // `verification: null` until Veriff has decided.
      if (answer.verification === null || answer.verification === undefined) {
        return { status: 'processing', reasons: [], checks: {}, extracted: {}, raw: answer, occurredAt: now };
      }
      return veriffOutcome(answer.verification, answer, now);
    },

    parseWebhook(rawBody, headers, now) {
      return parseVeriffWebhook(rawBody, headers, { apiKey, sharedSecret }, now);
    },
  };
};
