/**
 * Sumsub, API capture: an applicant per session (our session id is its externalUserId; a resubmission reuses
 * it), idDoc uploads, then `status/pending` asks Sumsub to review; the applicant id is our ref. Every call is
 * signed (X-App-Access-Sig over ts + METHOD + path + body). Which checks run is decided by the configured
 * verification level (`levelName`), so the level must include the checks the project routes here.
 */
import { createHmac } from 'node:crypto';
import type {
  CheckOutcome,
  CheckType,
  DocumentType,
  ExtractedFields,
  NormalizedStatus,
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

export const SUMSUB_BASE_URL = 'https://api.sumsub.com';

/** Watchlist (AML screening) and liveness run only when the configured level includes them. */
export const sumsubCapabilities: ProviderCapabilities = {
  checks: ['document', 'selfie', 'liveness', 'watchlist', 'age', 'address'],
  documentTypes: ['PASSPORT', 'ID_CARD', 'DRIVERS_LICENSE', 'RESIDENCE_PERMIT'],
  countries: null,
};

const PROVIDER = 'Sumsub';

const SUMSUB_DOCUMENT_TYPES: Record<DocumentType, string> = {
  PASSPORT: 'PASSPORT',
  ID_CARD: 'ID_CARD',
  DRIVERS_LICENSE: 'DRIVERS',
  RESIDENCE_PERMIT: 'RESIDENCE_PERMIT',
};

const DOCUMENT_TYPES_FROM_SUMSUB: Record<string, DocumentType> = Object.fromEntries(
  Object.entries(SUMSUB_DOCUMENT_TYPES).map(([ours, theirs]) => [theirs, ours as DocumentType]),
);

/** Document types with two sides, whose uploads say which side they are. */
const TWO_SIDED = new Set(['ID_CARD', 'DRIVERS', 'RESIDENCE_PERMIT']);

/**
 * X-App-Access-Sig: lowercase hex HMAC-SHA256(secretKey, ts + METHOD + pathWithQuery + body bytes). Exported
 * for the fake server and the signing vector test.
 */
export function sumsubRequestSignature(
  secretKey: string,
  ts: number | string,
  method: string,
  pathWithQuery: string,
  body: Uint8Array | string = new Uint8Array(),
): string {
  return createHmac('sha256', secretKey)
    .update(`${ts}${method.toUpperCase()}${pathWithQuery}`)
    .update(body)
    .digest('hex');
}

const DIGEST_ALGORITHMS: Record<string, string> = {
  HMAC_SHA1_HEX: 'sha1',
  HMAC_SHA256_HEX: 'sha256',
  HMAC_SHA512_HEX: 'sha512',
};

/** X-Payload-Digest for a webhook body (exported for the fake server and tests). */
export function sumsubPayloadDigest(
  rawBody: Uint8Array | string,
  secret: string,
  algorithm = 'HMAC_SHA256_HEX',
): string {
  const hash = DIGEST_ALGORITHMS[algorithm];
  if (!hash) throw new Error(`unknown Sumsub digest algorithm ${algorithm}`);
  return createHmac(hash, secret).update(rawBody).digest('hex');
}

/** Reject labels with a platform-wide reason besides their own (the label itself is kept, lower-cased). */
const LABEL_REASONS: Record<string, string> = {
  SELFIE_MISMATCH: 'face_mismatch',
  BAD_FACE_MATCHING: 'face_mismatch',
  EXPIRATION_DATE: 'document_expired',
  FORGERY: 'document_tampered',
  GRAPHIC_EDITOR: 'document_tampered',
  FRAUDULENT_LIVENESS: 'liveness_failed',
  BAD_VIDEO_SELFIE: 'liveness_failed',
  SANCTIONS: 'watchlist_hit',
  PEP: 'watchlist_hit',
  BLACKLIST: 'watchlist_hit',
  CRIMINAL: 'watchlist_hit',
  ADVERSE_MEDIA: 'watchlist_hit',
  COMPROMISED_PERSONS: 'watchlist_hit',
  AGE_REQUIREMENT_MISMATCH: 'age_below_minimum',
  WRONG_ADDRESS: 'address_not_verified',
  BAD_PROOF_OF_ADDRESS: 'address_not_verified',
};

/** The check a reject label speaks against (labels not listed concern the profile as a whole). */
const LABEL_CHECKS: Record<string, CheckType> = {
  FORGERY: 'document',
  DOCUMENT_TEMPLATE: 'document',
  LOW_QUALITY: 'document',
  NOT_DOCUMENT: 'document',
  ID_INVALID: 'document',
  INCOMPLETE_DOCUMENT: 'document',
  DOCUMENT_PAGE_MISSING: 'document',
  DOCUMENT_DAMAGED: 'document',
  EXPIRATION_DATE: 'document',
  GRAPHIC_EDITOR: 'document',
  SCREENSHOTS: 'document',
  BLACK_AND_WHITE: 'document',
  FRONT_SIDE_MISSING: 'document',
  BACK_SIDE_MISSING: 'document',
  UNSATISFACTORY_PHOTOS: 'document',
  BAD_PROOF_OF_IDENTITY: 'document',
  SELFIE_MISMATCH: 'selfie',
  BAD_FACE_MATCHING: 'selfie',
  BAD_SELFIE: 'selfie',
  SELFIE_WITH_PAPER: 'selfie',
  BAD_AVATAR: 'selfie',
  FRAUDULENT_LIVENESS: 'liveness',
  BAD_VIDEO_SELFIE: 'liveness',
  SANCTIONS: 'watchlist',
  PEP: 'watchlist',
  BLACKLIST: 'watchlist',
  CRIMINAL: 'watchlist',
  ADVERSE_MEDIA: 'watchlist',
  COMPROMISED_PERSONS: 'watchlist',
  AGE_REQUIREMENT_MISMATCH: 'age',
  WRONG_ADDRESS: 'address',
  BAD_PROOF_OF_ADDRESS: 'address',
};

/** Reject labels are Sumsub's UPPER_SNAKE enum; anything else is dropped rather than passed on. */
function labelReasons(labels: unknown): string[] {
  if (!Array.isArray(labels)) return [];
  const reasons: string[] = [];
  for (const label of labels) {
    if (typeof label !== 'string' || !/^[A-Z][A-Z0-9_]{0,63}$/.test(label)) continue;
    const platform = LABEL_REASONS[label];
    if (platform) reasons.push(platform);
    reasons.push(label.toLowerCase());
  }
  return reasons;
}

/** The checks a level's document sets cover (from the applicant's `requiredIdDocs`). */
const DOC_SET_CHECKS: Record<string, CheckType> = {
  IDENTITY: 'document',
  SELFIE: 'selfie',
  PROOF_OF_RESIDENCE: 'address',
};

export interface SumsubReview {
  reviewStatus?: string;
  reviewAnswer?: string;
  reviewRejectType?: string;
  rejectLabels?: unknown;
  /** Sumsub re-reviewing an applicant it had already decided. */
  reprocessing: boolean;
}

function reviewFrom(review: Record<string, unknown>, reprocessing: unknown): SumsubReview {
  const result = asRecord(review.reviewResult);
  return {
    reviewStatus: stringField(review, 'reviewStatus'),
    reviewAnswer: stringField(result, 'reviewAnswer'),
    reviewRejectType: stringField(result, 'reviewRejectType'),
    rejectLabels: result.rejectLabels,
    reprocessing: reprocessing === true || review.reprocessing === true,
  };
}

/** Maps a Sumsub review (webhook or applicant) to a platform status and reasons (pure; exported for tests). */
export function sumsubStatus(review: SumsubReview): { status: NormalizedStatus; reasons: string[] } {
  switch (review.reviewStatus) {
    case 'init':
    case 'awaitingUser':
      return { status: 'awaiting_input', reasons: [] };
    case 'onHold':
      return { status: 'needs_review', reasons: ['provider_on_hold', ...labelReasons(review.rejectLabels)] };
    case 'completed': {
      if (review.reviewAnswer === 'GREEN') return { status: 'approved', reasons: [] };
      if (review.reviewAnswer !== 'RED')
        return { status: 'needs_review', reasons: ['provider_unknown_answer'] };
      const labels = labelReasons(review.rejectLabels);
      if (review.reviewRejectType === 'RETRY') return { status: 'resubmission_requested', reasons: labels };
      // A RED on a re-review may withdraw an earlier GREEN: the platform revokes what it issued.
      return { status: 'declined', reasons: review.reprocessing ? ['provider_reversal', ...labels] : labels };
    }
    default:
      // pending, prechecked, queued, awaitingService.
      return { status: 'processing', reasons: [] };
  }
}

function checksFor(review: SumsubReview, applicant: Record<string, unknown>): ProviderOutcome['checks'] {
  const checks: ProviderOutcome['checks'] = {};
  if (review.reviewStatus !== 'completed' && review.reviewStatus !== 'onHold') return checks;
  const docSets = asRecord(applicant.requiredIdDocs).docSets;
  const covered = new Set<CheckType>();
  for (const set of Array.isArray(docSets) ? docSets : []) {
    const check = DOC_SET_CHECKS[stringField(set, 'idDocSetType') ?? ''];
    if (check) covered.add(check);
  }
  const against = new Set<CheckType>();
  for (const label of Array.isArray(review.rejectLabels) ? review.rejectLabels : []) {
    const check = typeof label === 'string' ? LABEL_CHECKS[label] : undefined;
    if (check) against.add(check);
  }
  const adverse: CheckOutcome = review.reviewStatus === 'onHold' ? 'review' : 'failed';
  for (const check of covered) checks[check] = review.reviewAnswer === 'GREEN' ? 'passed' : 'not_performed';
  for (const check of against) checks[check] = adverse;
  if (review.reviewAnswer === 'RED' || review.reviewStatus === 'onHold') {
    // Document sets not named by any label were accepted.
    for (const check of covered) if (!against.has(check)) checks[check] = 'passed';
  }
  return checks;
}

function isoDate(value: string | undefined): string | undefined {
  return value && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : undefined;
}

/** What Sumsub read from the applicant's documents (info, and the identity document's own fields). */
function extractedFrom(applicant: Record<string, unknown>): ExtractedFields {
  const info = asRecord(applicant.info);
  const idDocs = Array.isArray(info.idDocs) ? info.idDocs.map(asRecord) : [];
  const identity =
    idDocs.find((doc) => DOCUMENT_TYPES_FROM_SUMSUB[stringField(doc, 'idDocType') ?? '']) ??
    asRecord(undefined);
  const extracted: ExtractedFields = {
    firstName: stringField(info, 'firstName') ?? stringField(identity, 'firstName'),
    lastName: stringField(info, 'lastName') ?? stringField(identity, 'lastName'),
    dateOfBirth: isoDate(stringField(info, 'dob') ?? stringField(identity, 'dob')),
    documentExpiresOn: isoDate(stringField(identity, 'validUntil')),
    documentNumber: stringField(identity, 'number'),
    documentType: DOCUMENT_TYPES_FROM_SUMSUB[stringField(identity, 'idDocType') ?? ''],
    issuingCountry: stringField(identity, 'country') ?? stringField(info, 'country'),
    nationality: stringField(info, 'nationality'),
  };
  return Object.fromEntries(
    Object.entries(extracted).filter(([, value]) => value !== undefined),
  ) as ExtractedFields;
}

/** Sumsub's dates: `2020-02-21 13:23:19.321` (createdAtMs) or `2020-02-21 13:23:19+0000`, both UTC. */
export function parseSumsubTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)(Z|[+-]\d{2}:?\d{2})?$/.exec(
    value.trim(),
  );
  if (!match) return undefined;
  const zone = match[3] && match[3] !== 'Z' ? match[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2') : 'Z';
  const time = Date.parse(`${match[1]}T${match[2]}${zone}`);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** Maps an applicant (GET …/one) into the platform's outcome (pure; exported for tests). */
export function sumsubOutcome(applicant: unknown, fallbackTime: Date): ProviderOutcome {
  const record = asRecord(applicant);
  const reviewRecord = asRecord(record.review);
  const review = reviewFrom(reviewRecord, undefined);
  const { status, reasons } = sumsubStatus(review);
  const occurredAt =
    parseSumsubTime(stringField(reviewRecord, 'reviewDate')) ??
    parseSumsubTime(stringField(reviewRecord, 'createDate')) ??
    fallbackTime;
  return {
    status,
    reasons,
    checks: checksFor(review, record),
    extracted: status === 'awaiting_input' || status === 'processing' ? {} : extractedFrom(record),
    raw: applicant,
    occurredAt,
  };
}

/** Webhook types that move an attempt; the others (created, personal info changed, actions…) say nothing. */
const STATUS_EVENTS = new Set([
  'applicantReviewed',
  'applicantOnHold',
  'applicantPending',
  'applicantPrechecked',
  'applicantAwaitingService',
  'applicantAwaitingUser',
]);

/** Verifies and parses a Sumsub webhook (pure; the factory binds the secret and expected algorithm). */
export function parseSumsubWebhook(
  rawBody: Uint8Array,
  headers: HeaderBag,
  webhookSecret: string,
  now: Date,
  expectedAlgorithm?: string,
): ProviderEvent | null {
  if (!webhookSecret) throw new WebhookRejected('Sumsub webhook secret is not configured');
  const digest = headerValue(headers, 'x-payload-digest');
  if (!digest) throw new WebhookRejected('missing X-Payload-Digest');
  const algorithm = headerValue(headers, 'x-payload-digest-alg') ?? expectedAlgorithm ?? 'HMAC_SHA256_HEX';
  if (!DIGEST_ALGORITHMS[algorithm]) throw new WebhookRejected('unknown X-Payload-Digest-Alg');
  // A configured algorithm is a floor: a sender may not downgrade to a weaker one.
  if (expectedAlgorithm && algorithm !== expectedAlgorithm) {
    throw new WebhookRejected('X-Payload-Digest-Alg is not the configured algorithm');
  }
  if (!safeEqual(digest.toLowerCase(), sumsubPayloadDigest(rawBody, webhookSecret, algorithm))) {
    throw new WebhookRejected('X-Payload-Digest does not match');
  }
  const body = asRecord(tryParseJson(rawBody));
  const type = stringField(body, 'type');
  const applicantId = stringField(body, 'applicantId');
  if (!type || !applicantId) throw new WebhookRejected('not a Sumsub webhook payload');
  if (!STATUS_EVENTS.has(type)) return null;
  const createdAt = stringField(body, 'createdAtMs') ?? stringField(body, 'createdAt');
  const occurredAt = parseSumsubTime(createdAt) ?? now;
  const dedupeKey = stringField(body, 'correlationId') ?? [applicantId, type, createdAt ?? ''].join('|');
  const review = reviewFrom(body, body.reprocessing);
  // The event type is authoritative for the side states; a review result only accompanies applicantReviewed.
  if (type === 'applicantOnHold') review.reviewStatus = 'onHold';
  else if (type === 'applicantAwaitingUser') review.reviewStatus = 'awaitingUser';
  else if (type === 'applicantReviewed') review.reviewStatus = 'completed';
  else review.reviewStatus = 'pending';
  const { status, reasons } = sumsubStatus(review);
  return {
    dedupeKey,
    ref: applicantId,
    occurredAt,
    outcome: { status, reasons, checks: checksFor(review, {}), extracted: {}, raw: body, occurredAt },
  };
}

/** A 400 on a document upload about its type or country: another provider may take it. */
function isUnsupportedDocument(response: ProviderResponse, description: string): boolean {
  return response.status === 400 && /idDocType|not supported|unsupported|country/i.test(description);
}

function sumsubError(response: ProviderResponse, what: string, upload: boolean): ProviderError {
  const error = asRecord(tryParseJson(response.body));
  const description = stringField(error, 'description') ?? '';
  const kind =
    upload && isUnsupportedDocument(response, description)
      ? 'unsupported'
      : errorKindForStatus(response.status);
  return new ProviderError(kind, `${PROVIDER} ${what} failed (${response.status})`, response.status);
}

interface SignedCall {
  method: 'GET' | 'POST';
  path: string;
  body?: Uint8Array;
  contentType?: string;
}

export const sumsubAdapter: AdapterFactory = (settings: ProviderSettings, deps: AdapterDeps) => {
  const appToken = settings.secrets.appToken ?? '';
  const secretKey = settings.secrets.secretKey ?? '';
  const webhookSecret = settings.secrets.webhookSecret ?? '';
  const levelName = settings.options.levelName ?? '';
  const digestAlgorithm = settings.options.webhookDigestAlg || undefined;

  async function send(call: SignedCall, signal: AbortSignal): Promise<ProviderResponse> {
    const url = new URL(joinUrl(settings.baseUrl, call.path));
    const ts = Math.floor(deps.now().getTime() / 1000);
    const body = call.body ?? new Uint8Array();
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-app-token': appToken,
      'x-app-access-ts': String(ts),
      'x-app-access-sig': sumsubRequestSignature(secretKey, ts, call.method, url.pathname + url.search, body),
    };
    if (call.contentType) headers['content-type'] = call.contentType;
    return callProvider(
      deps.fetch,
      PROVIDER,
      url.toString(),
      { method: call.method, headers, ...(call.body ? { body: Uint8Array.from(call.body) } : {}) },
      signal,
    );
  }

  async function json(call: SignedCall, what: string, signal: AbortSignal, upload = false): Promise<unknown> {
    const response = await send(call, signal);
    if (response.status < 200 || response.status >= 300) throw sumsubError(response, what, upload);
    return parseJsonBody(response, PROVIDER);
  }

  function jsonBody(value: unknown): { body: Uint8Array; contentType: string } {
    return { body: new TextEncoder().encode(JSON.stringify(value)), contentType: 'application/json' };
  }

  /** The applicant for the session: created, or (a resubmission) the one created for an earlier attempt. */
  async function applicantFor(request: ProviderRequest, signal: AbortSignal): Promise<string> {
    const path = `/resources/applicants?levelName=${encodeURIComponent(levelName)}`;
    const response = await send(
      { method: 'POST', path, ...jsonBody({ externalUserId: request.sessionId }) },
      signal,
    );
    if (response.status === 409) {
      const existing = await json(
        {
          method: 'GET',
          path: `/resources/applicants/-;externalUserId=${encodeURIComponent(request.sessionId)}/one`,
        },
        'applicant lookup',
        signal,
      );
      return requireId(existing);
    }
    if (response.status < 200 || response.status >= 300)
      throw sumsubError(response, 'applicant creation', false);
    return requireId(parseJsonBody(response, PROVIDER));
  }

  function requireId(value: unknown): string {
    const id = stringField(value, 'id');
    if (!id) throw new ProviderError('transient', `${PROVIDER} applicant answer has no id`);
    return id;
  }

  async function upload(
    applicantId: string,
    metadata: Record<string, string>,
    document: ProviderRequest['documents'][number],
    signal: AbortSignal,
  ): Promise<void> {
    const form = new FormData();
    form.set('metadata', JSON.stringify(metadata));
    form.set(
      'content',
      new Blob([Uint8Array.from(document.bytes)], { type: document.contentType }),
      document.kind,
    );
    // The signature covers the exact multipart bytes, so the body is serialized here, once.
    const { body, contentType } = await encodeMultipart(form);
    await json(
      {
        method: 'POST',
        path: `/resources/applicants/${encodeURIComponent(applicantId)}/info/idDoc`,
        body,
        contentType,
      },
      'document upload',
      signal,
      true,
    );
  }

  function metadataFor(
    document: ProviderRequest['documents'][number],
    request: ProviderRequest,
  ): Record<string, string> {
    const country = request.fields.issuingCountry ?? request.fields.nationality ?? '';
    switch (document.kind) {
      case 'selfie':
        return { idDocType: 'SELFIE', country };
      case 'liveness-video':
        return { idDocType: 'VIDEO_SELFIE', country };
      case 'proof-of-address':
        return { idDocType: 'UTILITY_BILL', country: request.fields.address?.country ?? country };
      default: {
        const type = SUMSUB_DOCUMENT_TYPES[request.fields.documentType as DocumentType];
        const side = document.kind === 'document-back' ? 'BACK_SIDE' : 'FRONT_SIDE';
        return { idDocType: type, country, ...(TWO_SIDED.has(type) ? { idDocSubType: side } : {}) };
      }
    }
  }

  return {
    kind: 'sumsub',
    capabilities: sumsubCapabilities,

    async submit(request, signal) {
      if (!levelName) throw new ProviderError('rejected', `${PROVIDER} configuration has no levelName`);
      const identityDocuments = request.documents.some(
        (document) => document.kind === 'document-front' || document.kind === 'document-back',
      );
      if (identityDocuments && !request.fields.documentType) {
        throw new ProviderError('rejected', `${PROVIDER} needs the identity document's type`);
      }
      if (!request.fields.issuingCountry && !request.fields.nationality) {
        throw new ProviderError('rejected', `${PROVIDER} needs the document's issuing country`);
      }
      const applicantId = await applicantFor(request, signal);
      for (const document of request.documents) {
        await upload(applicantId, metadataFor(document, request), document, signal);
      }
      await json(
        { method: 'POST', path: `/resources/applicants/${encodeURIComponent(applicantId)}/status/pending` },
        'review request',
        signal,
      );
      return { ref: applicantId };
    },

    async fetchResult(ref, signal) {
      const applicant = await json(
        { method: 'GET', path: `/resources/applicants/${encodeURIComponent(ref)}/one` },
        'applicant lookup',
        signal,
      );
      return sumsubOutcome(applicant, deps.now());
    },

    parseWebhook(rawBody, headers, now) {
      return parseSumsubWebhook(rawBody, headers, webhookSecret, now, digestAlgorithm);
    },
  };
};
