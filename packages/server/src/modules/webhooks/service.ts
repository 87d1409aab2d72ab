import type { Kysely } from 'kysely';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { Problem } from '../../http/problem.js';
import type { RateLimiter } from '../../http/rate-limit.js';
import { newId } from '../../ids.js';
import type { Database, WebhookDeliveriesTable, WebhookEndpointsTable } from '../../store/schema.js';
import type { AuditEventType, AuditService } from '../audit/service.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import { EndpointCache } from './endpoint-cache.js';
import { EndpointKeys } from './endpoint-keys.js';
import { checkEndpointUrl } from './endpoint-url.js';
import { isEventType, matchesFilters } from './event-types.js';
import { type DeliveryStatus, millis, WebhookRepo } from './repo.js';
import { generateKey, type SigningScheme } from './signing.js';
import { DEFAULT_WORKER_OPTIONS, DeliveryWorker, type WebhookWorkerOptions } from './worker.js';

/** Endpoints one project may have: every event is written once per matching endpoint. */
export const MAX_ENDPOINTS_PER_PROJECT = 50;
/** Event bodies are thin (ids and statuses); the spec recommends staying well under 20 kB. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Attempts shown with one message (the newest). */
const MAX_ATTEMPTS_SHOWN = 100;
const DEFAULT_OVERLAP_SECONDS = 24 * 3600;

export type DisabledReason = 'manual' | 'gone' | 'failing';

export interface WebhookEndpoint {
  id: string;
  projectId: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  signing: SigningScheme;
  /** v1a: the Ed25519 public key receivers verify with (`whpk_…`); null for v1. */
  publicKey: string | null;
  rateLimit: number | null;
  enabled: boolean;
  disabledReason: DisabledReason | null;
  /** When the current run of failed attempts began; null while deliveries succeed. */
  failingSince: string | null;
  /** Until when the key replaced by the last rotation still signs; null when it no longer does. */
  previousKeyExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** An endpoint as created or rotated: for v1, with the secret, shown this once. */
export type EndpointWithSecret = WebhookEndpoint & { secret?: string };

export interface EndpointInput {
  url: string;
  description?: string | undefined;
  eventTypes?: string[] | undefined;
  signing?: SigningScheme | undefined;
  rateLimit?: number | undefined;
}

export interface EndpointChanges {
  url?: string | undefined;
  description?: string | null | undefined;
  eventTypes?: string[] | undefined;
  enabled?: boolean | undefined;
  rateLimit?: number | null | undefined;
}

export interface WebhookMessage {
  id: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
}

export interface WebhookAttempt {
  number: number;
  at: string;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  nextAttemptAt: string | null;
}

export interface WebhookMessageDetail extends WebhookMessage {
  /** The body as sent; null once the event is past retention. */
  payload: unknown;
  /** Newest first, at most 100. */
  attempts: WebhookAttempt[];
}

export interface WebhookServiceOptions {
  db: Kysely<Database>;
  masterKey: Uint8Array;
  tenancy: TenancyService;
  audit: AuditService;
  /** The fetch deliveries go through: publicFetch, so that endpoints reach public addresses only. */
  fetch: typeof globalThis.fetch;
  /** Token buckets for the per-project and per-endpoint delivery rates. */
  limiter: RateLimiter;
  /** Operator-trusted hosts (PERSONA_OUTBOUND_TRUSTED_HOSTS): may be private addresses or plain HTTP. */
  trustedHosts: readonly string[];
  /** This process alone writes the database (embedded SQLite): keep projects' endpoints in memory. */
  cacheEndpoints: boolean;
  worker?: Partial<WebhookWorkerOptions> | undefined;
  onError: (error: unknown, message: string) => void;
}

const ENDPOINT_ID = /^whe_[0-9a-f]{32}$/;
const MESSAGE_ID = /^msg_[0-9a-f]{32}$/;

/**
 * Outbound webhooks (Standard Webhooks): endpoints per project, a transactional outbox that other modules
 * write events into, and the worker that delivers them.
 */
export class WebhookService {
  private readonly repo: WebhookRepo;
  private readonly keys: EndpointKeys;
  private readonly worker: DeliveryWorker;
  private readonly workerOptions: WebhookWorkerOptions;
  /** Endpoints that got deliveries since the last notify(). */
  private readonly enqueued = new Set<string>();

  constructor(private readonly deps: WebhookServiceOptions) {
    this.repo = new WebhookRepo(deps.db, deps.cacheEndpoints ? new EndpointCache() : null);
    this.keys = new EndpointKeys(deps.masterKey);
    this.workerOptions = { ...DEFAULT_WORKER_OPTIONS, ...deps.worker };
    this.worker = new DeliveryWorker(
      this.repo,
      this.keys,
      deps.fetch,
      deps.limiter,
      this.workerOptions,
      deps.onError,
    );
  }

  /** Starts the delivery worker. */
  start(): void {
    this.worker.start();
  }

  /**
   * Records one event in the caller's transaction (the outbox): an event row plus one delivery row per
   * enabled endpoint of the project whose filter matches `type`. Nothing is sent before the caller commits.
   * `data` must be thin (ids and statuses); returns the event id (`evt_…`, the `webhook-id`).
   */
  async enqueue(
    trx: Kysely<Database>,
    event: { projectId: string; type: string; data: Record<string, unknown> },
  ): Promise<string> {
    if (!isEventType(event.type)) throw new Error(`webhooks: "${event.type}" is not an event type`);
    const repo = this.repo.on(trx);
    const endpoints = (await repo.enabledEndpoints(event.projectId)).filter((endpoint) =>
      matchesFilters(endpoint.eventTypes, event.type),
    );
    const id = newId('evt');
    // No endpoint wants it: there is nothing to deliver, so nothing is stored.
    if (endpoints.length > 0)
      await this.record(
        repo,
        id,
        event,
        endpoints.map((endpoint) => endpoint.id),
      );
    return id;
  }

  /** Wakes the delivery worker; call after the transaction that enqueued committed. */
  notify(): void {
    if (this.enqueued.size === 0) return;
    const endpoints = [...this.enqueued];
    this.enqueued.clear();
    this.worker.request(endpoints);
  }

  /** Stops the worker, waits for in-flight deliveries (bounded). */
  close(): Promise<void> {
    return this.worker.close();
  }

  async createEndpoint(
    principal: Principal,
    projectId: string,
    input: EndpointInput,
  ): Promise<EndpointWithSecret> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'webhooks:write');
    const url = checkEndpointUrl(input.url, this.deps.trustedHosts);
    if ((await this.repo.countEndpoints(project.id)) >= MAX_ENDPOINTS_PER_PROJECT) {
      throw new Problem('conflict', `A project has at most ${MAX_ENDPOINTS_PER_PROJECT} webhook endpoints.`);
    }
    const id = newId('whe');
    const signing = input.signing ?? 'v1';
    const key = generateKey(signing);
    const at = new Date().toISOString();
    const row: WebhookEndpointsTable = {
      id,
      project_id: project.id,
      url,
      description: input.description ?? null,
      event_types: JSON.stringify(unique(input.eventTypes ?? [])),
      signing,
      secret_box: await this.keys.seal(key.material, id),
      public_key: signing === 'v1a' ? key.shown : null,
      previous_secret_box: null,
      previous_expires_at: null,
      rate_limit: input.rateLimit ?? null,
      enabled: 1,
      disabled_reason: null,
      failing_since: null,
      created_at: at,
      updated_at: at,
    };
    await this.audited(principal, project.orgId, row, 'webhook_endpoint.created', (repo) =>
      repo.insertEndpoint(row),
    );
    return withSecret(toEndpoint(row), signing, key.shown);
  }

  async listEndpoints(
    principal: Principal,
    projectId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<WebhookEndpoint>> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'webhooks:read');
    const after = decodeCursor(page.cursor, ENDPOINT_ID);
    const rows = await this.repo.listEndpoints(project.id, { after, limit: page.limit + 1 });
    const found = toPage(rows, page.limit);
    return { data: found.data.map(toEndpoint), nextCursor: found.nextCursor };
  }

  async getEndpoint(principal: Principal, projectId: string, endpointId: string): Promise<WebhookEndpoint> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'webhooks:read');
    return toEndpoint(await this.loadEndpoint(project.id, endpointId));
  }

  async updateEndpoint(
    principal: Principal,
    projectId: string,
    endpointId: string,
    input: EndpointChanges,
  ): Promise<WebhookEndpoint> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'webhooks:write');
    const stored = await this.loadEndpoint(project.id, endpointId);
    const now = Date.now();
    const changes: Partial<WebhookEndpointsTable> = { updated_at: new Date(now).toISOString() };
    if (input.url !== undefined) changes.url = checkEndpointUrl(input.url, this.deps.trustedHosts);
    if (input.description !== undefined) changes.description = input.description;
    if (input.eventTypes !== undefined) changes.event_types = JSON.stringify(unique(input.eventTypes));
    if (input.rateLimit !== undefined) changes.rate_limit = input.rateLimit;
    const enabling = input.enabled === true && stored.enabled === 0;
    const disabling = input.enabled === false && stored.enabled === 1;
    if (enabling) Object.assign(changes, { enabled: 1, disabled_reason: null, failing_since: null });
    if (disabling) Object.assign(changes, { enabled: 0, disabled_reason: 'manual' });
    const row = { ...stored, ...changes };
    await this.audited(principal, project.orgId, row, 'webhook_endpoint.updated', async (repo) => {
      await repo.updateEndpoint(project.id, endpointId, changes);
      // A disabled endpoint has no queue; one enabled again starts with new events only.
      if (enabling || disabling) await repo.cancelPending(endpointId, now);
    });
    return toEndpoint(row);
  }

  async deleteEndpoint(principal: Principal, projectId: string, endpointId: string): Promise<void> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'webhooks:write');
    const row = await this.loadEndpoint(project.id, endpointId);
    await this.audited(principal, project.orgId, row, 'webhook_endpoint.deleted', (repo) =>
      repo.deleteEndpoint(project.id, endpointId),
    );
  }

  /**
   * Replaces the endpoint's signing key. The old one keeps signing next to the new one (two signatures in
   * `webhook-signature`) for `overlapSeconds`, so receivers can switch without losing a delivery.
   */
  async rotateSecret(
    principal: Principal,
    projectId: string,
    endpointId: string,
    overlapSeconds: number = DEFAULT_OVERLAP_SECONDS,
  ): Promise<EndpointWithSecret> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'webhooks:write');
    const stored = await this.loadEndpoint(project.id, endpointId);
    const signing = stored.signing as SigningScheme;
    const key = generateKey(signing);
    const now = Date.now();
    const changes = {
      secret_box: await this.keys.seal(key.material, endpointId),
      public_key: signing === 'v1a' ? key.shown : null,
      previous_secret_box: overlapSeconds > 0 ? stored.secret_box : null,
      previous_expires_at: overlapSeconds > 0 ? now + overlapSeconds * 1000 : null,
      updated_at: new Date(now).toISOString(),
    };
    const row = { ...stored, ...changes };
    await this.audited(principal, project.orgId, row, 'webhook_endpoint.secret_rotated', (repo) =>
      repo.updateEndpoint(project.id, endpointId, changes),
    );
    return withSecret(toEndpoint(row), signing, key.shown);
  }

  /** Sends a `webhook.test` event to this endpoint only (whatever its filters), behind its queue. */
  async sendTest(
    principal: Principal,
    projectId: string,
    endpointId: string,
  ): Promise<{ eventId: string; messageId: string }> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'webhooks:write');
    const endpoint = await this.loadEndpoint(project.id, endpointId);
    if (endpoint.enabled !== 1) throw new Problem('conflict', 'The endpoint is disabled; enable it first.');
    const eventId = newId('evt');
    const event = { projectId: project.id, type: 'webhook.test', data: { endpoint_id: endpointId } };
    const [messageId] = await this.repo.transaction((repo) =>
      this.record(repo, eventId, event, [endpointId]),
    );
    this.notify();
    return { eventId, messageId: messageId as string };
  }

  async listMessages(
    principal: Principal,
    projectId: string,
    endpointId: string,
    query: { limit: number; cursor?: string | undefined; status?: DeliveryStatus | undefined },
  ): Promise<Page<WebhookMessage>> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'webhooks:read');
    await this.loadEndpoint(project.id, endpointId);
    const before = decodeCursor(query.cursor, MESSAGE_ID);
    const rows = await this.repo.listDeliveries(project.id, endpointId, {
      before,
      limit: query.limit + 1,
      status: query.status,
    });
    const found = toPage(rows, query.limit);
    return { data: found.data.map(toMessage), nextCursor: found.nextCursor };
  }

  async getMessage(
    principal: Principal,
    projectId: string,
    endpointId: string,
    messageId: string,
  ): Promise<WebhookMessageDetail> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'webhooks:read');
    const delivery = await this.loadMessage(project.id, endpointId, messageId);
    const [event, attempts] = await Promise.all([
      this.repo.findEvent(project.id, delivery.event_id),
      this.repo.attemptsOf(project.id, delivery.id, MAX_ATTEMPTS_SHOWN),
    ]);
    return {
      ...toMessage(delivery),
      payload: event ? JSON.parse(event.body) : null,
      attempts: attempts.map((attempt) => ({
        number: attempt.number,
        at: iso(millis(attempt.at)),
        statusCode: attempt.status_code,
        durationMs: attempt.duration_ms,
        error: attempt.error,
        nextAttemptAt: isoOrNull(millis(attempt.next_attempt_at)),
      })),
    };
  }

  /**
   * Sends a message again soon, with the same `webhook-id`. A finished one (succeeded, failed, canceled)
   * gets one attempt; a pending one is tried now instead of at its scheduled time.
   */
  async replay(
    principal: Principal,
    projectId: string,
    endpointId: string,
    messageId: string,
  ): Promise<WebhookMessage> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'webhooks:write');
    const endpoint = await this.loadEndpoint(project.id, endpointId);
    if (endpoint.enabled !== 1) throw new Problem('conflict', 'The endpoint is disabled; enable it first.');
    const delivery = await this.loadMessage(project.id, endpointId, messageId);
    if (!(await this.repo.findEvent(project.id, delivery.event_id))) {
      throw new Problem('conflict', 'The event of this message is past retention and cannot be sent again.');
    }
    const lastSlot = this.workerOptions.retryScheduleMs.length - 1;
    const failures = delivery.status === 'pending' ? delivery.failures : lastSlot;
    const now = Date.now();
    if (!(await this.repo.requeue(project.id, messageId, failures, now))) {
      throw new Problem('conflict', 'The message is being sent right now.');
    }
    this.worker.request([endpointId]);
    return toMessage(await this.loadMessage(project.id, endpointId, messageId));
  }

  private get tenancy(): TenancyService {
    return this.deps.tenancy;
  }

  /** Writes the event and one delivery per endpoint; returns the delivery ids in endpoint order. */
  private async record(
    repo: WebhookRepo,
    id: string,
    event: { projectId: string; type: string; data: Record<string, unknown> },
    endpointIds: readonly string[],
  ): Promise<string[]> {
    const now = Date.now();
    const body = JSON.stringify({
      type: event.type,
      timestamp: new Date(now).toISOString(),
      data: { ...event.data, project_id: event.projectId },
    });
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
      throw new Error(`webhooks: a ${event.type} event is over ${MAX_BODY_BYTES} bytes; send ids, not data`);
    }
    await repo.insertEvent({ id, project_id: event.projectId, type: event.type, body, created_at: now });
    const deliveries: WebhookDeliveriesTable[] = endpointIds.map((endpointId) => ({
      id: newId('msg'),
      project_id: event.projectId,
      endpoint_id: endpointId,
      event_id: id,
      event_type: event.type,
      status: 'pending',
      attempt_count: 0,
      failures: 0,
      throttles: 0,
      next_attempt_at: now,
      lease_owner: null,
      lease_until: null,
      last_attempt_at: null,
      last_status_code: null,
      last_error: null,
      created_at: now,
      updated_at: now,
    }));
    await repo.insertDeliveries(deliveries);
    for (const endpointId of endpointIds) this.enqueued.add(endpointId);
    return deliveries.map((delivery) => delivery.id);
  }

  private async loadEndpoint(projectId: string, endpointId: string): Promise<WebhookEndpointsTable> {
    const row = ENDPOINT_ID.test(endpointId)
      ? await this.repo.findEndpoint(projectId, endpointId)
      : undefined;
    if (!row) throw new Problem('not-found', `No webhook endpoint ${endpointId}.`);
    return row;
  }

  private async loadMessage(projectId: string, endpointId: string, messageId: string) {
    await this.loadEndpoint(projectId, endpointId);
    const row = MESSAGE_ID.test(messageId)
      ? await this.repo.findDelivery(projectId, endpointId, messageId)
      : undefined;
    if (!row) throw new Problem('not-found', `No message ${messageId} for endpoint ${endpointId}.`);
    return row;
  }

  private async audited(
    principal: Principal,
    orgId: string,
    row: WebhookEndpointsTable,
    type: AuditEventType,
    work: (repo: WebhookRepo) => Promise<void>,
  ): Promise<void> {
    await this.repo.transaction(async (repo) => {
      await work(repo);
      await this.deps.audit.record(repo.db, {
        type,
        orgId,
        projectId: row.project_id,
        actor: principal.keyId,
        subject: row.id,
        // The host only: a URL's path or query may hold a receiver's token.
        details: {
          host: new URL(row.url).host,
          signing: row.signing,
          eventTypes: JSON.parse(row.event_types) as string[],
          enabled: row.enabled === 1,
        },
      });
    });
    this.deps.audit.committed();
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

function withSecret(endpoint: WebhookEndpoint, signing: SigningScheme, shown: string): EndpointWithSecret {
  // A v1a endpoint's new public key is in `publicKey`; only an HMAC secret is shown apart, and only now.
  return signing === 'v1' ? { ...endpoint, secret: shown } : endpoint;
}

function toEndpoint(row: WebhookEndpointsTable): WebhookEndpoint {
  const previousUntil = millis(row.previous_expires_at);
  return {
    id: row.id,
    projectId: row.project_id,
    url: row.url,
    description: row.description,
    eventTypes: JSON.parse(row.event_types) as string[],
    signing: row.signing as SigningScheme,
    publicKey: row.public_key,
    rateLimit: row.rate_limit,
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason as DisabledReason | null,
    failingSince: isoOrNull(millis(row.failing_since)),
    previousKeyExpiresAt: previousUntil !== null && previousUntil > Date.now() ? iso(previousUntil) : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toMessage(row: WebhookDeliveriesTable): WebhookMessage {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    endpointId: row.endpoint_id,
    status: row.status as DeliveryStatus,
    attemptCount: row.attempt_count,
    nextAttemptAt: isoOrNull(millis(row.next_attempt_at)),
    lastAttemptAt: isoOrNull(millis(row.last_attempt_at)),
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: iso(millis(row.created_at)),
  };
}
