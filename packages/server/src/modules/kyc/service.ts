import { createHash, randomBytes } from 'node:crypto';
import {
  constantTimeEqual,
  envelopeKeyId,
  fromBase64Url,
  inspectEnvelope,
  toBase64Url,
} from '@personachain/crypto';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { invalidField, Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { BlobStore } from '../../store/blob-store.js';
import type { AuditService } from '../audit/service.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import type { Decisions } from './decisions.js';
import { CONTENT_TYPES, MAX_DOCUMENT_BYTES, MAX_FIELDS_BYTES, requiredDocuments } from './documents.js';
import type { KycProcessor } from './processing.js';
import type { KycRepo, SessionRow } from './repo.js';
import type { SessionData } from './session-data.js';
import type { SessionWatch } from './session-watch.js';
import type { KycSettings } from './settings.js';
import type { SessionStatus } from './state-machine.js';
import type { Transitions } from './transitions.js';
import { type CheckRequest, DOCUMENT_KINDS, type DocumentKind } from './types.js';

/** How long a reviewer's claim on a session lasts. */
const CLAIM_SECONDS = 30 * 60;
const TOKEN_PREFIX = 'vct_';
const SESSION_ID = /^vrf_[0-9a-f]{32}$/;
/** The statuses in which the platform and its providers are at work: a waiting read waits these out. */
const AT_WORK: ReadonlySet<string> = new Set(['submitted', 'processing']);

/** How a read of a session may wait for the platform to finish with it. */
export interface SessionWait {
  /** How long at most (ms). */
  ms: number;
  /** Aborts the wait (the client went away); the read then answers at once. */
  signal: AbortSignal;
}

export interface CreateSessionInput {
  subject: string;
  checks: CheckRequest[];
  reference?: string;
  ttlSeconds?: number;
}

export interface SessionView {
  id: string;
  projectId: string;
  subject: string;
  reference: string | null;
  checks: CheckRequest[];
  status: SessionStatus;
  statusReason: string | null;
  decidedBy: string | null;
  attempt: number;
  expiresAt: string;
  provider: { id: string; ref: string | null } | null;
  /** The stored result as JSON gives it back: no undefined members. */
  result: {
    checks: Record<string, 'passed' | 'failed' | 'review' | 'not_performed'>;
    reasons: string[];
    claims: Record<string, boolean | string>;
    connectorClaims?: Record<string, Record<string, unknown>>;
  } | null;
  credentialOffer: {
    offerId: string;
    credentialOfferUri: string;
    offerLink?: string;
    txCode?: string | null;
    expiresAt?: string;
  } | null;
  claimedBy: string | null;
  claimedUntil: string | null;
  createdAt: string;
  updatedAt: string;
  decidedAt: string | null;
  documentsDestroyedAt: string | null;
}

export interface DocumentUpload {
  contentType: string;
  sealedKey: string;
  ciphertext: string;
}

export type ReviewDecision = 'approve' | 'decline' | 'request_resubmission';

const iso = (seconds: number | string | null) =>
  seconds === null ? null : new Date(Number(seconds) * 1000).toISOString();
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Verification sessions: created by a project (API key), filled by the end user's capture client (client
 * token) with documents sealed to the project's key, decided by providers, the platform's rules or a
 * reviewer. The server stores ciphertext and derived claims only.
 */
export class KycService {
  constructor(
    private readonly repo: KycRepo,
    private readonly settings: KycSettings,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    private readonly transitions: Transitions,
    private readonly decisions: Decisions,
    private readonly processor: KycProcessor,
    private readonly data: SessionData,
    private readonly blobs: BlobStore,
    private readonly subjects: {
      userExists(projectId: string, userId: string): Promise<boolean>;
      connectorExists(projectId: string, connectorId: string): Promise<boolean>;
    },
    private readonly watch: SessionWatch,
    /** How often a waiting read looks at the database itself (moves by other processes wake nobody here). */
    private readonly recheckMs: number,
    private readonly now: () => Date,
  ) {}

  // ---- the project's side ----
  async create(
    principal: Principal,
    projectId: string,
    input: CreateSessionInput,
  ): Promise<{ session: SessionView; clientToken: string }> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'verifications:write');
    await this.checkSubject(project.id, input.subject);
    await this.checkChecks(project.id, input.checks);
    const settings = await this.settings.ensure(project.id);
    const id = newId('vrf');
    const token = `${TOKEN_PREFIX}${toBase64Url(randomBytes(32))}`;
    const at = this.seconds();
    const row: SessionRow = {
      id,
      project_id: project.id,
      org_id: project.orgId,
      subject: input.subject,
      reference: input.reference ?? null,
      checks: JSON.stringify(input.checks),
      status: 'created',
      status_reason: null,
      decided_by: null,
      version: 0,
      attempt: 1,
      client_token_hash: hashToken(token),
      expires_at: at + (input.ttlSeconds ?? Number(settings.session_ttl_seconds)),
      provider_id: null,
      provider_ref: null,
      last_event_at: null,
      result: null,
      sealed_raw_result: null,
      sealed_data_key: await this.data.newKey(id),
      offer_id: null,
      offer_uri: null,
      sealed_offer: null,
      claimed_by: null,
      claimed_until: null,
      lease_until: null,
      created_at: at,
      updated_at: at,
      decided_at: null,
      purge_at: null,
      purged_at: null,
    };
    await this.repo.insertSession(row);
    return { session: await this.view(row), clientToken: token };
  }

  /** The session; with `wait`, once it has left submitted and processing or when the wait is over. */
  async get(principal: Principal, projectId: string, id: string, wait?: SessionWait): Promise<SessionView> {
    const session = await this.load(principal, projectId, id, 'verifications:read');
    return this.view(wait && AT_WORK.has(session.status) ? await this.settled(session, wait) : session);
  }

  async list(
    principal: Principal,
    projectId: string,
    options: { status?: SessionStatus; cursor?: string; limit: number },
  ): Promise<Page<SessionView>> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'verifications:read');
    const after = decodeCursor(options.cursor, SESSION_ID);
    const rows = await this.repo.listSessions(project.id, {
      ...(options.status ? { status: options.status } : {}),
      ...(after ? { after } : {}),
      limit: options.limit + 1,
    });
    return toPage(await Promise.all(rows.map((row) => this.view(row, { withOffer: false }))), options.limit);
  }

  async history(principal: Principal, projectId: string, id: string) {
    const session = await this.load(principal, projectId, id, 'verifications:read');
    const [moves, calls] = await Promise.all([
      this.repo.transitions(session.id),
      this.repo.providerCalls(session.id),
    ]);
    return {
      transitions: moves.map((move) => ({
        from: move.from_status,
        to: move.to_status,
        actor: move.actor,
        reason: move.reason,
        providerEvent: move.provider_event,
        at: iso(move.at) as string,
      })),
      providerCalls: calls.map((call) => ({
        attempt: call.attempt,
        providerId: call.provider_id,
        kind: call.kind,
        try: call.try,
        result: call.result,
        errorKind: call.error_kind,
        status: call.status,
        message: call.message,
        durationMs: call.duration_ms,
        at: iso(call.at) as string,
      })),
    };
  }

  async cancel(
    principal: Principal,
    projectId: string,
    id: string,
    reason: string | undefined,
  ): Promise<SessionView> {
    const session = await this.load(principal, projectId, id, 'verifications:write');
    const moved = await this.repo.transaction((repo) =>
      this.transitions.apply(repo, session, {
        to: 'canceled',
        actor: 'tenant',
        actorId: principal.keyId,
        reason: reason ?? null,
        patch: { purge_at: this.seconds() },
      }),
    );
    this.transitions.committed(session.id);
    return this.view(moved);
  }

  // ---- the manual review queue ----
  async queue(
    principal: Principal,
    projectId: string,
    options: { cursor?: string; limit: number },
  ): Promise<Page<SessionView>> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'verifications:review');
    const after = decodeCursor(options.cursor, SESSION_ID);
    const rows = await this.repo.listSessions(project.id, {
      ...(after ? { after } : {}),
      limit: options.limit + 1,
      status: 'needs_review',
      unclaimedOrClaimedBy: { keyId: principal.keyId, now: this.seconds() },
    });
    return toPage(await Promise.all(rows.map((row) => this.view(row, { withOffer: false }))), options.limit);
  }

  async claim(principal: Principal, projectId: string, id: string): Promise<SessionView> {
    const session = await this.load(principal, projectId, id, 'verifications:review');
    if (session.status !== 'needs_review') {
      throw new Problem(
        'conflict',
        `Only a session in needs_review can be claimed; this one is ${session.status}.`,
      );
    }
    const now = this.seconds();
    if (session.claimed_by && session.claimed_by !== principal.keyId && Number(session.claimed_until) > now) {
      throw new Problem(
        'conflict',
        `Another reviewer holds this session until ${iso(session.claimed_until)}.`,
      );
    }
    const claimed = { claimed_by: principal.keyId, claimed_until: now + CLAIM_SECONDS, updated_at: now };
    await this.repo.transaction(async (repo) => {
      if (!(await repo.updateSession(session.id, session.version, claimed))) {
        throw new Problem('conflict', 'The session changed meanwhile; read it again and retry.');
      }
      await this.audit.record(repo.db, {
        type: 'verification.claimed',
        orgId: session.org_id,
        projectId: session.project_id,
        actor: principal.keyId,
        subject: session.id,
      });
    });
    this.audit.committed();
    return this.view({ ...session, ...claimed, version: session.version + 1 });
  }

  async decide(
    principal: Principal,
    projectId: string,
    id: string,
    input: { decision: ReviewDecision; reason: string },
  ): Promise<SessionView> {
    const session = await this.load(principal, projectId, id, 'verifications:review');
    if (session.status !== 'needs_review') {
      throw new Problem(
        'conflict',
        `Only a session in needs_review can be decided; this one is ${session.status}.`,
      );
    }
    if (session.claimed_by !== principal.keyId || Number(session.claimed_until) <= this.seconds()) {
      throw new Problem(
        'conflict',
        'Claim the session first (POST …/claim): decisions are made by the reviewer holding it.',
      );
    }
    const base = { actorId: principal.keyId, reason: input.reason };
    const decision =
      input.decision === 'approve'
        ? { ...base, to: 'approved' as const, actor: 'reviewer' as const }
        : input.decision === 'decline'
          ? { ...base, to: 'declined' as const, actor: 'reviewer' as const }
          : { ...base, ...(await this.decisions.resubmission(session, 'reviewer', input.reason)) };
    if (decision.actor === 'policy') {
      throw new Problem(
        'conflict',
        'The session used all its attempts: decline it instead of asking for another.',
      );
    }
    const settings = await this.settings.ensure(session.project_id);
    const moved = await this.repo.transaction((repo) =>
      this.decisions.apply(repo, session, decision, settings),
    );
    this.transitions.committed(session.id);
    return this.view(moved);
  }

  /** An explicit reversal of an approval: the issued credential is revoked and the session declined. */
  async reverse(principal: Principal, projectId: string, id: string, reason: string): Promise<SessionView> {
    const session = await this.load(principal, projectId, id, 'verifications:review');
    if (session.status !== 'approved') {
      throw new Problem(
        'conflict',
        `Only an approved session can be reversed; this one is ${session.status}.`,
      );
    }
    await this.decisions.revoke(session, reason);
    const settings = await this.settings.ensure(session.project_id);
    const moved = await this.repo.transaction((repo) =>
      this.decisions.apply(
        repo,
        session,
        { to: 'declined', actor: 'reviewer', actorId: principal.keyId, reason: `reversal:${reason}` },
        settings,
      ),
    );
    this.transitions.committed(session.id);
    return this.view(moved);
  }

  // ---- the end user's capture client (client token) ----
  /** What the capture client needs: the checks, the documents to upload and the key to seal them to. */
  async clientSession(token: string) {
    let session = await this.byToken(token);
    session = await this.opened(session);
    const checks = JSON.parse(session.checks) as CheckRequest[];
    const settings = await this.settings.ensure(session.project_id);
    const uploaded = await this.repo.documentKinds(session.id, session.attempt);
    const publicKey = new Uint8Array(settings.public_key);
    return {
      id: session.id,
      status: session.status as SessionStatus,
      attempt: session.attempt,
      checks,
      requiredDocuments: requiredDocuments(checks),
      uploadedDocuments: uploaded,
      expiresAt: iso(session.expires_at) as string,
      encryptionKey: {
        suite: 'X-Wing' as const,
        publicKey: toBase64Url(publicKey),
        keyId: toBase64Url(envelopeKeyId('X-Wing', publicKey)),
      },
    };
  }

  async upload(
    token: string,
    kind: DocumentKind,
    input: DocumentUpload,
  ): Promise<{ id: string; kind: DocumentKind; size: number }> {
    if (!DOCUMENT_KINDS.includes(kind)) throw new Problem('not-found', `No document kind ${kind}.`);
    if (!CONTENT_TYPES[kind].includes(input.contentType)) {
      throw invalidField(
        'The request',
        '#/contentType',
        `must be one of ${CONTENT_TYPES[kind].join(', ')} for ${kind}`,
      );
    }
    const session = await this.opened(await this.byToken(token));
    if (session.status !== 'awaiting_input') {
      throw new Problem(
        'conflict',
        `Documents can be uploaded while the session awaits input; it is ${session.status}.`,
      );
    }
    const ciphertext = decodeField('#/ciphertext', input.ciphertext);
    const sealedKey = decodeField('#/sealedKey', input.sealedKey);
    const limit = kind === 'fields' ? MAX_FIELDS_BYTES : MAX_DOCUMENT_BYTES;
    if (ciphertext.length > limit + 28) {
      throw new Problem('payload-too-large', `A ${kind} may be at most ${limit} bytes before encryption.`);
    }
    const keyPair = await this.settings.keyPair(session.project_id);
    let addressed = false;
    try {
      const info = inspectEnvelope(sealedKey);
      addressed =
        info.suite === 'X-Wing' && info.recipientKeyIds.some((id) => constantTimeEqual(id, keyPair.keyId));
    } catch {
      throw invalidField('The request', '#/sealedKey', 'is not a PersonaChain envelope');
    }
    if (!addressed)
      throw invalidField(
        'The request',
        '#/sealedKey',
        "is not sealed to the project's current verification key",
      );
    const id = newId('vdc');
    const blobKey = `${session.project_id}/${session.id}/${id}`;
    await this.blobs.put(blobKey, ciphertext);
    let previous: Awaited<ReturnType<KycRepo['putDocument']>>;
    try {
      previous = await this.repo.transaction((repo) =>
        repo.putDocument({
          id,
          project_id: session.project_id,
          session_id: session.id,
          attempt: session.attempt,
          kind,
          content_type: input.contentType,
          size: ciphertext.length,
          blob_key: blobKey,
          sealed_key: sealedKey,
          created_at: this.seconds(),
        }),
      );
    } catch (error) {
      await this.blobs.delete(blobKey);
      throw error;
    }
    if (previous) await this.blobs.delete(previous.blob_key);
    return { id, kind, size: ciphertext.length };
  }

  async submit(token: string): Promise<{ id: string; status: SessionStatus }> {
    const session = await this.opened(await this.byToken(token));
    const checks = JSON.parse(session.checks) as CheckRequest[];
    const uploaded = new Set(await this.repo.documentKinds(session.id, session.attempt));
    const missing = requiredDocuments(checks).filter((kind) => !uploaded.has(kind));
    if (session.status === 'awaiting_input' && missing.length > 0) {
      throw new Problem('conflict', `Upload ${missing.join(', ')} before submitting.`);
    }
    const moved = await this.repo.transaction((repo) =>
      this.transitions.apply(repo, session, { to: 'submitted', actor: 'client', actorId: 'client' }),
    );
    this.transitions.committed(session.id);
    this.processor.kick(session.id);
    return { id: moved.id, status: moved.status as SessionStatus };
  }

  // ---- helpers ----
  private async byToken(token: string): Promise<SessionRow> {
    const session = token.startsWith(TOKEN_PREFIX)
      ? await this.repo.sessionByClientToken(hashToken(token))
      : undefined;
    if (!session) throw new Problem('unauthorized', 'The client token is not valid.');
    const open = ['created', 'awaiting_input', 'resubmission_requested', 'submitted', 'processing'];
    if (Number(session.expires_at) <= this.seconds() || !open.includes(session.status)) {
      throw new Problem('unauthorized', 'The client token has expired: the session is over.');
    }
    return session;
  }

  /** The first use of the client token (or the first after a resubmission request) opens the capture step. */
  private async opened(session: SessionRow): Promise<SessionRow> {
    if (session.status !== 'created' && session.status !== 'resubmission_requested') return session;
    try {
      const moved = await this.repo.transaction((repo) =>
        this.transitions.apply(repo, session, { to: 'awaiting_input', actor: 'client', actorId: 'client' }),
      );
      this.transitions.committed(session.id);
      return moved;
    } catch (error) {
      // Two first requests at once: the other opened it.
      if ((error as { status?: number }).status !== 409) throw error;
      return (await this.repo.sessionById(session.id)) as SessionRow;
    }
  }

  /** Re-reads the session at each of its moves until the platform is done with it or the wait ends. */
  private async settled(session: SessionRow, wait: SessionWait): Promise<SessionRow> {
    const watching = this.watch.watch(session.id);
    if (!watching) return session;
    // A monotonic deadline: `now` is the platform's (settable) clock, not a timer.
    const deadline = performance.now() + wait.ms;
    try {
      let waiting = true;
      // The watch started after the first read: read again, so that a move in between is not missed.
      for (;;) {
        const current = await this.repo.session(session.project_id, session.id);
        // Gone meanwhile (its project was deleted).
        if (!current)
          throw new Problem('not-found', `No verification session ${session.id} in this project.`);
        const left = deadline - performance.now();
        if (!waiting || !AT_WORK.has(current.status) || left <= 0) return current;
        waiting = await watching.next(Math.min(left, this.recheckMs), wait.signal);
      }
    } finally {
      watching.close();
    }
  }

  private async load(
    principal: Principal,
    projectId: string,
    id: string,
    action: Parameters<TenancyService['authorizeProject']>[2],
  ) {
    const project = await this.tenancy.authorizeProject(principal, projectId, action);
    const session = await this.repo.session(project.id, id);
    if (!session) throw new Problem('not-found', `No verification session ${id} in this project.`);
    return session;
  }

  private async checkSubject(projectId: string, subject: string): Promise<void> {
    if (subject.startsWith('usr_')) {
      if (!(await this.subjects.userExists(projectId, subject)))
        throw invalidField('The request', '#/subject', `names no user of this project`);
      return;
    }
    if (!/^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$/.test(subject)) {
      throw invalidField('The request', '#/subject', 'must be a user id (usr_…) or a DID');
    }
  }

  private async checkChecks(projectId: string, checks: CheckRequest[]): Promise<void> {
    const seen = new Set<string>();
    for (const [i, check] of checks.entries()) {
      const key =
        check.type === 'connector'
          ? `connector:${check.connectorId}`
          : check.type === 'age'
            ? `age:${check.minimumAge}`
            : check.type;
      if (seen.has(key)) throw invalidField('The request', `#/checks/${i}`, 'repeats an earlier check');
      seen.add(key);
      if (check.type === 'age' && check.minimumAge === undefined)
        throw invalidField('The request', `#/checks/${i}/minimumAge`, 'is required for an age check');
      if (check.type !== 'age' && check.minimumAge !== undefined)
        throw invalidField('The request', `#/checks/${i}/minimumAge`, 'is only for age checks');
      if (check.type === 'connector') {
        if (!check.connectorId)
          throw invalidField('The request', `#/checks/${i}/connectorId`, 'is required for a connector check');
        if (!(await this.subjects.connectorExists(projectId, check.connectorId))) {
          throw invalidField(
            'The request',
            `#/checks/${i}/connectorId`,
            'names no connector of this project',
          );
        }
      } else if (check.connectorId !== undefined || check.input !== undefined) {
        throw invalidField(
          'The request',
          `#/checks/${i}`,
          'connectorId and input are only for connector checks',
        );
      }
    }
  }

  private async view(
    row: SessionRow,
    options: { withOffer: boolean } = { withOffer: true },
  ): Promise<SessionView> {
    let credentialOffer: SessionView['credentialOffer'] = null;
    if (row.offer_id && row.offer_uri) {
      credentialOffer = { offerId: row.offer_id, credentialOfferUri: row.offer_uri };
      if (options.withOffer && row.sealed_offer && row.sealed_data_key) {
        const offer = await this.data.open<{ offerLink: string; txCode: string | null; expiresAt: string }>(
          row.id,
          row.sealed_data_key,
          row.sealed_offer,
        );
        credentialOffer = {
          ...credentialOffer,
          offerLink: offer.offerLink,
          txCode: offer.txCode,
          expiresAt: offer.expiresAt,
        };
      }
    }
    return {
      id: row.id,
      projectId: row.project_id,
      subject: row.subject,
      reference: row.reference,
      checks: JSON.parse(row.checks),
      status: row.status as SessionStatus,
      statusReason: row.status_reason,
      decidedBy: row.decided_by,
      attempt: row.attempt,
      expiresAt: iso(row.expires_at) as string,
      provider: row.provider_id ? { id: row.provider_id, ref: row.provider_ref } : null,
      result: row.result ? JSON.parse(row.result) : null,
      credentialOffer,
      claimedBy: row.claimed_by,
      claimedUntil: iso(row.claimed_until),
      createdAt: iso(row.created_at) as string,
      updatedAt: iso(row.updated_at) as string,
      decidedAt: iso(row.decided_at),
      documentsDestroyedAt: iso(row.purged_at),
    };
  }

  private seconds(): number {
    return Math.floor(this.now().getTime() / 1000);
  }
}

function decodeField(pointer: string, value: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(value) || value.length === 0)
    throw invalidField('The request', pointer, 'must be non-empty base64url');
  return fromBase64Url(value);
}
