/**
 * Onfido (Entrust IDV) API v3.6, checks flow with API capture: applicant → documents / live photo → an
 * asynchronous check whose id is our ref. Its `check.completed` webhook carries no result, so the decision
 * is fetched (check + reports) and mapped: `clear` → approved, `consider` → needs_review (the platform's
 * policy or a reviewer decides), `withdrawn` → error.
 */
import { createHmac } from 'node:crypto';
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
  encodeMultipart,
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
  type ProviderRequest,
  type ProviderSettings,
  WebhookRejected,
} from './types.js';

/** API bases per Onfido region; a configuration's `baseUrl` is one of these (or a test fake). */
export const ONFIDO_BASE_URLS = {
  eu: 'https://api.eu.onfido.com/v3.6',
  us: 'https://api.us.onfido.com/v3.6',
  ca: 'https://api.ca.onfido.com/v3.6',
} as const;

/**
 * Live videos (`facial_similarity_video`) can only be captured by Onfido's own SDK: the API has no upload
 * for them, so liveness is not offered through API capture. Age is derived by the platform from the date
 * of birth the document report extracts.
 */
export const onfidoCapabilities: ProviderCapabilities = {
  checks: ['document', 'selfie', 'watchlist', 'age', 'address'],
  documentTypes: ['PASSPORT', 'ID_CARD', 'DRIVERS_LICENSE', 'RESIDENCE_PERMIT'],
  countries: null,
};

const PROVIDER = 'Onfido';

const REPORT_FOR_CHECK: Partial<Record<CheckType, string>> = {
  document: 'document',
  age: 'document',
  selfie: 'facial_similarity_photo',
  liveness: 'facial_similarity_video',
  watchlist: 'watchlist_standard',
  address: 'proof_of_address',
};

const ONFIDO_DOCUMENT_TYPES: Record<DocumentType, string> = {
  PASSPORT: 'passport',
  ID_CARD: 'national_identity_card',
  DRIVERS_LICENSE: 'driving_licence',
  RESIDENCE_PERMIT: 'residence_permit',
};

/** Onfido's proof-of-address document type for the most common evidence (the report accepts several). */
const PROOF_OF_ADDRESS_TYPE = 'utility_bill';

/** The report names for a request: the configured `reportNames` option, else derived from the checks. */
export function onfidoReportNames(checks: readonly CheckType[], configured?: string): string[] {
  if (configured?.trim()) {
    return [
      ...new Set(
        configured
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean),
      ),
    ];
  }
  const names = new Set<string>();
  for (const check of checks) {
    const report = REPORT_FOR_CHECK[check];
    if (report) names.add(report);
  }
  return [...names];
}

/** The platform check a report answers. */
function checkForReport(name: string): CheckType | undefined {
  if (name.startsWith('document')) return 'document';
  if (name === 'facial_similarity_video' || name === 'facial_similarity_motion') return 'liveness';
  if (name.startsWith('facial_similarity')) return 'selfie';
  if (name.startsWith('watchlist')) return 'watchlist';
  if (name === 'proof_of_address') return 'address';
  return undefined;
}

/** Lower_snake reasons for report breakdown items that came back `consider`, by report family. */
const BREAKDOWN_REASONS: Record<string, Record<string, string>> = {
  document: {
    visual_authenticity: 'document_authenticity',
    image_integrity: 'document_image_quality',
    data_validation: 'document_data_invalid',
    data_consistency: 'document_data_inconsistent',
    data_comparison: 'document_data_mismatch',
    compromised_document: 'document_compromised',
    age_validation: 'age_below_minimum',
    issuing_authority: 'document_chip_invalid',
    police_record: 'document_reported',
  },
  selfie: {
    face_comparison: 'face_mismatch',
    image_integrity: 'face_image_quality',
    visual_authenticity: 'face_spoofing',
  },
  liveness: {
    face_comparison: 'face_mismatch',
    image_integrity: 'face_image_quality',
    visual_authenticity: 'liveness_failed',
  },
  watchlist: {
    sanction: 'watchlist_sanction',
    politically_exposed_person: 'watchlist_pep',
    legal_and_regulatory_warnings: 'watchlist_legal_warning',
    adverse_media: 'watchlist_adverse_media',
  },
  address: {},
};

/** More specific reasons hidden one level down in the document breakdown. */
const DOCUMENT_SUB_REASONS: Record<string, string> = {
  document_expiration: 'document_expired',
  expiry_date: 'document_expired',
  supported_document: 'document_unsupported',
  digital_tampering: 'document_tampered',
  image_quality: 'document_image_quality',
};

const FALLBACK_REASON: Record<CheckType, string> = {
  document: 'document_consider',
  selfie: 'face_consider',
  liveness: 'liveness_consider',
  watchlist: 'watchlist_hit',
  age: 'age_consider',
  address: 'address_not_verified',
  connector: 'connector_consider',
};

function reportReasons(check: CheckType, report: Record<string, unknown>): string[] {
  const reasons: string[] = [];
  const subResult = stringField(report, 'sub_result');
  if (check === 'document' && subResult && subResult !== 'clear') reasons.push(`document_${subResult}`);
  const known = BREAKDOWN_REASONS[check] ?? {};
  for (const [key, node] of Object.entries(asRecord(report.breakdown))) {
    if (stringField(node, 'result') !== 'consider') continue;
    const subReasons =
      check === 'document'
        ? Object.entries(asRecord(asRecord(node).breakdown))
            .filter(
              ([subKey, sub]) => stringField(sub, 'result') === 'consider' && DOCUMENT_SUB_REASONS[subKey],
            )
            .map(([subKey]) => DOCUMENT_SUB_REASONS[subKey] as string)
        : [];
    reasons.push(...(subReasons.length > 0 ? subReasons : [known[key] ?? `${check}_${key}`]));
  }
  if (check === 'watchlist' && reasons.length > 0) reasons.unshift('watchlist_hit');
  if (reasons.length === 0) reasons.push(FALLBACK_REASON[check]);
  return reasons;
}

/** A report's answer for its check: a rejected document fails; any other `consider` is left to review. */
function reportOutcome(report: Record<string, unknown>): CheckOutcome {
  if (stringField(report, 'status') !== 'complete') return 'not_performed';
  const result = stringField(report, 'result');
  if (result === 'clear') return 'passed';
  if (stringField(report, 'sub_result') === 'rejected') return 'failed';
  return 'review';
}

const CHECK_OUTCOME_RANK: Record<CheckOutcome, number> = {
  not_performed: 0,
  passed: 1,
  review: 2,
  failed: 3,
};

const DOCUMENT_TYPES_FROM_ONFIDO: Record<string, DocumentType> = Object.fromEntries(
  Object.entries(ONFIDO_DOCUMENT_TYPES).map(([ours, theirs]) => [theirs, ours as DocumentType]),
);

function isoDate(value: string | undefined): string | undefined {
  return value && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : undefined;
}

/** What the document report read from the document, in the platform's field names. */
function extractedFromDocumentReport(report: Record<string, unknown>): ExtractedFields {
  const properties = asRecord(report.properties);
  const numbers = Array.isArray(properties.document_numbers) ? properties.document_numbers : [];
  const documentNumber =
    numbers.map(asRecord).find((entry) => entry.type === 'document_number') ?? asRecord(numbers[0]);
  const extracted: ExtractedFields = {
    firstName: stringField(properties, 'first_name'),
    lastName: stringField(properties, 'last_name'),
    dateOfBirth: isoDate(stringField(properties, 'date_of_birth')),
    documentExpiresOn: isoDate(stringField(properties, 'date_of_expiry')),
    documentNumber: stringField(documentNumber, 'value'),
    documentType: DOCUMENT_TYPES_FROM_ONFIDO[stringField(properties, 'document_type') ?? ''],
    issuingCountry: stringField(properties, 'issuing_country'),
    nationality: stringField(properties, 'nationality'),
  };
  return Object.fromEntries(
    Object.entries(extracted).filter(([, value]) => value !== undefined),
  ) as ExtractedFields;
}

/** Maps a check and its reports into the platform's outcome (pure; exported for tests). */
export function onfidoOutcome(check: unknown, reports: unknown[], occurredAt: Date): ProviderOutcome {
  const status = stringField(check, 'status');
  const result = stringField(check, 'result');
  const checks: ProviderOutcome['checks'] = {};
  const reasons: string[] = [];
  let extracted: ExtractedFields = {};
  for (const report of reports.map(asRecord)) {
    const name = stringField(report, 'name') ?? '';
    const checkType = checkForReport(name);
    if (!checkType) continue;
    const outcome = reportOutcome(report);
    const previous = checks[checkType];
    if (!previous || CHECK_OUTCOME_RANK[outcome] > CHECK_OUTCOME_RANK[previous]) checks[checkType] = outcome;
    if (outcome === 'review' || outcome === 'failed') reasons.push(...reportReasons(checkType, report));
    if (checkType === 'document') extracted = { ...extracted, ...extractedFromDocumentReport(report) };
  }
  let normalized: NormalizedStatus;
  switch (status) {
    case 'awaiting_applicant':
      normalized = 'awaiting_input';
      break;
    case 'complete':
      normalized = result === 'clear' ? 'approved' : 'needs_review';
      if (normalized === 'needs_review' && reasons.length === 0) reasons.push('provider_consider');
      break;
    case 'withdrawn':
      normalized = 'error';
      reasons.push('provider_withdrawn');
      break;
    default:
      // in_progress, reopened, paused: still being worked on.
      normalized = 'processing';
  }
  return {
    status: normalized,
    reasons: [...new Set(reasons)],
    checks,
    extracted,
    raw: { check, reports },
    occurredAt,
  };
}

/** The platform status an Onfido check webhook implies, or null when the decision must be fetched. */
const CHECK_EVENT_STATUS: Record<string, NormalizedStatus | null> = {
  'check.started': 'processing',
  'check.reopened': 'processing',
  'check.withdrawn': 'error',
  'check.completed': null,
};

/** Computes Onfido's X-SHA2-Signature for a raw webhook body (exported for fakes and tests). */
export function onfidoWebhookSignature(rawBody: Uint8Array | string, webhookToken: string): string {
  return createHmac('sha256', webhookToken).update(rawBody).digest('hex');
}

function parseTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** Verifies and parses an Onfido webhook (pure; the factory binds the token). */
export function parseOnfidoWebhook(
  rawBody: Uint8Array,
  headers: HeaderBag,
  webhookToken: string,
  now: Date,
): ProviderEvent | null {
  const signature = headerValue(headers, 'x-sha2-signature');
  if (!webhookToken) throw new WebhookRejected('Onfido webhook token is not configured');
  if (!signature) throw new WebhookRejected('missing X-SHA2-Signature');
  if (!safeEqual(signature.toLowerCase(), onfidoWebhookSignature(rawBody, webhookToken))) {
    throw new WebhookRejected('X-SHA2-Signature does not match');
  }
  const body = tryParseJson(rawBody);
  const payload = asRecord(asRecord(body).payload);
  const object = asRecord(payload.object);
  const resourceType = stringField(payload, 'resource_type');
  const action = stringField(payload, 'action');
  const id = stringField(object, 'id');
  if (!resourceType || !action || !id) throw new WebhookRejected('not an Onfido webhook payload');
  // Report, workflow and monitor events do not name the check our attempt is keyed by.
  if (resourceType !== 'check' || !(action in CHECK_EVENT_STATUS)) return null;
  const objectStatus = stringField(object, 'status') ?? '';
  const completedAt = stringField(object, 'completed_at_iso8601');
  const occurredAt = parseTime(completedAt) ?? parseTime(stringField(object, 'started_at_iso8601')) ?? now;
  // Onfido sends no event id: the tuple below is what distinguishes two events (reference §3).
  const dedupeKey = [resourceType, id, action, objectStatus, completedAt ?? ''].join('|');
  const status = CHECK_EVENT_STATUS[action];
  if (!status) return { dedupeKey, ref: id, occurredAt };
  return {
    dedupeKey,
    ref: id,
    occurredAt,
    outcome: {
      status,
      reasons: status === 'error' ? ['provider_withdrawn'] : [],
      checks: {},
      extracted: {},
      raw: body,
      occurredAt,
    },
  };
}

/** Classifies a non-2xx Onfido answer; a validation error on the document's type or country is "unsupported". */
function onfidoError(response: ProviderResponse, what: string): ProviderError {
  const error = asRecord(asRecord(tryParseJson(response.body)).error);
  const type = stringField(error, 'type');
  const fields = Object.keys(asRecord(error.fields));
  const unsupported =
    type === 'unsupported_document' ||
    (response.status === 422 &&
      type === 'validation_error' &&
      fields.some((field) => field === 'type' || field === 'issuing_country' || field === 'document_type'));
  const kind = unsupported ? 'unsupported' : errorKindForStatus(response.status);
  return new ProviderError(
    kind,
    `${PROVIDER} ${what} failed (${response.status}${type ? ` ${type}` : ''})`,
    response.status,
  );
}

function fileName(kind: PlainDocument['kind'], contentType: string): string {
  const extension =
    { 'image/jpeg': 'jpg', 'image/png': 'png', 'application/pdf': 'pdf', 'video/mp4': 'mp4' }[contentType] ??
    'bin';
  return `${kind}.${extension}`;
}

function filePart(document: PlainDocument): Blob {
  return new Blob([Uint8Array.from(document.bytes)], { type: document.contentType });
}

interface OnfidoCall {
  method: 'GET' | 'POST';
  path: string;
  body?: Uint8Array;
  contentType?: string;
}

export const onfidoAdapter: AdapterFactory = (settings: ProviderSettings, deps: AdapterDeps) => {
  const apiToken = settings.secrets.apiToken ?? '';
  const webhookToken = settings.secrets.webhookToken ?? '';

  async function call({ method, path, body, contentType }: OnfidoCall, what: string, signal: AbortSignal) {
    const headers: Record<string, string> = {
      authorization: `Token token=${apiToken}`,
      accept: 'application/json',
      ...(contentType ? { 'content-type': contentType } : {}),
    };
    const response = await callProvider(
      deps.fetch,
      PROVIDER,
      joinUrl(settings.baseUrl, path),
      { method, headers, ...(body ? { body: Uint8Array.from(body) } : {}) },
      signal,
    );
    if (response.status < 200 || response.status >= 300) throw onfidoError(response, what);
    return parseJsonBody(response, PROVIDER);
  }

  function postJson(path: string, value: unknown, what: string, signal: AbortSignal): Promise<unknown> {
    const body = new TextEncoder().encode(JSON.stringify(value));
    return call({ method: 'POST', path, body, contentType: 'application/json' }, what, signal);
  }

  async function postForm(path: string, form: FormData, what: string, signal: AbortSignal): Promise<unknown> {
    return call({ method: 'POST', path, ...(await encodeMultipart(form)) }, what, signal);
  }

  function requireId(value: unknown, what: string): string {
    const id = stringField(value, 'id');
    if (!id) throw new ProviderError('transient', `${PROVIDER} ${what} answer has no id`);
    return id;
  }

  async function uploadDocument(
    applicantId: string,
    document: PlainDocument,
    request: ProviderRequest,
    signal: AbortSignal,
  ): Promise<string> {
    const form = new FormData();
    form.set('applicant_id', applicantId);
    if (document.kind === 'proof-of-address') {
      form.set('type', PROOF_OF_ADDRESS_TYPE);
    } else {
      const type = request.fields.documentType;
      // `unknown` lets Onfido classify the document itself when the user's device did not say.
      form.set('type', type ? ONFIDO_DOCUMENT_TYPES[type] : 'unknown');
      form.set('side', document.kind === 'document-back' ? 'back' : 'front');
      if (request.fields.issuingCountry) form.set('issuing_country', request.fields.issuingCountry);
    }
    form.set('file', filePart(document), fileName(document.kind, document.contentType));
    return requireId(await postForm('/documents', form, 'document upload', signal), 'document');
  }

  async function uploadLivePhoto(
    applicantId: string,
    document: PlainDocument,
    signal: AbortSignal,
  ): Promise<void> {
    const form = new FormData();
    form.set('applicant_id', applicantId);
    form.set('file', filePart(document), fileName(document.kind, document.contentType));
    await postForm('/live_photos', form, 'live photo upload', signal);
  }

  return {
    kind: 'onfido',
    capabilities: onfidoCapabilities,

    async submit(request, signal) {
      const reportNames = onfidoReportNames(
        request.checks.map((check) => check.type),
        settings.options.reportNames,
      );
      if (reportNames.length === 0) {
        throw new ProviderError('unsupported', `${PROVIDER} has no report for the requested checks`);
      }
      if (
        reportNames.includes('facial_similarity_video') ||
        reportNames.includes('facial_similarity_motion')
      ) {
        throw new ProviderError('unsupported', `${PROVIDER} captures liveness only in its own SDK`);
      }
      const { firstName, lastName, dateOfBirth, address } = request.fields;
      if (!firstName || !lastName) {
        throw new ProviderError('rejected', `${PROVIDER} needs the applicant's first and last name`);
      }
      const applicant = await postJson(
        '/applicants',
        {
          first_name: firstName,
          last_name: lastName,
          ...(dateOfBirth ? { dob: dateOfBirth } : {}),
          // The address only when a proof of address is checked against it (ISO alpha-3 country).
          ...(reportNames.includes('proof_of_address') &&
          address?.postalCode &&
          /^[A-Z]{3}$/.test(address.country ?? '')
            ? {
                address: {
                  ...(address.line1 ? { street: address.line1 } : {}),
                  ...(address.city ? { town: address.city } : {}),
                  postcode: address.postalCode,
                  country: address.country,
                },
              }
            : {}),
        },
        'applicant creation',
        signal,
      );
      const applicantId = requireId(applicant, 'applicant');
      const documentIds: string[] = [];
      for (const document of request.documents) {
        if (document.kind === 'selfie') await uploadLivePhoto(applicantId, document, signal);
        else if (document.kind !== 'liveness-video') {
          documentIds.push(await uploadDocument(applicantId, document, request, signal));
        }
      }
      const check = await postJson(
        '/checks',
        {
          applicant_id: applicantId,
          report_names: reportNames,
          ...(documentIds.length > 0 ? { document_ids: documentIds } : {}),
          asynchronous: true,
          // Our ids only, so the check can be found from Onfido's dashboard.
          tags: [request.sessionId, request.attemptId],
        },
        'check creation',
        signal,
      );
      return { ref: requireId(check, 'check') };
    },

    async fetchResult(ref, signal) {
      const id = encodeURIComponent(ref);
      const check = await call({ method: 'GET', path: `/checks/${id}` }, 'check lookup', signal);
      const list = await call({ method: 'GET', path: `/reports?check_id=${id}` }, 'report lookup', signal);
      const reports = asRecord(list).reports;
      // The check carries no completion time; the decision is dated when it was read.
      return onfidoOutcome(check, Array.isArray(reports) ? reports : [], deps.now());
    },

    parseWebhook(rawBody, headers, now) {
      return parseOnfidoWebhook(rawBody, headers, webhookToken, now);
    },
  };
};
