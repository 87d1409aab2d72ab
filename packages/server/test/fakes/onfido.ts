/**
 * A fake Onfido API v3.6 (checks flow) on 127.0.0.1: applicants, documents, live photos, checks and
 * reports with Onfido's paths, shapes and `Authorization: Token token=…` auth, plus signed `check.*`
 * webhooks. Checks complete at creation with the decision scripted for them (by check id, applicant id or a
 * check tag such as our session id), by default `clear` with the ICAO specimen's data.
 */
import { randomUUID } from 'node:crypto';
import { onfidoWebhookSignature } from '../../src/modules/kyc/providers/onfido.js';
import {
  type FailMode,
  type PendingFailure,
  parseJson,
  parseMultipart,
  postWebhook,
  type RecordedRequest,
  startVendorServer,
  takeFailure,
  type VendorReply,
  type WebhookDelivery,
  type WebhookResult,
} from './vendor-server.js';

export type OnfidoCheckStatus =
  | 'in_progress'
  | 'awaiting_applicant'
  | 'complete'
  | 'withdrawn'
  | 'paused'
  | 'reopened';

export interface OnfidoReportScript {
  result?: 'clear' | 'consider' | 'unidentified';
  /** Document reports: clear | rejected | suspected | caution. */
  sub_result?: 'clear' | 'rejected' | 'suspected' | 'caution';
  /** Breakdown nodes to set (merged over an all-clear breakdown), e.g. `{ face_comparison: { result: 'consider' } }`. */
  breakdown?: Record<string, unknown>;
  properties?: Record<string, unknown>;
}

export interface OnfidoDecisionScript {
  /** Default `complete`. */
  status?: OnfidoCheckStatus;
  /** Default: `consider` when any report is `consider`, else `clear`. */
  result?: 'clear' | 'consider';
  /** Per report name. */
  reports?: Record<string, OnfidoReportScript>;
}

/**
 * `clear`: all reports clear. `consider`: the document report comes back `consider`/`suspected` (visual
 * authenticity). `face_mismatch`: the facial similarity report fails face comparison.
 */
export type OnfidoDecision =
  | 'clear'
  | 'consider'
  | 'face_mismatch'
  | OnfidoCheckStatus
  | OnfidoDecisionScript;

export interface FakeOnfidoOptions {
  apiToken?: string;
  webhookToken?: string;
  now?: () => Date;
  /** Overrides of the document report's properties (the extracted data). */
  documentProperties?: Record<string, unknown>;
}

interface CheckState {
  id: string;
  created_at: string;
  completedAt?: string;
  status: OnfidoCheckStatus;
  result: 'clear' | 'consider' | null;
  applicant_id: string;
  report_names: string[];
  document_ids: string[];
  tags: string[];
  report_ids: string[];
}

export const ONFIDO_FAKE_API_TOKEN = 'api_sandbox.fake-onfido-token';
export const ONFIDO_FAKE_WEBHOOK_TOKEN = '_ABC123abc123ABC123abc123ABC123_';

const REPORT_NAMES = new Set([
  'document',
  'document_with_address_information',
  'facial_similarity_photo',
  'facial_similarity_photo_fully_auto',
  'facial_similarity_video',
  'facial_similarity_motion',
  'known_faces',
  'watchlist_standard',
  'watchlist_aml',
  'watchlist_enhanced',
  'watchlist_peps_only',
  'watchlist_sanctions_only',
  'identity_enhanced',
  'proof_of_address',
]);

const DOCUMENT_TYPES = new Set([
  'passport',
  'driving_licence',
  'national_identity_card',
  'residence_permit',
  'unknown',
  'utility_bill',
  'bank_building_society_statement',
  'council_tax',
  'benefit_letters',
]);

function error(
  status: number,
  type: string,
  message: string,
  fields: Record<string, unknown> = {},
): VendorReply {
  return { status, json: { error: { type, message, fields } } };
}

const FAILURES: Record<Exclude<FailMode, 'hang'>, VendorReply> = {
  error500: error(500, 'internal_server_error', 'Something went wrong'),
  unauthorized: error(401, 'authorization_error', 'Authorization error: please re-check your credentials'),
  rate_limited: error(429, 'rate_limit', 'Rate limit exceeded. Please try again later'),
  unsupported: error(422, 'validation_error', 'There was a validation error on this request', {
    type: ['is not a supported document type for this issuing country'],
  }),
};

function allClearBreakdown(reportName: string): Record<string, unknown> {
  const clear = { result: 'clear' };
  if (reportName.startsWith('document')) {
    return {
      visual_authenticity: {
        result: 'clear',
        breakdown: { template: clear, fonts: clear, digital_tampering: clear },
      },
      image_integrity: { result: 'clear', breakdown: { image_quality: clear, supported_document: clear } },
      data_validation: { result: 'clear', breakdown: { document_expiration: clear, expiry_date: clear } },
      data_consistency: { result: 'clear', breakdown: { date_of_birth: clear, document_numbers: clear } },
      compromised_document: clear,
    };
  }
  if (reportName.startsWith('facial_similarity')) {
    return { face_comparison: clear, image_integrity: clear, visual_authenticity: clear };
  }
  if (reportName.startsWith('watchlist')) {
    return { sanction: clear, politically_exposed_person: clear, legal_and_regulatory_warnings: clear };
  }
  return { document_classification: clear, image_integrity: clear };
}

function scriptFor(decision: OnfidoDecision, reportNames: string[]): OnfidoDecisionScript {
  if (typeof decision === 'object') return decision;
  switch (decision) {
    case 'clear':
      return { status: 'complete' };
    case 'consider':
      return {
        status: 'complete',
        reports: {
          document: {
            result: 'consider',
            sub_result: 'suspected',
            breakdown: {
              visual_authenticity: { result: 'consider', breakdown: { fonts: { result: 'consider' } } },
            },
          },
        },
      };
    case 'face_mismatch': {
      const face =
        reportNames.find((name) => name.startsWith('facial_similarity')) ?? 'facial_similarity_photo';
      return {
        status: 'complete',
        reports: { [face]: { result: 'consider', breakdown: { face_comparison: { result: 'consider' } } } },
      };
    }
    default:
      return { status: decision };
  }
}

export async function startFakeOnfido(options: FakeOnfidoOptions = {}) {
  const apiToken = options.apiToken ?? ONFIDO_FAKE_API_TOKEN;
  const webhookToken = options.webhookToken ?? ONFIDO_FAKE_WEBHOOK_TOKEN;
  const now = options.now ?? (() => new Date());
  const applicants = new Map<string, Record<string, unknown>>();
  const documents = new Map<string, Record<string, unknown>>();
  const livePhotos = new Map<string, Record<string, unknown>>();
  const checks = new Map<string, CheckState>();
  const reports = new Map<string, Record<string, unknown>>();
  /** Decisions for checks not created yet, keyed by applicant id or check tag (our session id). */
  const scripted = new Map<string, OnfidoDecision>();
  const failures: PendingFailure[] = [];
  let base = '';

  function documentProperties(): Record<string, unknown> {
    const expiry = new Date(now().getTime() + 5 * 365 * 86_400_000).toISOString().slice(0, 10);
    return {
      first_name: 'ANNA MARIA',
      last_name: 'ERIKSSON',
      date_of_birth: '1974-08-12',
      date_of_expiry: expiry,
      document_type: 'passport',
      issuing_country: 'UTO',
      nationality: 'UTO',
      gender: 'Female',
      document_numbers: [{ type: 'document_number', value: 'L898902C3' }],
      mrz_line1: 'P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<',
      ...options.documentProperties,
    };
  }

  /** Rebuilds a check's reports and status from a decision. */
  function apply(check: CheckState, decision: OnfidoDecision): void {
    const script = scriptFor(decision, check.report_names);
    check.status = script.status ?? 'complete';
    const complete = check.status === 'complete';
    for (const id of check.report_ids) reports.delete(id);
    check.report_ids = check.report_names.map((name) => {
      const overrides = script.reports?.[name] ?? {};
      const isDocument = name.startsWith('document');
      const result = complete ? (overrides.result ?? 'clear') : null;
      const id = randomUUID();
      const report: Record<string, unknown> = {
        id,
        created_at: check.created_at,
        name,
        href: `${base}/reports/${id}`,
        status: complete ? 'complete' : 'awaiting_data',
        result,
        ...(isDocument
          ? {
              sub_result: complete
                ? (overrides.sub_result ?? (result === 'clear' ? 'clear' : 'caution'))
                : null,
            }
          : {}),
        breakdown: complete ? { ...allClearBreakdown(name), ...overrides.breakdown } : {},
        properties: complete
          ? {
              ...(isDocument ? documentProperties() : name.startsWith('watchlist') ? { records: [] } : {}),
              ...overrides.properties,
            }
          : {},
        documents: check.document_ids.map((id) => ({ id })),
        check_id: check.id,
      };
      reports.set(id, report);
      return id;
    });
    const anyConsider = check.report_ids.some((id) => reports.get(id)?.result !== 'clear');
    check.result = complete ? (script.result ?? (anyConsider ? 'consider' : 'clear')) : null;
    check.completedAt = complete || check.status === 'withdrawn' ? now().toISOString() : undefined;
  }

  function checkJson(check: CheckState): Record<string, unknown> {
    return {
      id: check.id,
      created_at: check.created_at,
      href: `${base}/checks/${check.id}`,
      status: check.status,
      result: check.result,
      applicant_id: check.applicant_id,
      applicant_provides_data: false,
      report_ids: check.report_ids,
      tags: check.tags,
      results_uri: `https://dashboard.onfido.com/checks/${check.id}`,
      paused: check.status === 'paused',
      sandbox: true,
      version: '3.6',
    };
  }

  async function handle(request: RecordedRequest): Promise<VendorReply> {
    if (request.headers.authorization !== `Token token=${apiToken}`) return FAILURES.unauthorized;
    const failure = takeFailure(failures, request);
    if (failure === 'hang') return 'hang';
    if (failure) return FAILURES[failure];
    const url = new URL(request.path, 'http://fake');
    const path = url.pathname.replace(/^\/v3\.6/, '');
    const created_at = now().toISOString();

    if (request.method === 'POST' && path === '/applicants') {
      const body = parseJson(request);
      const missing = ['first_name', 'last_name'].filter(
        (field) => typeof body[field] !== 'string' || !body[field],
      );
      if (missing.length > 0) {
        return error(
          422,
          'validation_error',
          'There was a validation error on this request',
          Object.fromEntries(missing.map((f) => [f, ["can't be blank"]])),
        );
      }
      const id = randomUUID();
      const applicant = { id, created_at, href: `${base}/applicants/${id}`, sandbox: true, ...body };
      applicants.set(id, applicant);
      return { status: 201, json: applicant };
    }

    if (request.method === 'POST' && (path === '/documents' || path === '/live_photos')) {
      const form = await parseMultipart(request);
      const applicantId = String(form.get('applicant_id') ?? '');
      if (!applicants.has(applicantId))
        return error(422, 'validation_error', 'There was a validation error on this request', {
          applicant_id: ['not found'],
        });
      const file = form.get('file');
      if (!(file instanceof Blob) || file.size === 0)
        return error(422, 'validation_error', 'There was a validation error on this request', {
          file: ["can't be blank"],
        });
      const id = randomUUID();
      const common = {
        id,
        created_at,
        file_size: file.size,
        file_type: file.type,
        file_name: (file as File).name,
        applicant_id: applicantId,
      };
      if (path === '/live_photos') {
        const photo = {
          ...common,
          href: `${base}/live_photos/${id}`,
          download_href: `${base}/live_photos/${id}/download`,
        };
        livePhotos.set(id, photo);
        return { status: 201, json: photo };
      }
      const type = String(form.get('type') ?? '');
      if (!DOCUMENT_TYPES.has(type))
        return error(422, 'validation_error', 'There was a validation error on this request', {
          type: ['is not included in the list'],
        });
      const document = {
        ...common,
        type,
        side: form.get('side') ?? null,
        issuing_country: form.get('issuing_country') ?? null,
        href: `${base}/documents/${id}`,
        download_href: `${base}/documents/${id}/download`,
      };
      documents.set(id, document);
      return { status: 201, json: document };
    }

    if (request.method === 'POST' && path === '/checks') {
      const body = parseJson(request);
      const applicantId = String(body.applicant_id ?? '');
      if (!applicants.has(applicantId))
        return error(422, 'validation_error', 'There was a validation error on this request', {
          applicant_id: ['not found'],
        });
      const reportNames = Array.isArray(body.report_names) ? body.report_names.map(String) : [];
      if (reportNames.length === 0 || reportNames.some((name) => !REPORT_NAMES.has(name))) {
        return error(422, 'validation_error', 'There was a validation error on this request', {
          report_names: ['is invalid'],
        });
      }
      const documentIds = Array.isArray(body.document_ids) ? body.document_ids.map(String) : [];
      if (documentIds.some((id) => !documents.has(id)))
        return error(422, 'validation_error', 'There was a validation error on this request', {
          document_ids: ['not found'],
        });
      const tags = Array.isArray(body.tags) ? body.tags.map(String) : [];
      const check: CheckState = {
        id: randomUUID(),
        created_at,
        status: 'in_progress',
        result: null,
        applicant_id: applicantId,
        report_names: reportNames,
        document_ids: documentIds,
        tags,
        report_ids: [],
      };
      checks.set(check.id, check);
      const key = [applicantId, ...tags].find((candidate) => scripted.has(candidate));
      apply(check, key ? (scripted.get(key) as OnfidoDecision) : 'clear');
      if (key) scripted.delete(key);
      // Asynchronous checks answer before they run: the creation response is always in progress.
      return { status: 201, json: { ...checkJson(check), status: 'in_progress', result: null } };
    }

    const checkMatch = /^\/checks\/([^/]+)$/.exec(path);
    if (request.method === 'GET' && checkMatch) {
      const check = checks.get(decodeURIComponent(checkMatch[1] as string));
      return check
        ? { status: 200, json: checkJson(check) }
        : error(404, 'resource_not_found', 'The resource could not be found.');
    }

    if (request.method === 'GET' && path === '/reports') {
      const check = checks.get(url.searchParams.get('check_id') ?? '');
      if (!check) return error(404, 'resource_not_found', 'The resource could not be found.');
      return { status: 200, json: { reports: check.report_ids.map((id) => reports.get(id)) } };
    }

    return error(404, 'resource_not_found', 'The resource could not be found.');
  }

  const server = await startVendorServer(handle);
  base = `${server.origin}/v3.6`;

  /** A `check.*` webhook for a check, in Onfido's envelope, signed with the webhook token. */
  function webhook(
    checkId: string,
    event: {
      action?: 'check.started' | 'check.reopened' | 'check.withdrawn' | 'check.completed';
      signatureToken?: string;
    } = {},
  ): WebhookDelivery {
    const check = checks.get(checkId);
    if (!check) throw new Error(`no check ${checkId}`);
    const action =
      event.action ??
      (check.status === 'complete'
        ? 'check.completed'
        : check.status === 'withdrawn'
          ? 'check.withdrawn'
          : 'check.started');
    const object: Record<string, unknown> = { id: check.id };
    if (action === 'check.completed' || action === 'check.withdrawn') {
      object.status = action === 'check.completed' ? 'complete' : 'withdrawn';
      object.completed_at_iso8601 = check.completedAt ?? now().toISOString();
    } else {
      object.status = 'in_progress';
      object.started_at_iso8601 = check.created_at;
    }
    object.href = `${base}/checks/${check.id}`;
    const body = JSON.stringify({ payload: { resource_type: 'check', action, object } });
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-sha2-signature': onfidoWebhookSignature(body, event.signatureToken ?? webhookToken),
      },
    };
  }

  return {
    url: base,
    apiToken,
    webhookToken,
    requests: server.requests,
    close: () => server.close(),
    /**
     * Sets the decision of an existing check (by id), or scripts it for the next check of an applicant or a
     * check carrying the tag (our session id).
     */
    decide(ref: string, decision: OnfidoDecision): void {
      const check = checks.get(ref);
      if (check) apply(check, decision);
      else scripted.set(ref, decision);
    },
    /** The next matching request (any, or one whose path contains `pathIncludes`) fails this way, once. */
    failNext(mode: FailMode, pathIncludes?: string): void {
      failures.push({ mode, ...(pathIncludes ? { pathIncludes } : {}) });
    },
    /** The check ids created so far, oldest first. */
    checkIds: () => [...checks.keys()],
    check: (id: string) => {
      const check = checks.get(id);
      return check ? checkJson(check) : undefined;
    },
    webhook,
    /** POSTs a signed webhook for the check (default action follows its status; `check.started` is older). */
    sendWebhook(
      targetUrl: string,
      checkId: string,
      event?: Parameters<typeof webhook>[1],
    ): Promise<WebhookResult> {
      return postWebhook(targetUrl, webhook(checkId, event));
    },
    /** Sends the same bytes again: a duplicate delivery. */
    redeliver: (targetUrl: string, delivery: WebhookDelivery) => postWebhook(targetUrl, delivery),
  };
}

export type FakeOnfido = Awaited<ReturnType<typeof startFakeOnfido>>;
