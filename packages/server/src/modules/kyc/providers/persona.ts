/**
 * Persona (withpersona.com), JSON:API with kebab-case attributes, `Authorization: Bearer` + `Persona-Version`.
 * API capture: create an inquiry from the configured template (`reference-id` = our session id) → a
 * government-id verification with the document photos (base64) → submit it → a selfie verification with
 * the face photo → submit it. The inquiry id is our ref; `GET /inquiries/{id}?include=verifications` gives
 * the decision. Webhooks: `Persona-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
 * two space-separated pairs while a secret rotates; 5 minutes' tolerance; deduplicated on the `evt_` id.
 *
 * Assumptions where the reference leaves the shape open (documented, and what the test fake checks):
 * - files are JSON attributes `{"data": "<base64>", "filename": "…"}` (`front-photo`, `back-photo` of a
 *   government id; `center-photo` of a selfie with `capture-method: "photo"`);
 * - `id-class`: `pp` passport, `id` identity card, `dl` driving licence, `rp` residence permit;
 *   `country-code` is ISO 3166-1 alpha-2 (the platform speaks alpha-3);
 * - errors are `{"errors": [{"title", "details"}]}`; a 4xx naming `id-class`/`country-code` or saying
 *   "not supported" means the document is not supported.
 *
 * `completed` means "the end user finished" and is followed by decisioning (`approved`, `declined`,
 * `needs_review`) when the template has it: by default it maps to processing. A template without
 * decisioning never goes further: set option `completedMeans` to `approved` for it.
 */
import { createHmac } from 'node:crypto';
import { alpha2FromAlpha3, alpha3FromAlpha2 } from '../country-codes.js';
import type {
  CheckOutcome,
  CheckType,
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

/** Government id + selfie verifications; age is derived by the platform from the birthdate Persona reads. */
export const personaCapabilities: ProviderCapabilities = {
  checks: ['document', 'selfie', 'age'],
  documentTypes: ['PASSPORT', 'ID_CARD', 'DRIVERS_LICENSE', 'RESIDENCE_PERMIT'],
  countries: null,
};

const PROVIDER = 'Persona';
export const PERSONA_DEFAULT_VERSION = '2023-01-05';
/** Seconds a webhook's `t` may differ from our clock. */
export const PERSONA_WEBHOOK_TOLERANCE_S = 300;

const ID_CLASS: Record<DocumentType, string> = {
  PASSPORT: 'pp',
  ID_CARD: 'id',
  DRIVERS_LICENSE: 'dl',
  RESIDENCE_PERMIT: 'rp',
};
const DOCUMENT_TYPE_BY_CLASS: Record<string, DocumentType> = Object.fromEntries(
  Object.entries(ID_CLASS).map(([ours, theirs]) => [theirs, ours as DocumentType]),
);

const INQUIRY_STATUS: Record<string, NormalizedStatus> = {
  created: 'awaiting_input',
  pending: 'awaiting_input',
  completed: 'processing',
  needs_review: 'needs_review',
  approved: 'approved',
  declined: 'declined',
  failed: 'declined',
  expired: 'expired',
};

/** Persona check names with a platform-wide reason; other failed checks keep their own lower_snake name. */
const CHECK_REASONS: Record<string, string> = {
  id_expired_detection: 'document_expired',
  id_tamper_detection: 'suspected_tampering',
  id_fabrication_detection: 'suspected_tampering',
  id_electronic_replica_detection: 'physical_document_not_used',
  id_paper_detection: 'physical_document_not_used',
  id_compromised_detection: 'document_compromised',
  id_disallowed_country_detection: 'country_not_supported',
  id_disallowed_type_detection: 'document_type_not_supported',
  id_blur_detection: 'poor_image_quality',
  id_glare_detection: 'poor_image_quality',
  id_inquiry_comparison: 'data_mismatch',
  id_selfie_comparison: 'face_mismatch',
  selfie_id_comparison: 'face_mismatch',
  selfie_liveness_detection: 'liveness_failed',
};

const VERIFICATION_CHECK: Record<string, CheckType> = {
  'verification/government-id': 'document',
  'verification/selfie': 'selfie',
};

const VERIFICATION_OUTCOME: Record<string, CheckOutcome> = {
  passed: 'passed',
  failed: 'failed',
  requires_retry: 'failed',
};

function isoDate(value: string | undefined): string | undefined {
  return value && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : undefined;
}

function parseTime(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** The inquiry's latest timestamp (Persona sets one per transition: completed-at, decisioned-at…). */
function latestTime(attributes: Record<string, unknown>): Date | undefined {
  let latest: Date | undefined;
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.endsWith('-at')) continue;
    const time = parseTime(value);
    if (time && (!latest || time > latest)) latest = time;
  }
  return latest;
}

/** The verifications of an inquiry from a JSON:API `included`, latest attempt last, per type. */
function latestVerifications(included: unknown): Map<string, Record<string, unknown>> {
  const byType = new Map<string, Record<string, unknown>>();
  const items = (Array.isArray(included) ? included : []).map(asRecord);
  const created = (item: Record<string, unknown>) =>
    parseTime(asRecord(item.attributes)['created-at'])?.getTime() ?? 0;
  for (const item of items.sort((a, b) => created(a) - created(b))) {
    const type = stringField(item, 'type');
    if (type?.startsWith('verification/')) byType.set(type, item);
  }
  return byType;
}

function extractedFrom(
  inquiry: Record<string, unknown>,
  governmentId: Record<string, unknown> | undefined,
): ExtractedFields {
  const id = asRecord(governmentId?.attributes);
  const inquiryAttributes = asRecord(inquiry.attributes);
  const read = (key: string) => stringField(id, key) ?? stringField(inquiryAttributes, key);
  const firstName = [read('name-first'), read('name-middle')].filter(Boolean).join(' ');
  const idClass = stringField(id, 'id-class');
  const extracted: ExtractedFields = {
    firstName: firstName || undefined,
    lastName: read('name-last'),
    dateOfBirth: isoDate(read('birthdate')),
    documentExpiresOn: isoDate(stringField(id, 'expiration-date')),
    documentNumber: stringField(id, 'identification-number'),
    documentType: idClass ? DOCUMENT_TYPE_BY_CLASS[idClass] : undefined,
    issuingCountry: alpha3FromAlpha2(stringField(id, 'country-code')),
    nationality: alpha3FromAlpha2(stringField(id, 'nationality')),
  };
  return Object.fromEntries(
    Object.entries(extracted).filter(([, value]) => value !== undefined),
  ) as ExtractedFields;
}

/**
 * Maps an inquiry and its included verifications into the platform's outcome (pure; exported for tests).
 * `completedMeans` is the configuration's reading of `completed` (see the file comment).
 */
export function personaOutcome(
  inquiryValue: unknown,
  included: unknown,
  raw: unknown,
  occurredAt: Date,
  completedMeans: 'processing' | 'approved' = 'processing',
): ProviderOutcome {
  const inquiry = asRecord(inquiryValue);
  const inquiryStatus = stringField(inquiry.attributes, 'status') ?? '';
  const verifications = latestVerifications(included);
  const checks: ProviderOutcome['checks'] = {};
  const reasons: string[] = [];
  let retry = false;
  for (const [type, verification] of verifications) {
    const attributes = asRecord(verification.attributes);
    const status = stringField(attributes, 'status') ?? '';
    const check = VERIFICATION_CHECK[type];
    const outcome = VERIFICATION_OUTCOME[status];
    if (check && outcome) checks[check] = outcome;
    if (status === 'requires_retry') retry = true;
    if (status !== 'failed' && status !== 'requires_retry') continue;
    for (const item of (Array.isArray(attributes.checks) ? attributes.checks : []).map(asRecord)) {
      const name = stringField(item, 'name');
      if (stringField(item, 'status') !== 'failed' || !name) continue;
      const reason = CHECK_REASONS[name] ?? (/^[a-z0-9_]+$/.test(name) ? name : undefined);
      if (reason) reasons.push(reason);
    }
  }
  let status: NormalizedStatus | undefined =
    inquiryStatus === 'completed'
      ? completedMeans === 'approved'
        ? 'approved'
        : 'processing'
      : INQUIRY_STATUS[inquiryStatus];
  if (status === undefined) {
    // A status Persona added after this adapter was written goes to a person rather than being guessed.
    status = 'needs_review';
    reasons.push('provider_status_unknown');
  } else if (status === 'awaiting_input' && retry) {
    status = 'resubmission_requested';
  }
  return {
    status,
    reasons: [...new Set(reasons)],
    checks,
    extracted: extractedFrom(inquiry, verifications.get('verification/government-id')),
    raw,
    occurredAt,
  };
}

/** Computes the `v1` of a Persona-Signature (exported for fakes and tests). */
export function personaSignature(timestamp: string, rawBody: Uint8Array | string, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** `t=…,v1=…` pairs of a Persona-Signature header (space-separated during a secret rotation). */
function signaturePairs(header: string): { t: string; v1: string[] }[] {
  return header
    .trim()
    .split(/\s+/)
    .map((pair) => {
      let t = '';
      const v1: string[] = [];
      for (const part of pair.split(',')) {
        const at = part.indexOf('=');
        const key = part.slice(0, at).trim();
        const value = part.slice(at + 1).trim();
        if (key === 't') t = value;
        else if (key === 'v1') v1.push(value.toLowerCase());
      }
      return { t, v1 };
    });
}

/**
 * Verifies and parses a Persona webhook (pure; the factory binds the secrets: the current one and, during
 * a rotation, the next). Inquiry events carry the inquiry: their outcome is used, except an approval
 * whose payload lacks the government-id verification (what the document said must then be fetched).
 */
export function parsePersonaWebhook(
  rawBody: Uint8Array,
  headers: HeaderBag,
  secrets: readonly string[],
  now: Date,
  completedMeans: 'processing' | 'approved' = 'processing',
): ProviderEvent | null {
  const usable = secrets.filter(Boolean);
  if (usable.length === 0) throw new WebhookRejected('Persona webhook secret is not configured');
  const header = headerValue(headers, 'persona-signature');
  if (!header) throw new WebhookRejected('missing Persona-Signature');
  const nowS = Math.floor(now.getTime() / 1000);
  const fresh = signaturePairs(header).filter(
    ({ t }) => /^\d{1,12}$/.test(t) && Math.abs(nowS - Number(t)) <= PERSONA_WEBHOOK_TOLERANCE_S,
  );
  if (fresh.length === 0)
    throw new WebhookRejected('Persona-Signature timestamp is missing or outside the tolerance');
  const verified = fresh.some(({ t, v1 }) =>
    usable.some((secret) => {
      const expected = personaSignature(t, rawBody, secret);
      return v1.some((candidate) => safeEqual(candidate, expected));
    }),
  );
  if (!verified) throw new WebhookRejected('Persona-Signature does not match');

  const body = asRecord(tryParseJson(rawBody));
  const event = asRecord(body.data);
  const eventId = stringField(event, 'id');
  const attributes = asRecord(event.attributes);
  if (stringField(event, 'type') !== 'event' || !eventId) throw new WebhookRejected('not a Persona event');
  const occurredAt = parseTime(attributes['created-at']) ?? now;
  const payload = asRecord(attributes.payload);
  const subject = asRecord(payload.data);
  const subjectType = stringField(subject, 'type') ?? '';
  const dedupeKey = `persona|${eventId}`;
  if (subjectType === 'inquiry') {
    const ref = stringField(subject, 'id');
    if (!ref) throw new WebhookRejected('Persona inquiry event without an inquiry id');
    const outcome = personaOutcome(subject, payload.included, body, occurredAt, completedMeans);
    const hasDocumentData = latestVerifications(payload.included).has('verification/government-id');
    if (outcome.status === 'approved' && !hasDocumentData) return { dedupeKey, ref, occurredAt };
    return { dedupeKey, ref, occurredAt, outcome };
  }
  // A verification's event names its inquiry: the inquiry's decision is fetched.
  const inquiryId = stringField(asRecord(asRecord(asRecord(subject.relationships).inquiry).data), 'id');
  if (subjectType.startsWith('verification/') && inquiryId) return { dedupeKey, ref: inquiryId, occurredAt };
  return null;
}

/** Classifies a non-2xx answer; a 4xx about the id class or country is "unsupported". */
function personaError(response: ProviderResponse, what: string): ProviderError {
  const errors = asRecord(tryParseJson(response.body)).errors;
  const text = (Array.isArray(errors) ? errors : [])
    .map((error) =>
      [stringField(error, 'title'), stringField(error, 'details'), stringField(error, 'detail')].join(' '),
    )
    .join(' ');
  const unsupported =
    response.status >= 400 &&
    response.status < 500 &&
    response.status !== 401 &&
    response.status !== 403 &&
    /id-class|country-code|not supported|unsupported/i.test(text);
  const kind = unsupported ? 'unsupported' : errorKindForStatus(response.status);
  return new ProviderError(kind, `${PROVIDER} ${what} failed (${response.status})`, response.status);
}

function photo(document: PlainDocument): { data: string; filename: string } {
  const extension =
    { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' }[document.contentType] ?? 'bin';
  return { data: Buffer.from(document.bytes).toString('base64'), filename: `${document.kind}.${extension}` };
}

export const personaAdapter: AdapterFactory = (settings: ProviderSettings, deps: AdapterDeps) => {
  const apiKey = settings.secrets.apiKey ?? '';
  const webhookSecrets = [settings.secrets.webhookSecret ?? '', settings.secrets.webhookSecretNext ?? ''];
  const version = settings.options.apiVersion || PERSONA_DEFAULT_VERSION;
  const completedMeans = settings.options.completedMeans === 'approved' ? 'approved' : 'processing';

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    what: string,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${apiKey}`,
      'persona-version': version,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await callProvider(
      deps.fetch,
      PROVIDER,
      joinUrl(settings.baseUrl, path),
      { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) },
      signal,
    );
    if (response.status < 200 || response.status >= 300) throw personaError(response, what);
    return asRecord(parseJsonBody(response, PROVIDER));
  }

  function requireId(answer: Record<string, unknown>, what: string): string {
    const id = stringField(answer.data, 'id');
    if (!id) throw new ProviderError('transient', `${PROVIDER} ${what} answer has no id`);
    return id;
  }

  /** Creates a verification of `kind` on the inquiry and submits it. */
  async function verify(
    collection: 'government-ids' | 'selfies',
    attributes: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<void> {
    const created = await call(
      'POST',
      `/verification/${collection}`,
      { data: { attributes } },
      `${collection} creation`,
      signal,
    );
    const id = requireId(created, collection);
    await call(
      'POST',
      `/verification/${collection}/${encodeURIComponent(id)}/submit`,
      undefined,
      `${collection} submission`,
      signal,
    );
  }

  return {
    kind: 'persona',
    capabilities: personaCapabilities,

    async submit(request, signal) {
      const templateId = settings.options.inquiryTemplateId;
      if (!templateId) throw new ProviderError('rejected', `${PROVIDER} needs the inquiryTemplateId option`);
      const { fields } = request;
      const prefill = Object.fromEntries(
        Object.entries({
          'name-first': fields.firstName,
          'name-last': fields.lastName,
          birthdate: fields.dateOfBirth,
        }).filter(([, value]) => value),
      );
      const inquiry = await call(
        'POST',
        '/inquiries',
        {
          data: {
            attributes: {
              'inquiry-template-id': templateId,
              'reference-id': request.sessionId,
              ...(Object.keys(prefill).length > 0 ? { fields: prefill } : {}),
            },
          },
        },
        'inquiry creation',
        signal,
      );
      const inquiryId = requireId(inquiry, 'inquiry');

      const front = request.documents.find((document) => document.kind === 'document-front');
      const back = request.documents.find((document) => document.kind === 'document-back');
      const selfie = request.documents.find((document) => document.kind === 'selfie');
      if (front) {
        const countryCode = alpha2FromAlpha3(fields.issuingCountry);
        await verify(
          'government-ids',
          {
            'inquiry-id': inquiryId,
            ...(fields.documentType ? { 'id-class': ID_CLASS[fields.documentType] } : {}),
            ...(countryCode ? { 'country-code': countryCode } : {}),
            'front-photo': photo(front),
            ...(back ? { 'back-photo': photo(back) } : {}),
          },
          signal,
        );
      }
      if (selfie) {
        await verify(
          'selfies',
          { 'inquiry-id': inquiryId, 'capture-method': 'photo', 'center-photo': photo(selfie) },
          signal,
        );
      }
      return { ref: inquiryId };
    },

    async fetchResult(ref, signal) {
      const answer = await call(
        'GET',
        `/inquiries/${encodeURIComponent(ref)}?include=verifications`,
        undefined,
        'inquiry fetch',
        signal,
      );
      const inquiry = asRecord(answer.data);
      const occurredAt = latestTime(asRecord(inquiry.attributes)) ?? deps.now();
      return personaOutcome(inquiry, answer.included, answer, occurredAt, completedMeans);
    },

    parseWebhook(rawBody, headers, now) {
      return parsePersonaWebhook(rawBody, headers, webhookSecrets, now, completedMeans);
    },
  };
};
