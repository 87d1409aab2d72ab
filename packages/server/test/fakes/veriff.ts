/**
 * A fake Veriff API on 127.0.0.1: sessions, media uploads, the PATCH that submits, and the decision, with
 * Veriff's paths and shapes and its request signing (X-AUTH-CLIENT + X-HMAC-SIGNATURE over the raw body for
 * POST/PATCH, over the session id for GET), plus signed decision and event webhooks. A session is decided
 * when it is submitted, with the decision scripted for it (by Veriff session id or by our session id, sent
 * as `vendorData`), by default `approved` with the ICAO specimen's data. Error bodies use Veriff's
 * `{status: 'fail', code, message}` shape (codes as Veriff documents them for its auth errors).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { veriffSignature } from '../../src/modules/kyc/providers/veriff.js';
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

export type VeriffDecisionStatus =
  | 'approved'
  | 'declined'
  | 'resubmission_requested'
  | 'review'
  | 'expired'
  | 'abandoned';

export interface VeriffDecisionScript {
  status: VeriffDecisionStatus;
  reasonCode?: number;
  reason?: string;
  /** Merged over the specimen's person (Veriff's field names). */
  person?: Record<string, unknown>;
  /** Merged over the specimen's document. */
  document?: Record<string, unknown>;
}

/** A decision, or `pending`: the session stays `submitted` with no decision until `decide` is called. */
export type VeriffDecision = VeriffDecisionStatus | VeriffDecisionScript | 'pending';

export interface FakeVeriffOptions {
  apiKey?: string;
  sharedSecret?: string;
  now?: () => Date;
}

export const VERIFF_FAKE_API_KEY = 'fake-veriff-api-key';
export const VERIFF_FAKE_SHARED_SECRET = 'veriff_test_secret';

const CODES: Record<VeriffDecisionStatus, number> = {
  approved: 9001,
  declined: 9102,
  resubmission_requested: 9103,
  expired: 9104,
  abandoned: 9104,
  review: 9121,
};
const CONTEXTS = new Set(['document-front', 'document-back', 'face']);
const DOCUMENT_TYPES = new Set(['PASSPORT', 'ID_CARD', 'DRIVERS_LICENSE', 'RESIDENCE_PERMIT']);

interface Media {
  id: string;
  context: string;
  bytes: number;
  timestamp: string;
}

interface SessionState {
  id: string;
  vendorData: string | null;
  sessionToken: string;
  status: 'created' | 'started' | 'submitted' | VeriffDecisionStatus;
  attemptId: string;
  person: Record<string, unknown>;
  document: Record<string, unknown>;
  media: Media[];
  decision?: VeriffDecisionScript;
  decisionTime?: string;
  acceptanceTime: string;
}

function fail(status: number, code: string, message: string): VendorReply {
  return { status, json: { status: 'fail', code, message } };
}

const FAILURES: Record<Exclude<FailMode, 'hang'>, VendorReply> = {
  error500: fail(500, '1001', 'Something went wrong'),
  unauthorized: fail(
    401,
    '1801',
    'Mandatory X-AUTH-CLIENT header containing the API key is missing from the request.',
  ),
  rate_limited: fail(429, '1004', 'Too many requests'),
  unsupported: fail(400, '1104', 'document.type is not supported for document.country'),
};

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export async function startFakeVeriff(options: FakeVeriffOptions = {}) {
  const apiKey = options.apiKey ?? VERIFF_FAKE_API_KEY;
  const sharedSecret = options.sharedSecret ?? VERIFF_FAKE_SHARED_SECRET;
  const now = options.now ?? (() => new Date());
  const sessions = new Map<string, SessionState>();
  /** Decisions for sessions not created yet, keyed by our session id (`vendorData`). */
  const scripted = new Map<string, VeriffDecision>();
  const failures: PendingFailure[] = [];
  let origin = '';

  /** The ICAO specimen (Utopia has no ISO alpha-2 code, so no country unless the request gave one). */
  function specimen(session: SessionState): {
    person: Record<string, unknown>;
    document: Record<string, unknown>;
  } {
    const validUntil = new Date(now().getTime() + 5 * 365 * 86_400_000).toISOString().slice(0, 10);
    return {
      person: {
        firstName: 'ANNA MARIA',
        lastName: 'ERIKSSON',
        dateOfBirth: '1974-08-12',
        gender: 'F',
        nationality: session.document.country ?? null,
        idNumber: null,
        placeOfBirth: null,
      },
      document: {
        number: 'L898902C3',
        type: session.document.type ?? 'PASSPORT',
        country: session.document.country ?? null,
        validFrom: null,
        validUntil,
      },
    };
  }

  function apply(session: SessionState, decision: VeriffDecision): void {
    if (decision === 'pending') {
      session.status = 'submitted';
      delete session.decision;
      delete session.decisionTime;
      return;
    }
    const script = typeof decision === 'string' ? { status: decision } : decision;
    session.decision = script;
    session.status = script.status;
    session.decisionTime = now().toISOString();
  }

  function decisionJson(
    session: SessionState,
    earlier?: { script: VeriffDecisionScript; decisionTime: string },
  ): Record<string, unknown> | null {
    const script = earlier?.script ?? session.decision;
    if (!script) return null;
    const base = specimen(session);
    return {
      id: session.id,
      attemptId: session.attemptId,
      vendorData: session.vendorData,
      endUserId: null,
      status: script.status,
      code: CODES[script.status],
      reason: script.reason ?? null,
      reasonCode: script.reasonCode ?? null,
      decisionTime: earlier?.decisionTime ?? session.decisionTime,
      acceptanceTime: session.acceptanceTime,
      person: { ...base.person, ...script.person },
      document: { ...base.document, ...script.document },
      riskLabels: [],
      additionalVerifiedData: {},
    };
  }

  function sessionJson(session: SessionState): Record<string, unknown> {
    return {
      id: session.id,
      url: `${origin}/v/${session.sessionToken}`,
      vendorData: session.vendorData,
      host: origin,
      status: session.status,
      sessionToken: session.sessionToken,
    };
  }

  /** Veriff's request authentication; null when it holds. */
  function authFailure(request: RecordedRequest, signedPayload: string | Buffer): VendorReply | null {
    if (request.headers['x-auth-client'] !== apiKey) return FAILURES.unauthorized;
    const signature = String(request.headers['x-hmac-signature'] ?? '').toLowerCase();
    if (signature !== veriffSignature(signedPayload, sharedSecret)) {
      return fail(
        401,
        '1812',
        'Signature does not match the HMAC-SHA256 of payload and integration API secret.',
      );
    }
    return null;
  }

  function handle(request: RecordedRequest): VendorReply {
    const failure = takeFailure(failures, request);
    if (failure === 'hang') return 'hang';
    if (failure) return FAILURES[failure];
    const url = new URL(request.path, 'http://fake');
    const match = /^\/v1\/sessions(?:\/([^/]+))?(\/media|\/decision)?$/.exec(url.pathname);
    if (!match) return fail(404, '1404', 'Not found');
    const [, sessionId, sub] = match;
    const isGet = request.method === 'GET';
    const denied = authFailure(request, isGet ? decodeURIComponent(sessionId ?? '') : request.body);
    if (denied) return denied;

    if (!sessionId) {
      if (request.method !== 'POST') return fail(405, '1405', 'Method not allowed');
      const verification = parseJson(request).verification;
      if (!verification || typeof verification !== 'object')
        return fail(400, '1102', 'verification is required');
      const v = verification as Record<string, unknown>;
      const document = (v.document ?? {}) as Record<string, unknown>;
      if (document.type !== undefined && !DOCUMENT_TYPES.has(String(document.type))) {
        return FAILURES.unsupported;
      }
      if (document.country !== undefined && !/^[A-Z]{2}$/.test(String(document.country))) {
        return fail(400, '1104', 'document.country must be an ISO 3166-1 alpha-2 code');
      }
      const session: SessionState = {
        id: randomUUID(),
        vendorData: typeof v.vendorData === 'string' ? v.vendorData : null,
        sessionToken: randomBytes(16).toString('hex'),
        status: 'created',
        attemptId: randomUUID(),
        person: (v.person ?? {}) as Record<string, unknown>,
        document,
        media: [],
        acceptanceTime: now().toISOString(),
      };
      sessions.set(session.id, session);
      return { status: 201, json: { status: 'success', verification: sessionJson(session) } };
    }

    const session = sessions.get(sessionId);
    if (!session) return fail(404, '1404', 'Session not found');
    if (sub === '/media' && request.method === 'POST') {
      const image = (parseJson(request).image ?? {}) as Record<string, unknown>;
      const content = typeof image.content === 'string' ? image.content : '';
      if (!CONTEXTS.has(String(image.context))) return fail(400, '1104', 'image.context is invalid');
      if (!content || !BASE64.test(content)) return fail(400, '1104', 'image.content must be base64');
      if (typeof image.timestamp !== 'string' || Number.isNaN(Date.parse(image.timestamp))) {
        return fail(400, '1104', 'image.timestamp is invalid');
      }
      if (session.status !== 'created' && session.status !== 'started') {
        return fail(400, '1104', 'Session is no longer accepting media');
      }
      session.status = 'started';
      const media: Media = {
        id: randomUUID(),
        context: String(image.context),
        bytes: Buffer.from(content, 'base64').length,
        timestamp: image.timestamp,
      };
      session.media.push(media);
      return {
        status: 201,
        json: {
          status: 'success',
          image: {
            context: media.context,
            id: media.id,
            name: media.context,
            url: null,
            sessionId,
            timestamp: null,
          },
        },
      };
    }
    if (sub === '/decision' && isGet) {
      return { status: 200, json: { status: 'success', verification: decisionJson(session) } };
    }
    if (!sub && request.method === 'PATCH') {
      const status = ((parseJson(request).verification ?? {}) as Record<string, unknown>).status;
      if (status !== 'submitted') return fail(400, '1104', 'verification.status must be submitted');
      if (!session.media.some((media) => media.context === 'document-front')) {
        return fail(400, '1104', 'document-front media is required before submitting');
      }
      session.status = 'submitted';
      apply(session, scripted.get(session.vendorData ?? '') ?? scripted.get(session.id) ?? 'approved');
      return { status: 200, json: { status: 'success', verification: sessionJson(session) } };
    }
    return fail(405, '1405', 'Method not allowed');
  }

  const server = await startVendorServer(handle);
  origin = server.origin;

  /**
   * A webhook for a session in Veriff's shape, signed with the shared secret: `decision` (default) carries
   * the session's decision, or with `earlier` one it had before (e.g. `review` an hour ago: an older,
   * non-final event); `started`/`submitted` are the 7001/7002 event webhooks.
   */
  function webhook(
    sessionId: string,
    event: {
      kind?: 'decision' | 'started' | 'submitted';
      earlier?: { decision: VeriffDecisionStatus | VeriffDecisionScript; decisionTime: Date };
      sharedSecret?: string;
      apiKey?: string;
    } = {},
  ): WebhookDelivery {
    const session = sessions.get(sessionId);
    if (!session) throw new Error(`no session ${sessionId}`);
    const kind = event.kind ?? 'decision';
    let payload: Record<string, unknown>;
    if (kind === 'decision') {
      const earlier = event.earlier && {
        script:
          typeof event.earlier.decision === 'string'
            ? { status: event.earlier.decision }
            : event.earlier.decision,
        decisionTime: event.earlier.decisionTime.toISOString(),
      };
      const verification = decisionJson(session, earlier);
      if (!verification) throw new Error(`session ${sessionId} has no decision yet`);
      payload = { status: 'success', verification, technicalData: { ip: '192.0.2.10' } };
    } else {
      payload = {
        id: session.id,
        attemptId: session.attemptId,
        feature: 'selfid',
        code: kind === 'started' ? 7001 : 7002,
        action: kind,
        vendorData: session.vendorData,
        endUserId: null,
      };
    }
    const body = JSON.stringify(payload);
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-auth-client': event.apiKey ?? apiKey,
        'x-hmac-signature': veriffSignature(body, event.sharedSecret ?? sharedSecret),
      },
    };
  }

  return {
    url: origin,
    apiKey,
    sharedSecret,
    requests: server.requests,
    close: () => server.close(),
    /**
     * Sets the decision of an existing session (by Veriff id), or scripts it for the session created later
     * with this `vendorData` (our session id) or id.
     */
    decide(ref: string, decision: VeriffDecision): void {
      const session = sessions.get(ref);
      if (session && session.status !== 'created' && session.status !== 'started') apply(session, decision);
      else scripted.set(ref, decision);
    },
    /** The next matching request (any, or one whose path contains `pathIncludes`) fails this way, once. */
    failNext(mode: FailMode, pathIncludes?: string): void {
      failures.push({ mode, ...(pathIncludes ? { pathIncludes } : {}) });
    },
    /** The Veriff session ids created so far, oldest first. */
    sessionIds: () => [...sessions.keys()],
    /** A session's state: what was sent to create it and the media received (sizes, not contents). */
    session: (id: string) => {
      const session = sessions.get(id);
      return session ? structuredClone(session) : undefined;
    },
    webhook,
    /** POSTs a signed webhook (the decision, an earlier decision, or a `started`/`submitted` event). */
    sendWebhook(
      targetUrl: string,
      sessionId: string,
      event?: Parameters<typeof webhook>[1],
    ): Promise<WebhookResult> {
      return postWebhook(targetUrl, webhook(sessionId, event));
    },
    /** Sends the same bytes again: a duplicate delivery. */
    redeliver: (targetUrl: string, delivery: WebhookDelivery) => postWebhook(targetUrl, delivery),
  };
}

export type FakeVeriff = Awaited<ReturnType<typeof startFakeVeriff>>;
