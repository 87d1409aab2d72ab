/**
 * A fake Sumsub API on 127.0.0.1: applicants, idDoc uploads, `status/pending`, the sandbox `testCompleted`
 * and applicant lookups, with Sumsub's paths, shapes and signed-request auth (X-App-Token, X-App-Access-Ts,
 * X-App-Access-Sig), plus webhooks signed with X-Payload-Digest. An applicant is reviewed as soon as it is
 * set pending, with the decision scripted for it (by applicant id or externalUserId = our session id), by
 * default GREEN with the ICAO specimen's data.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sumsubPayloadDigest, sumsubRequestSignature } from '../../src/modules/kyc/providers/sumsub.js';
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

export type SumsubReviewStatus =
  | 'init'
  | 'pending'
  | 'prechecked'
  | 'queued'
  | 'completed'
  | 'onHold'
  | 'awaitingService'
  | 'awaitingUser';

export type SumsubDecision =
  | 'GREEN'
  | { reviewAnswer: 'RED'; reviewRejectType: 'RETRY' | 'FINAL'; rejectLabels?: string[] }
  /** A review that stays in (or moves to) a non-completed state, e.g. `pending` or `onHold`. */
  | { reviewStatus: Exclude<SumsubReviewStatus, 'completed'>; rejectLabels?: string[] };

export type SumsubDigestAlg = 'HMAC_SHA1_HEX' | 'HMAC_SHA256_HEX' | 'HMAC_SHA512_HEX';

export interface FakeSumsubOptions {
  appToken?: string;
  secretKey?: string;
  webhookSecret?: string;
  digestAlg?: SumsubDigestAlg;
  now?: () => Date;
  /** Levels that exist and their document sets; default: any level name, with IDENTITY and SELFIE. */
  levels?: Record<string, string[]>;
  /** Overrides of what Sumsub reads from the documents (applicant `info`). */
  info?: Record<string, unknown>;
}

export const SUMSUB_FAKE_APP_TOKEN = 'sbx:fake-sumsub-app-token';
export const SUMSUB_FAKE_SECRET_KEY = 'Hej2ch71kG2kTd1iIUDZFNsO5C1lh5Gq';
export const SUMSUB_FAKE_WEBHOOK_SECRET = 'fake-sumsub-webhook-secret';

const ID_DOC_TYPES = new Set([
  'PASSPORT',
  'ID_CARD',
  'DRIVERS',
  'RESIDENCE_PERMIT',
  'SELFIE',
  'VIDEO_SELFIE',
  'UTILITY_BILL',
  'PROFILE_IMAGE',
  'OTHER',
]);

interface Applicant {
  id: string;
  createdAt: string;
  clientId: string;
  inspectionId: string;
  externalUserId: string;
  levelName: string;
  type: 'individual';
  requiredIdDocs: { docSets: { idDocSetType: string; types: string[] }[] };
  info: Record<string, unknown>;
  review: Record<string, unknown>;
  /** Uploaded document metadata (not part of Sumsub's applicant JSON). */
  uploads: Record<string, unknown>[];
}

/** Sumsub's timestamp formats (UTC). */
function sumsubTime(date: Date, withMs: boolean): string {
  const iso = date.toISOString().replace('T', ' ');
  return withMs ? iso.slice(0, 23) : `${iso.slice(0, 19)}+0000`;
}

const DOC_SET_TYPES: Record<string, string[]> = {
  IDENTITY: ['PASSPORT', 'ID_CARD', 'DRIVERS', 'RESIDENCE_PERMIT'],
  SELFIE: ['SELFIE', 'VIDEO_SELFIE'],
  PROOF_OF_RESIDENCE: ['UTILITY_BILL'],
};

export async function startFakeSumsub(options: FakeSumsubOptions = {}) {
  const appToken = options.appToken ?? SUMSUB_FAKE_APP_TOKEN;
  const secretKey = options.secretKey ?? SUMSUB_FAKE_SECRET_KEY;
  const webhookSecret = options.webhookSecret ?? SUMSUB_FAKE_WEBHOOK_SECRET;
  const digestAlg = options.digestAlg ?? 'HMAC_SHA256_HEX';
  const now = options.now ?? (() => new Date());
  const applicants = new Map<string, Applicant>();
  /** Decisions for applicants not reviewed yet, keyed by applicant id or externalUserId. */
  const scripted = new Map<string, SumsubDecision>();
  const failures: PendingFailure[] = [];

  function problem(status: number, description: string, extra: Record<string, unknown> = {}): VendorReply {
    return { status, json: { description, code: status, correlationId: `req-${randomUUID()}`, ...extra } };
  }

  const FAILURES: Record<Exclude<FailMode, 'hang'>, () => VendorReply> = {
    error500: () => problem(500, 'Internal server error'),
    unauthorized: () =>
      problem(401, 'Request signature mismatch', {
        errorCode: 4003,
        errorName: 'app-token-signature-mismatch',
      }),
    rate_limited: () => problem(429, 'Too many requests'),
    unsupported: () =>
      problem(400, 'Unsupported idDocType for the country', {
        errorCode: 1002,
        errorName: 'invalid-id-doc-type',
      }),
  };

  function authenticate(request: RecordedRequest): VendorReply | undefined {
    const token = request.headers['x-app-token'];
    const ts = String(request.headers['x-app-access-ts'] ?? '');
    const sig = String(request.headers['x-app-access-sig'] ?? '');
    if (token !== appToken)
      return problem(401, 'App token is invalid', { errorCode: 4000, errorName: 'app-token-invalid-format' });
    if (!/^\d+$/.test(ts) || Math.abs(Number(ts) - now().getTime() / 1000) > 300) {
      return problem(401, 'Request timestamp is out of range', {
        errorCode: 4002,
        errorName: 'app-token-invalid-ts',
      });
    }
    const expected = sumsubRequestSignature(secretKey, ts, request.method, request.path, request.body);
    if (sig !== expected) return FAILURES.unauthorized();
    return undefined;
  }

  function info(): Record<string, unknown> {
    const validUntil = new Date(now().getTime() + 5 * 365 * 86_400_000).toISOString().slice(0, 10);
    return {
      firstName: 'ANNA MARIA',
      lastName: 'ERIKSSON',
      dob: '1974-08-12',
      country: 'UTO',
      nationality: 'UTO',
      idDocs: [
        {
          idDocType: 'PASSPORT',
          country: 'UTO',
          firstName: 'ANNA MARIA',
          lastName: 'ERIKSSON',
          dob: '1974-08-12',
          number: 'L898902C3',
          validUntil,
          mrzLine1: 'P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<',
        },
      ],
      ...options.info,
    };
  }

  /** Applies a decision: a completed review (GREEN/RED) or a side state. */
  function apply(applicant: Applicant, decision: SumsubDecision): void {
    const previous = applicant.review;
    const wasCompleted = previous.reviewStatus === 'completed';
    const review: Record<string, unknown> = {
      reviewId: randomBytes(3).toString('hex'),
      attemptId: randomBytes(3).toString('hex'),
      attemptCnt: previous.attemptCnt ?? 0,
      levelName: applicant.levelName,
      createDate: previous.createDate ?? sumsubTime(now(), false),
      priority: 0,
    };
    if (decision === 'GREEN' || 'reviewAnswer' in decision) {
      review.reviewStatus = 'completed';
      review.reviewDate = sumsubTime(now(), false);
      review.reviewResult =
        decision === 'GREEN'
          ? { reviewAnswer: 'GREEN' }
          : {
              reviewAnswer: 'RED',
              reviewRejectType: decision.reviewRejectType,
              rejectLabels: decision.rejectLabels ?? [],
              moderationComment: 'We could not verify your profile.',
              clientComment: 'Rejected in the fake.',
            };
      // A second decision on an applicant already decided is a re-review.
      if (wasCompleted) review.reprocessing = true;
      applicant.info = { ...applicant.info, ...info() };
    } else {
      review.reviewStatus = decision.reviewStatus;
      if (decision.rejectLabels) review.reviewResult = { rejectLabels: decision.rejectLabels };
    }
    applicant.review = review;
  }

  function applicantJson(applicant: Applicant): Omit<Applicant, 'uploads'> {
    const { uploads: _uploads, ...json } = applicant;
    return json;
  }

  function find(ref: string): Applicant | undefined {
    return (
      applicants.get(ref) ?? [...applicants.values()].find((applicant) => applicant.externalUserId === ref)
    );
  }

  async function handle(request: RecordedRequest): Promise<VendorReply> {
    const denied = authenticate(request);
    if (denied) return denied;
    const failure = takeFailure(failures, request);
    if (failure === 'hang') return 'hang';
    if (failure) return FAILURES[failure]();
    const url = new URL(request.path, 'http://fake');
    const path = decodeURIComponent(url.pathname);

    if (request.method === 'POST' && path === '/resources/applicants') {
      const levelName = url.searchParams.get('levelName') ?? '';
      const docSets = options.levels ? options.levels[levelName] : ['IDENTITY', 'SELFIE'];
      if (!levelName || !docSets) return problem(404, `Level '${levelName}' not found`);
      const body = parseJson(request);
      const externalUserId = typeof body.externalUserId === 'string' ? body.externalUserId : '';
      if (!externalUserId) return problem(400, 'externalUserId is required');
      const existing = find(externalUserId);
      if (existing) {
        return problem(
          409,
          `Applicant with external user id '${externalUserId}' already exists: ${existing.id}`,
        );
      }
      const applicant: Applicant = {
        id: randomBytes(12).toString('hex'),
        createdAt: sumsubTime(now(), false),
        clientId: 'personachain_test',
        inspectionId: randomBytes(12).toString('hex'),
        externalUserId,
        levelName,
        type: 'individual',
        requiredIdDocs: {
          docSets: docSets.map((type) => ({ idDocSetType: type, types: DOC_SET_TYPES[type] ?? [] })),
        },
        info: {},
        review: {
          reviewStatus: 'init',
          attemptCnt: 0,
          createDate: sumsubTime(now(), false),
          levelName,
          priority: 0,
        },
        uploads: [],
      };
      applicants.set(applicant.id, applicant);
      return { status: 201, json: applicantJson(applicant) };
    }

    const byExternal = /^\/resources\/applicants\/-;externalUserId=([^/]+)\/one$/.exec(path);
    if (request.method === 'GET' && byExternal) {
      const applicant = [...applicants.values()].find(
        (candidate) => candidate.externalUserId === byExternal[1],
      );
      return applicant
        ? { status: 200, json: applicantJson(applicant) }
        : problem(404, 'Applicant not found');
    }

    const match =
      /^\/resources\/applicants\/([0-9a-f]{24})\/(one|info\/idDoc|status\/pending|status\/testCompleted)$/.exec(
        path,
      );
    const applicant = match ? applicants.get(match[1] as string) : undefined;
    if (!match) return problem(404, 'Not found');
    if (!applicant) return problem(404, 'Applicant not found');
    const action = match[2];

    if (request.method === 'GET' && action === 'one') return { status: 200, json: applicantJson(applicant) };

    if (request.method === 'POST' && action === 'info/idDoc') {
      const form = await parseMultipart(request);
      let metadata: Record<string, unknown>;
      try {
        metadata = JSON.parse(String(form.get('metadata') ?? ''));
      } catch {
        return problem(400, 'metadata is not valid JSON');
      }
      const content = form.get('content');
      if (!(content instanceof Blob) || content.size === 0) return problem(400, 'content is required');
      if (!ID_DOC_TYPES.has(String(metadata.idDocType)))
        return problem(400, `Invalid idDocType: ${String(metadata.idDocType)}`);
      if (!/^[A-Z]{3}$/.test(String(metadata.country ?? ''))) return problem(400, 'Invalid country');
      const upload = {
        idDocType: metadata.idDocType,
        idDocSubType: metadata.idDocSubType ?? null,
        country: metadata.country,
        size: content.size,
      };
      applicant.uploads.push(upload);
      return {
        status: 200,
        json: { idDocType: upload.idDocType, idDocSubType: upload.idDocSubType, country: upload.country },
      };
    }

    if (request.method === 'POST' && action === 'status/pending') {
      if (applicant.uploads.length === 0) return problem(409, 'Applicant documents are incomplete');
      applicant.review = {
        ...applicant.review,
        reviewStatus: 'pending',
        attemptCnt: Number(applicant.review.attemptCnt ?? 0) + 1,
      };
      const key = [applicant.id, applicant.externalUserId].find((candidate) => scripted.has(candidate));
      apply(applicant, key ? (scripted.get(key) as SumsubDecision) : 'GREEN');
      if (key) scripted.delete(key);
      return { status: 200, json: { ok: 1 } };
    }

    if (request.method === 'POST' && action === 'status/testCompleted') {
      const body = parseJson(request);
      if (body.reviewAnswer === 'GREEN') apply(applicant, 'GREEN');
      else if (
        body.reviewAnswer === 'RED' &&
        (body.reviewRejectType === 'RETRY' || body.reviewRejectType === 'FINAL')
      ) {
        apply(applicant, {
          reviewAnswer: 'RED',
          reviewRejectType: body.reviewRejectType,
          rejectLabels: Array.isArray(body.rejectLabels) ? body.rejectLabels.map(String) : [],
        });
      } else return problem(400, 'reviewAnswer must be GREEN or RED (with reviewRejectType)');
      return { status: 200, json: { ok: 1 } };
    }

    return problem(404, 'Not found');
  }

  const server = await startVendorServer(handle);

  const WEBHOOK_TYPES: Record<string, string> = {
    completed: 'applicantReviewed',
    onHold: 'applicantOnHold',
    pending: 'applicantPending',
    queued: 'applicantPending',
    prechecked: 'applicantPrechecked',
    awaitingService: 'applicantAwaitingService',
    awaitingUser: 'applicantAwaitingUser',
    init: 'applicantCreated',
  };

  /**
   * A webhook for an applicant's current review, in Sumsub's flat shape. `type` overrides the event type
   * (e.g. an older `applicantPending` sent late), `createdAt` its time; each call is a new event (new
   * correlationId), while `redeliver` repeats one.
   */
  function webhook(
    ref: string,
    event: { type?: string; createdAt?: Date; digestAlg?: SumsubDigestAlg; secret?: string } = {},
  ): WebhookDelivery {
    const applicant = find(ref);
    if (!applicant) throw new Error(`no applicant ${ref}`);
    const review = applicant.review;
    const type = event.type ?? WEBHOOK_TYPES[String(review.reviewStatus)] ?? 'applicantPending';
    const reviewed = type === 'applicantReviewed';
    const body = JSON.stringify({
      applicantId: applicant.id,
      inspectionId: applicant.inspectionId,
      correlationId: `req-${randomUUID()}`,
      externalUserId: applicant.externalUserId,
      levelName: applicant.levelName,
      type,
      ...(reviewed && review.reviewResult ? { reviewResult: review.reviewResult } : {}),
      reviewStatus: reviewed
        ? 'completed'
        : type === 'applicantOnHold'
          ? 'onHold'
          : type === 'applicantCreated'
            ? 'init'
            : 'pending',
      ...(reviewed && review.reprocessing ? { reprocessing: true } : {}),
      sandboxMode: true,
      createdAtMs: sumsubTime(event.createdAt ?? now(), true),
      clientId: applicant.clientId,
      applicantType: 'individual',
    });
    const alg = event.digestAlg ?? digestAlg;
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-payload-digest': sumsubPayloadDigest(body, event.secret ?? webhookSecret, alg),
        'x-payload-digest-alg': alg,
      },
    };
  }

  return {
    url: server.origin,
    appToken,
    secretKey,
    webhookSecret,
    requests: server.requests,
    close: () => server.close(),
    /** Decides an existing applicant (by id or externalUserId) now, or scripts the review of a future one. */
    decide(ref: string, decision: SumsubDecision): void {
      const applicant = find(ref);
      if (applicant && applicant.review.reviewStatus !== 'init') apply(applicant, decision);
      else scripted.set(ref, decision);
    },
    failNext(mode: FailMode, pathIncludes?: string): void {
      failures.push({ mode, ...(pathIncludes ? { pathIncludes } : {}) });
    },
    applicant(ref: string) {
      const applicant = find(ref);
      return applicant ? { ...applicantJson(applicant), uploads: applicant.uploads } : undefined;
    },
    webhook,
    sendWebhook(
      targetUrl: string,
      ref: string,
      event?: Parameters<typeof webhook>[1],
    ): Promise<WebhookResult> {
      return postWebhook(targetUrl, webhook(ref, event));
    },
    /** Sends the same bytes again: a duplicate delivery (same correlationId). */
    redeliver: (targetUrl: string, delivery: WebhookDelivery) => postWebhook(targetUrl, delivery),
  };
}

export type FakeSumsub = Awaited<ReturnType<typeof startFakeSumsub>>;
