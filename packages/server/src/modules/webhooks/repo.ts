import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  PostgresAdapter,
  type SqlBool,
  sql,
} from 'kysely';
import { preparedStatement } from '../../store/prepared.js';
import type {
  Database,
  WebhookAttemptsTable,
  WebhookDeliveriesTable,
  WebhookEndpointsTable,
  WebhookEventsTable,
} from '../../store/schema.js';
import { relaxedDurability } from '../../store/sqlite-driver.js';
import type { EndpointCache, EndpointFilter } from './endpoint-cache.js';

export type DeliveryStatus = 'pending' | 'delivering' | 'succeeded' | 'failed' | 'canceled';

/** A bigint column as a number (PostgreSQL returns bigints as strings). */
export function millis(value: number | string): number;
export function millis(value: number | string | null): number | null;
export function millis(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

/**
 * Unfinished deliveries, written exactly as in the partial index webhook_deliveries_active: both engines
 * use a partial index only when the query repeats its predicate (with literals, not parameters).
 */
const active = (table: 'x' | 'webhook_deliveries') =>
  sql<SqlBool>`${sql.ref(`${table}.status`)} in ('pending', 'delivering')`;

/** A delivery the worker may send now: due and pending, or delivering under a lease that ran out. */
function due(eb: ExpressionBuilder<Database, 'webhook_deliveries'>, now: number): Expression<SqlBool> {
  return eb.or([
    eb.and([eb('status', '=', 'pending'), eb('next_attempt_at', '<=', now)]),
    eb.and([eb('status', '=', 'delivering'), eb('lease_until', '<', now)]),
  ]);
}

/** What the worker needs to send one delivery: the delivery, its endpoint's keys and URL, the body. */
export interface DueDelivery {
  id: string;
  project_id: string;
  endpoint_id: string;
  event_id: string;
  attempt_count: number;
  failures: number;
  throttles: number;
  url: string;
  signing: string;
  secret_box: string;
  previous_secret_box: string | null;
  previous_expires_at: number | string | null;
  rate_limit: number | null;
  failing_since: number | string | null;
  body: string;
}

/** Checked on every event any module enqueues, compiled once (see store/prepared.ts). */
const endpointsEnabled = preparedStatement(['prj', 1], (db, projectId: string, enabled: number) => {
  const query = db
    .selectFrom('webhook_endpoints')
    .select(['id', 'event_types'])
    .where('project_id', '=', projectId)
    .where('enabled', '=', enabled)
    .orderBy('id');
  return db.getExecutor().adapter instanceof PostgresAdapter ? query.forShare() : query;
});

/**
 * The webhook tables. Only the webhooks module calls this; every API query is scoped by project. With an
 * endpoint cache (one process alone on its database), every repository made from this one shares it, and
 * each write of an endpoint goes through here and invalidates it.
 */
export class WebhookRepo {
  /** This transaction changed endpoints: it holds the cache until it ends. */
  private wroteEndpoints = false;

  constructor(
    readonly db: Kysely<Database>,
    private readonly endpointCache: EndpointCache | null = null,
  ) {}

  /** The same tables on `trx`, the caller's transaction. */
  on(trx: Kysely<Database>): WebhookRepo {
    return new WebhookRepo(trx, this.endpointCache);
  }

  async transaction<T>(work: (repo: WebhookRepo) => Promise<T>): Promise<T> {
    let inside: WebhookRepo | undefined;
    try {
      return await this.db.transaction().execute((trx) => {
        inside = this.on(trx as unknown as Kysely<Database>);
        return work(inside);
      });
    } finally {
      // Committed or rolled back (and on SQLite, its batch with it): the cache may serve again.
      if (inside?.wroteEndpoints) this.endpointCache?.release();
    }
  }

  /**
   * Runs a write of endpoints with the cache held until it is committed or rolled back: at the end of
   * this transaction, or of the write itself outside one.
   */
  private async changingEndpoints<T>(write: () => Promise<T>): Promise<T> {
    if (!this.endpointCache) return write();
    if (this.db.isTransaction) {
      if (!this.wroteEndpoints) this.endpointCache.hold();
      this.wroteEndpoints = true;
      return write();
    }
    this.endpointCache.hold();
    try {
      return await write();
    } finally {
      this.endpointCache.release();
    }
  }

  // Endpoints

  async insertEndpoint(row: WebhookEndpointsTable): Promise<void> {
    await this.changingEndpoints(() => this.db.insertInto('webhook_endpoints').values(row).execute());
  }

  findEndpoint(projectId: string, id: string): Promise<WebhookEndpointsTable | undefined> {
    return this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  listEndpoints(
    projectId: string,
    options: { after?: string | undefined; limit: number },
  ): Promise<WebhookEndpointsTable[]> {
    let query = this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }

  async countEndpoints(projectId: string): Promise<number> {
    const row = await this.db
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * The enabled endpoints of a project with their filters: who receives a new event. On PostgreSQL the
   * rows are share-locked until the caller commits, so an endpoint disabled or deleted concurrently either
   * waits for the new deliveries (and cancels or deletes them too) or is not seen as enabled; SQLite runs
   * one transaction at a time.
   */
  async enabledEndpoints(projectId: string): Promise<readonly EndpointFilter[]> {
    const cache = this.wroteEndpoints ? null : this.endpointCache;
    const cached = cache?.get(projectId);
    if (cached) return cached;
    const generation = cache?.begin() ?? 0;
    const endpoints = (await endpointsEnabled(this.db, projectId, 1)).rows.map((row) => ({
      id: row.id,
      eventTypes: JSON.parse(row.event_types) as string[],
    }));
    cache?.set(projectId, generation, endpoints);
    return endpoints;
  }

  async updateEndpoint(
    projectId: string,
    id: string,
    changes: Partial<Omit<WebhookEndpointsTable, 'id' | 'project_id' | 'created_at'>>,
  ): Promise<void> {
    await this.changingEndpoints(() =>
      this.db
        .updateTable('webhook_endpoints')
        .set(changes)
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .execute(),
    );
  }

  /**
   * Deletes an endpoint with its deliveries and their attempts (events stay for other endpoints). The
   * endpoint row goes first: on PostgreSQL that waits for transactions enqueueing to it (see
   * enabledEndpoints), so their deliveries are deleted too.
   */
  async deleteEndpoint(projectId: string, id: string): Promise<void> {
    await this.changingEndpoints(() =>
      this.db
        .deleteFrom('webhook_endpoints')
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .execute(),
    );
    await this.db
      .deleteFrom('webhook_attempts')
      .where('project_id', '=', projectId)
      .where('delivery_id', 'in', (eb) =>
        eb
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('project_id', '=', projectId)
          .where('endpoint_id', '=', id),
      )
      .execute();
    await this.db
      .deleteFrom('webhook_deliveries')
      .where('project_id', '=', projectId)
      .where('endpoint_id', '=', id)
      .execute();
  }

  /** Cancels an endpoint's deliveries waiting to be sent (one being sent finishes its attempt). */
  async cancelPending(endpointId: string, now: number): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'canceled', next_attempt_at: null, updated_at: now })
      .where('endpoint_id', '=', endpointId)
      .where(active('webhook_deliveries'))
      .where('status', '=', 'pending')
      .execute();
  }

  /** Disables an enabled endpoint and cancels its pending deliveries; false if it was not enabled. */
  async disableEndpoint(endpointId: string, reason: string, now: number): Promise<boolean> {
    const result = await this.changingEndpoints(() =>
      this.db
        .updateTable('webhook_endpoints')
        .set({ enabled: 0, disabled_reason: reason, updated_at: new Date(now).toISOString() })
        .where('id', '=', endpointId)
        .where('enabled', '=', 1)
        .executeTakeFirst(),
    );
    if (result.numUpdatedRows === 0n) return false;
    await this.cancelPending(endpointId, now);
    return true;
  }

  /** Records a failed attempt's time as the start of the endpoint's failing period unless one is running. */
  async markFailing(
    endpointId: string,
    at: number,
  ): Promise<{ failingSince: number; enabled: boolean } | undefined> {
    await this.db
      .updateTable('webhook_endpoints')
      .set({ failing_since: at })
      .where('id', '=', endpointId)
      .where('failing_since', 'is', null)
      .execute();
    const row = await this.db
      .selectFrom('webhook_endpoints')
      .select(['failing_since', 'enabled'])
      .where('id', '=', endpointId)
      .executeTakeFirst();
    return row && { failingSince: millis(row.failing_since) ?? at, enabled: row.enabled === 1 };
  }

  async markHealthy(endpointId: string): Promise<void> {
    await this.db
      .updateTable('webhook_endpoints')
      .set({ failing_since: null })
      .where('id', '=', endpointId)
      .where('failing_since', 'is not', null)
      .execute();
  }

  // The outbox

  async insertEvent(row: WebhookEventsTable): Promise<void> {
    await this.db.insertInto('webhook_events').values(row).execute();
  }

  async insertDeliveries(rows: WebhookDeliveriesTable[]): Promise<void> {
    if (rows.length > 0) await this.db.insertInto('webhook_deliveries').values(rows).execute();
  }

  // The delivery log

  listDeliveries(
    projectId: string,
    endpointId: string,
    options: { before?: string | undefined; limit: number; status?: DeliveryStatus | undefined },
  ): Promise<WebhookDeliveriesTable[]> {
    let query = this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('endpoint_id', '=', endpointId)
      .orderBy('id', 'desc')
      .limit(options.limit);
    if (options.before) query = query.where('id', '<', options.before);
    if (options.status) query = query.where('status', '=', options.status);
    return query.execute();
  }

  findDelivery(
    projectId: string,
    endpointId: string,
    id: string,
  ): Promise<WebhookDeliveriesTable | undefined> {
    return this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('endpoint_id', '=', endpointId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  attemptsOf(projectId: string, deliveryId: string, limit: number): Promise<WebhookAttemptsTable[]> {
    return this.db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('delivery_id', '=', deliveryId)
      .orderBy('number', 'desc')
      .limit(limit)
      .execute();
  }

  findEvent(projectId: string, id: string): Promise<WebhookEventsTable | undefined> {
    return this.db
      .selectFrom('webhook_events')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /**
   * Makes a delivery due now, unless it is being sent. `failures` sets how many attempts remain on the
   * schedule. Returns whether it changed.
   */
  async requeue(projectId: string, id: string, failures: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', failures, throttles: 0, next_attempt_at: now, updated_at: now })
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('status', '!=', 'delivering')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  // The worker

  /**
   * Deliveries to send now, oldest due first: per enabled endpoint only the head of its queue (its oldest
   * unfinished delivery), so deliveries reach an endpoint one at a time and in order, and a backlog behind
   * a failing head costs one row. `endpointIds` narrows the search to those endpoints.
   */
  dueHeads(now: number, limit: number, endpointIds?: readonly string[]): Promise<DueDelivery[]> {
    let query = this.db
      .selectFrom('webhook_endpoints as e')
      .innerJoin('webhook_deliveries as d', (join) =>
        join.on((eb) =>
          eb(
            'd.id',
            '=',
            eb
              .selectFrom('webhook_deliveries as x')
              .select('x.id')
              .whereRef('x.endpoint_id', '=', 'e.id')
              .where(active('x'))
              .orderBy('x.id')
              .limit(1),
          ),
        ),
      )
      .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
      .select([
        'd.id',
        'd.project_id',
        'd.endpoint_id',
        'd.event_id',
        'd.attempt_count',
        'd.failures',
        'd.throttles',
        'e.url',
        'e.signing',
        'e.secret_box',
        'e.previous_secret_box',
        'e.previous_expires_at',
        'e.rate_limit',
        'e.failing_since',
        'v.body',
      ])
      .where('e.enabled', '=', 1)
      .where((eb) =>
        eb.or([
          eb.and([eb('d.status', '=', 'pending'), eb('d.next_attempt_at', '<=', now)]),
          eb.and([eb('d.status', '=', 'delivering'), eb('d.lease_until', '<', now)]),
        ]),
      )
      .orderBy('d.next_attempt_at')
      .limit(limit);
    if (endpointIds) query = query.where('e.id', 'in', endpointIds);
    return query.execute();
  }

  /**
   * Takes deliveries for sending under a lease: only those still due, so of two replicas claiming the same
   * delivery one gets it (PostgreSQL re-checks the condition on the row it waited for). Returns their ids.
   * A claim lost in a power cut only sends the delivery again (receivers deduplicate by webhook-id), so
   * SQLite commits it without waiting for the disk.
   */
  async claim(ids: readonly string[], owner: string, leaseUntil: number, now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'delivering', lease_owner: owner, lease_until: leaseUntil, updated_at: now })
      .where('id', 'in', ids)
      .where((eb) => due(eb, now))
      .returning('id')
      .modifyEnd(relaxedDurability)
      .execute();
    return rows.map((row) => row.id);
  }

  /** Records an attempt's result, if the lease is still ours; false when it is not (taken over, deleted). */
  async finishAttempt(
    id: string,
    owner: string,
    update: Pick<
      WebhookDeliveriesTable,
      | 'status'
      | 'attempt_count'
      | 'failures'
      | 'throttles'
      | 'next_attempt_at'
      | 'last_attempt_at'
      | 'last_status_code'
      | 'last_error'
      | 'updated_at'
    >,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({ ...update, lease_owner: null, lease_until: null })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'delivering')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async insertAttempt(row: WebhookAttemptsTable): Promise<void> {
    await this.db.insertInto('webhook_attempts').values(row).execute();
  }

  /** Gives a delivery back unattempted (the server is stopping): due again at once. */
  async release(id: string, owner: string, now: number): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', lease_owner: null, lease_until: null, next_attempt_at: now, updated_at: now })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'delivering')
      .execute();
  }

  /** Deletes up to `limit` finished deliveries created before `cutoff`, with their attempts; returns how many. */
  async purgeDeliveries(cutoff: number, limit: number): Promise<number> {
    const old = await this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('created_at', '<', cutoff)
      .where('status', 'in', ['succeeded', 'failed', 'canceled'])
      .limit(limit)
      .execute();
    const ids = old.map((row) => row.id);
    if (ids.length > 0) {
      await this.db.deleteFrom('webhook_attempts').where('delivery_id', 'in', ids).execute();
      await this.db.deleteFrom('webhook_deliveries').where('id', 'in', ids).execute();
    }
    return ids.length;
  }

  /** Deletes the events created before `cutoff` that no delivery refers to any more. */
  async purgeEvents(cutoff: number): Promise<void> {
    await this.db
      .deleteFrom('webhook_events')
      .where('created_at', '<', cutoff)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('webhook_deliveries as d')
              .select('d.id')
              .whereRef('d.event_id', '=', 'webhook_events.id')
              .where('d.created_at', '<', cutoff),
          ),
        ),
      )
      .execute();
  }
}
