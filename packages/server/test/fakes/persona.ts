/**
 * A fake Persona API on 127.0.0.1 (JSON:API, kebab-case): inquiries, government-id and selfie verifications
 * with their submit actions, and `GET /inquiries/{id}?include=verifications`, behind Persona's auth
 * (`Authorization: Bearer`, `Persona-Version`), plus webhooks signed as Persona does (`Persona-Signature:
 * t=…,v1=…`, two pairs during a secret rotation). An inquiry is decided once all its verifications are
 * submitted, when it is next read (GET or webhook), with the decision scripted for it (by inquiry id or by
 * our session id, its `reference-id`), by default `approved` with the ICAO specimen's data. Errors are
 * `{errors: [{title, details}]}`.
 */
import { randomBytes } from 'node:crypto';
import { personaSignature } from '../../src/modules/kyc/providers/persona.js';
import {
  type FailMode,
  type PendingFailure,
  parseJson,
  postWebhook,
  type RecordedRequest,
  startVendorServer,
  takeFailure,
  type VendorReply,
  type WebhookDelivery,
  type WebhookResult,
} from './vendor-server.js';

export type PersonaInquiryStatus =
  | 'created'
  | 'pending'
  | 'completed'
  | 'failed'
  | 'expired'
  | 'needs_review'
  | 'approved'
  | 'declined';

export type PersonaVerificationStatus = 'initiated' | 'submitted' | 'passed' | 'failed' | 'requires_retry';

export interface PersonaDecisionScript {
  /** The inquiry's status once a verification is submitted. */
  status: PersonaInquiryStatus;
  /** Status given to submitted verifications (default: `failed` for failed/declined inquiries, else `passed`). */
  verificationStatus?: PersonaVerificationStatus;
  /** Checks reported as failed on the government id (e.g. `id_expired_detection`). */
  failedChecks?: string[];
  /** Merged over the government id's extracted attributes (Persona's names: `name-first`, `birthdate`…). */
  governmentId?: Record<string, unknown>;
}

/** A decision; plain `pending` leaves the verifications `submitted` and the inquiry `pending`. */
export type PersonaDecision = PersonaInquiryStatus | PersonaDecisionScript;

export interface FakePersonaOptions {
  apiKey?: string;
  webhookSecret?: string;
  now?: () => Date;
}

export const PERSONA_FAKE_API_KEY = 'persona_sandbox_fake_key';
export const PERSONA_FAKE_WEBHOOK_SECRET = 'wbhsec_test';
export const PERSONA_FAKE_TEMPLATE_ID = 'itmpl_FakeTemplate';

const ID_CLASSES = new Set(['pp', 'id', 'dl', 'rp']);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The webhook event name for an inquiry status. */
const EVENT_FOR_STATUS: Record<PersonaInquiryStatus, string> = {
  created: 'inquiry.created',
  pending: 'inquiry.started',
  completed: 'inquiry.completed',
  failed: 'inquiry.failed',
  expired: 'inquiry.expired',
  needs_review: 'inquiry.marked-for-review',
  approved: 'inquiry.approved',
  declined: 'inquiry.declined',
};

interface InquiryState {
  id: string;
  referenceId: string | null;
  templateId: string;
  status: PersonaInquiryStatus;
  fields: Record<string, unknown>;
  times: Record<string, string>;
  verificationIds: string[];
  /** A decision was applied (the end user's flow is over). */
  decided: boolean;
}

interface VerificationState {
  id: string;
  type: 'verification/government-id' | 'verification/selfie';
  inquiryId: string;
  status: PersonaVerificationStatus;
  createdAt: string;
  submittedAt?: string;
  attributes: Record<string, unknown>;
  checks: { name: string; status: 'passed' | 'failed' | 'not_applicable'; reasons: string[] }[];
}

function errors(status: number, title: string, details?: string): VendorReply {
  return { status, json: { errors: [{ title, ...(details ? { details } : {}) }] } };
}

const FAILURES: Record<Exclude<FailMode, 'hang'>, VendorReply> = {
  error500: errors(500, 'Internal server error'),
  unauthorized: errors(401, 'Must be authenticated to access this endpoint'),
  rate_limited: errors(429, 'Too many requests'),
  unsupported: errors(422, 'Unprocessable entity', 'id-class is not supported for country-code'),
};

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

export async function startFakePersona(options: FakePersonaOptions = {}) {
  const apiKey = options.apiKey ?? PERSONA_FAKE_API_KEY;
  const webhookSecret = options.webhookSecret ?? PERSONA_FAKE_WEBHOOK_SECRET;
  const now = options.now ?? (() => new Date());
  const inquiries = new Map<string, InquiryState>();
  const verifications = new Map<string, VerificationState>();
  /** Decisions for inquiries, keyed by inquiry id or reference id (our session id). */
  const scripted = new Map<string, PersonaDecision>();
  const failures: PendingFailure[] = [];

  function specimen(): Record<string, unknown> {
    const expiry = new Date(now().getTime() + 5 * 365 * 86_400_000).toISOString().slice(0, 10);
    return {
      'name-first': 'Anna',
      'name-middle': 'Maria',
      'name-last': 'Eriksson',
      birthdate: '1974-08-12',
      'expiration-date': expiry,
      'identification-number': 'L898902C3',
    };
  }

  function inquiryJson(inquiry: InquiryState, asStatus?: PersonaInquiryStatus): Record<string, unknown> {
    return {
      type: 'inquiry',
      id: inquiry.id,
      attributes: {
        status: asStatus ?? inquiry.status,
        'reference-id': inquiry.referenceId,
        'created-at': inquiry.times.created,
        'started-at': inquiry.times.started ?? null,
        'completed-at': inquiry.times.completed ?? null,
        'failed-at': inquiry.times.failed ?? null,
        'decisioned-at': inquiry.times.decisioned ?? null,
        'expired-at': inquiry.times.expired ?? null,
        fields: inquiry.fields,
      },
      relationships: {
        template: { data: { type: 'template', id: inquiry.templateId } },
        verifications: {
          data: inquiry.verificationIds.map((id) => ({ type: verifications.get(id)?.type, id })),
        },
        reports: { data: [] },
        sessions: { data: [] },
      },
    };
  }

  function verificationJson(verification: VerificationState): Record<string, unknown> {
    return {
      type: verification.type,
      id: verification.id,
      attributes: {
        status: verification.status,
        'created-at': verification.createdAt,
        'submitted-at': verification.submittedAt ?? null,
        ...verification.attributes,
        checks: verification.checks,
      },
      relationships: { inquiry: { data: { type: 'inquiry', id: verification.inquiryId } } },
    };
  }

  function apply(inquiry: InquiryState, decision: PersonaDecision): void {
    const time = now().toISOString();
    inquiry.decided = true;
    if (decision === 'pending') {
      inquiry.status = 'pending';
      return;
    }
    const script = typeof decision === 'string' ? { status: decision } : decision;
    const failed = script.status === 'failed' || script.status === 'declined';
    const verificationStatus = script.verificationStatus ?? (failed ? 'failed' : 'passed');
    inquiry.status = script.status;
    if (['completed', 'approved', 'declined', 'needs_review'].includes(script.status))
      inquiry.times.completed ??= time;
    if (['approved', 'declined'].includes(script.status)) inquiry.times.decisioned = time;
    if (script.status === 'failed') inquiry.times.failed = time;
    if (script.status === 'expired') inquiry.times.expired = time;
    for (const id of inquiry.verificationIds) {
      const verification = verifications.get(id);
      if (!verification || verification.status === 'initiated') continue;
      verification.status = verificationStatus;
      if (verification.type === 'verification/government-id') {
        verification.attributes = { ...verification.attributes, ...specimen(), ...script.governmentId };
        const failedChecks = new Set(script.failedChecks ?? []);
        verification.checks = ['id_expired_detection', 'id_tamper_detection', ...failedChecks].map(
          (name) => ({
            name,
            status: failedChecks.has(name) ? 'failed' : 'passed',
            reasons: [],
          }),
        );
      } else {
        verification.checks = [{ name: 'selfie_id_comparison', status: 'passed', reasons: [] }];
      }
    }
  }

  /** Decides an inquiry whose verifications have all been submitted, once. */
  function settle(inquiry: InquiryState): void {
    const states = inquiry.verificationIds.map((id) => verifications.get(id)?.status);
    if (inquiry.decided || states.length === 0 || states.includes('initiated')) return;
    apply(inquiry, scripted.get(inquiry.id) ?? scripted.get(inquiry.referenceId ?? '') ?? 'approved');
  }

  function authFailure(request: RecordedRequest): VendorReply | null {
    if (request.headers.authorization !== `Bearer ${apiKey}`) return FAILURES.unauthorized;
    const version = String(request.headers['persona-version'] ?? '');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(version)) return errors(400, 'Bad request', 'Persona-Version is invalid');
    return null;
  }

  function photoProblem(value: unknown, name: string): VendorReply | null {
    const file = (value ?? {}) as Record<string, unknown>;
    if (
      typeof file.data !== 'string' ||
      !file.data ||
      !BASE64.test(file.data) ||
      typeof file.filename !== 'string'
    ) {
      return errors(422, 'Unprocessable entity', `${name} must be {data: base64, filename}`);
    }
    return null;
  }

  function createVerification(
    type: VerificationState['type'],
    attributes: Record<string, unknown>,
  ): VendorReply {
    const inquiry = inquiries.get(String(attributes['inquiry-id'] ?? ''));
    if (!inquiry) return errors(404, 'Record not found', 'inquiry-id does not name an inquiry');
    if (!['created', 'pending'].includes(inquiry.status)) {
      return errors(422, 'Unprocessable entity', 'The inquiry is no longer accepting verifications');
    }
    const kept: Record<string, unknown> = {};
    if (type === 'verification/government-id') {
      const problem = photoProblem(attributes['front-photo'], 'front-photo');
      if (problem) return problem;
      if (attributes['back-photo'] !== undefined) {
        const back = photoProblem(attributes['back-photo'], 'back-photo');
        if (back) return back;
      }
      const idClass = attributes['id-class'];
      if (idClass !== undefined && !ID_CLASSES.has(String(idClass))) return FAILURES.unsupported;
      const country = attributes['country-code'];
      if (country !== undefined && !/^[A-Z]{2}$/.test(String(country))) {
        return errors(422, 'Unprocessable entity', 'country-code is not supported');
      }
      kept['id-class'] = idClass ?? null;
      kept['country-code'] = country ?? null;
    } else {
      if (attributes['capture-method'] !== 'photo') {
        return errors(422, 'Unprocessable entity', 'capture-method must be photo');
      }
      const problem = photoProblem(attributes['center-photo'], 'center-photo');
      if (problem) return problem;
      kept['capture-method'] = 'photo';
    }
    const verification: VerificationState = {
      id: newId('ver'),
      type,
      inquiryId: inquiry.id,
      status: 'initiated',
      createdAt: now().toISOString(),
      attributes: kept,
      checks: [],
    };
    verifications.set(verification.id, verification);
    inquiry.verificationIds.push(verification.id);
    if (inquiry.status === 'created') {
      inquiry.status = 'pending';
      inquiry.times.started = now().toISOString();
    }
    return { status: 201, json: { data: verificationJson(verification) } };
  }

  function handle(request: RecordedRequest): VendorReply {
    const failure = takeFailure(failures, request);
    if (failure === 'hang') return 'hang';
    if (failure) return FAILURES[failure];
    const denied = authFailure(request);
    if (denied) return denied;
    const url = new URL(request.path, 'http://fake');
    const attributes = ((parseJson(request).data ?? {}) as Record<string, unknown>).attributes as
      | Record<string, unknown>
      | undefined;

    if (request.method === 'POST' && url.pathname === '/inquiries') {
      const templateId = attributes?.['inquiry-template-id'];
      if (typeof templateId !== 'string' || !templateId.startsWith('itmpl_')) {
        return errors(422, 'Unprocessable entity', 'inquiry-template-id is invalid');
      }
      const referenceId = attributes?.['reference-id'];
      const inquiry: InquiryState = {
        id: newId('inq'),
        referenceId: typeof referenceId === 'string' ? referenceId : null,
        templateId,
        status: 'created',
        fields: (attributes?.fields ?? {}) as Record<string, unknown>,
        times: { created: now().toISOString() },
        verificationIds: [],
        decided: false,
      };
      inquiries.set(inquiry.id, inquiry);
      return { status: 201, json: { data: inquiryJson(inquiry), included: [] } };
    }
    const inquiryMatch = /^\/inquiries\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'GET' && inquiryMatch) {
      const inquiry = inquiries.get(decodeURIComponent(inquiryMatch[1] as string));
      if (!inquiry) return errors(404, 'Record not found');
      settle(inquiry);
      const include = url.searchParams.get('include')?.split(',') ?? [];
      const included = include.includes('verifications')
        ? inquiry.verificationIds.map((id) => verificationJson(verifications.get(id) as VerificationState))
        : [];
      return { status: 200, json: { data: inquiryJson(inquiry), included } };
    }
    const verificationMatch = /^\/verification\/(government-ids|selfies)(?:\/([^/]+)\/submit)?$/.exec(
      url.pathname,
    );
    if (request.method === 'POST' && verificationMatch) {
      const type =
        verificationMatch[1] === 'government-ids' ? 'verification/government-id' : 'verification/selfie';
      const id = verificationMatch[2];
      if (!id) return createVerification(type, attributes ?? {});
      const verification = verifications.get(decodeURIComponent(id));
      if (!verification || verification.type !== type) return errors(404, 'Record not found');
      if (verification.status !== 'initiated') {
        return errors(422, 'Unprocessable entity', 'The verification was already submitted');
      }
      verification.status = 'submitted';
      verification.submittedAt = now().toISOString();
      return { status: 200, json: { data: verificationJson(verification) } };
    }
    return errors(404, 'Not found');
  }

  const server = await startVendorServer(handle);

  /**
   * A webhook event for an inquiry in Persona's envelope, signed like Persona. `asStatus` renders the
   * inquiry as it was at an earlier status (an older, non-final event), `createdAt` dates the event,
   * `secrets` signs with several secrets (one pair each, space-separated, as during a rotation) and
   * `timestamp` sets `t` (unix seconds; default: now).
   */
  function webhook(
    inquiryId: string,
    event: {
      name?: string;
      asStatus?: PersonaInquiryStatus;
      createdAt?: Date;
      includeVerifications?: boolean;
      secrets?: string[];
      timestamp?: number;
    } = {},
  ): WebhookDelivery {
    const inquiry = inquiries.get(inquiryId);
    if (!inquiry) throw new Error(`no inquiry ${inquiryId}`);
    settle(inquiry);
    const status = event.asStatus ?? inquiry.status;
    const included =
      event.includeVerifications === false
        ? []
        : inquiry.verificationIds.map((id) => verificationJson(verifications.get(id) as VerificationState));
    const body = JSON.stringify({
      data: {
        type: 'event',
        id: newId('evt'),
        attributes: {
          name: event.name ?? EVENT_FOR_STATUS[status],
          payload: { data: inquiryJson(inquiry, status), included },
          'created-at': (event.createdAt ?? now()).toISOString(),
        },
      },
    });
    const t = String(event.timestamp ?? Math.floor(now().getTime() / 1000));
    const signature = (event.secrets ?? [webhookSecret])
      .map((secret) => `t=${t},v1=${personaSignature(t, body, secret)}`)
      .join(' ');
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'persona-signature': signature,
        'persona-webhook-attempts-made': '1',
        'persona-webhook-attempts-left': '7',
      },
    };
  }

  return {
    url: server.origin,
    apiKey,
    webhookSecret,
    templateId: PERSONA_FAKE_TEMPLATE_ID,
    requests: server.requests,
    close: () => server.close(),
    /**
     * Scripts the decision of an inquiry (by id, or our session id as `reference-id`), applied once its
     * verifications are all submitted; an inquiry already decided is decided again at once.
     */
    decide(ref: string, decision: PersonaDecision): void {
      scripted.set(ref, decision);
      const inquiry = inquiries.get(ref);
      if (!inquiry) return;
      if (inquiry.decided) apply(inquiry, decision);
      else settle(inquiry);
    },
    /** The next matching request (any, or one whose path contains `pathIncludes`) fails this way, once. */
    failNext(mode: FailMode, pathIncludes?: string): void {
      failures.push({ mode, ...(pathIncludes ? { pathIncludes } : {}) });
    },
    /** The inquiry ids created so far, oldest first. */
    inquiryIds: () => [...inquiries.keys()],
    inquiry: (id: string) => {
      const inquiry = inquiries.get(id);
      return inquiry ? inquiryJson(inquiry) : undefined;
    },
    verifications: (inquiryId: string) =>
      [...verifications.values()].filter((v) => v.inquiryId === inquiryId).map(verificationJson),
    webhook,
    /** POSTs a signed webhook for the inquiry (default: the event of its current status). */
    sendWebhook(
      targetUrl: string,
      inquiryId: string,
      event?: Parameters<typeof webhook>[1],
    ): Promise<WebhookResult> {
      return postWebhook(targetUrl, webhook(inquiryId, event));
    },
    /** Sends the same bytes again: a duplicate delivery. */
    redeliver: (targetUrl: string, delivery: WebhookDelivery) => postWebhook(targetUrl, delivery),
  };
}

export type FakePersona = Awaited<ReturnType<typeof startFakePersona>>;
