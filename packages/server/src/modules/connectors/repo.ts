import { type Kysely, sql } from 'kysely';
import type { ConnectorRunsTable, ConnectorsTable, Database } from '../../store/schema.js';
import type { ConnectorConfig } from './config.js';

/** A connector row with its numbers as numbers (PostgreSQL returns bigints as strings). */
export interface ConnectorRow {
  id: string;
  projectId: string;
  name: string;
  config: ConnectorConfig;
  sealedSecrets: string | null;
  createdAt: number;
  updatedAt: number;
  health: {
    status: 'unknown' | 'healthy' | 'unhealthy';
    checkedAt: number | null;
    statusCode: number | null;
    reason: string | null;
    consecutiveFailures: number;
  };
}

export interface RunRow {
  id: string;
  projectId: string;
  connectorId: string;
  kind: string;
  at: number;
  statusCode: number | null;
  durationMs: number;
  success: boolean;
  reason: string | null;
  detail: string | null;
}

/** Runs kept per connector; older ones are deleted as new ones arrive. */
export const RUNS_KEPT = 500;

function toConnector(row: ConnectorsTable): ConnectorRow {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    config: JSON.parse(row.config) as ConnectorConfig,
    sealedSecrets: row.sealed_secrets,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    health: {
      status: row.health_status as ConnectorRow['health']['status'],
      checkedAt: row.health_checked_at === null ? null : Number(row.health_checked_at),
      statusCode: row.health_status_code,
      reason: row.health_reason,
      consecutiveFailures: Number(row.health_failures),
    },
  };
}

function toRun(row: ConnectorRunsTable): RunRow {
  return {
    id: row.id,
    projectId: row.project_id,
    connectorId: row.connector_id,
    kind: row.kind,
    at: Number(row.at),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    durationMs: Number(row.duration_ms),
    success: Number(row.success) === 1,
    reason: row.reason,
    detail: row.detail,
  };
}

/** A quota window: its counter's key and limit. */
export interface QuotaWindow {
  period: string;
  limit: number;
}

/** The connectors, connector_runs and connector_usage tables. Only the connectors module calls this. */
export class ConnectorsRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: ConnectorsRepo) => Promise<T>): Promise<T> {
    return this.db
      .transaction()
      .execute((trx) => work(new ConnectorsRepo(trx as unknown as Kysely<Database>)));
  }

  async insert(row: ConnectorRow): Promise<void> {
    await this.db
      .insertInto('connectors')
      .values({
        id: row.id,
        project_id: row.projectId,
        name: row.name,
        config: JSON.stringify(row.config),
        sealed_secrets: row.sealedSecrets,
        created_at: row.createdAt,
        updated_at: row.updatedAt,
        health_status: row.health.status,
        health_checked_at: row.health.checkedAt,
        health_status_code: row.health.statusCode,
        health_reason: row.health.reason,
        health_failures: row.health.consecutiveFailures,
      })
      .execute();
  }

  async get(projectId: string, id: string): Promise<ConnectorRow | undefined> {
    const row = await this.db
      .selectFrom('connectors')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toConnector(row);
  }

  async list(projectId: string, page: { after: string | undefined; limit: number }): Promise<ConnectorRow[]> {
    let query = this.db.selectFrom('connectors').selectAll().where('project_id', '=', projectId);
    if (page.after !== undefined) query = query.where('id', '>', page.after);
    const rows = await query.orderBy('id').limit(page.limit).execute();
    return rows.map(toConnector);
  }

  /** Writes a changed configuration unless the row changed since `updatedAt` was read; false then. */
  async update(
    row: Pick<ConnectorRow, 'id' | 'projectId' | 'name' | 'config' | 'sealedSecrets' | 'updatedAt'>,
    readAt: number,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('connectors')
      .set({
        name: row.name,
        config: JSON.stringify(row.config),
        sealed_secrets: row.sealedSecrets,
        updated_at: row.updatedAt,
      })
      .where('project_id', '=', row.projectId)
      .where('id', '=', row.id)
      .where('updated_at', '=', readAt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Deletes a connector with its runs and usage counters; false when there was none. */
  async delete(projectId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('connectors')
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(result.numDeletedRows) !== 1) return false;
    await this.db.deleteFrom('connector_runs').where('connector_id', '=', id).execute();
    await this.db.deleteFrom('connector_usage').where('connector_id', '=', id).execute();
    return true;
  }

  async recordHealth(
    projectId: string,
    id: string,
    check: { healthy: boolean; at: number; statusCode: number | null; reason: string | null },
  ): Promise<void> {
    await this.db
      .updateTable('connectors')
      .set({
        health_status: check.healthy ? 'healthy' : 'unhealthy',
        health_checked_at: check.at,
        health_status_code: check.statusCode,
        health_reason: check.reason,
        health_failures: check.healthy ? 0 : sql<number>`health_failures + 1`,
      })
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .execute();
  }

  /** Appends a run and drops the connector's runs beyond the newest RUNS_KEPT. */
  async insertRun(run: RunRow): Promise<void> {
    await this.db
      .insertInto('connector_runs')
      .values({
        id: run.id,
        project_id: run.projectId,
        connector_id: run.connectorId,
        kind: run.kind,
        at: run.at,
        status_code: run.statusCode,
        duration_ms: run.durationMs,
        success: run.success ? 1 : 0,
        reason: run.reason,
        detail: run.detail,
      })
      .execute();
    const oldestKept = await this.db
      .selectFrom('connector_runs')
      .select('id')
      .where('connector_id', '=', run.connectorId)
      .orderBy('id', 'desc')
      .offset(RUNS_KEPT - 1)
      .limit(1)
      .executeTakeFirst();
    if (oldestKept) {
      await this.db
        .deleteFrom('connector_runs')
        .where('connector_id', '=', run.connectorId)
        .where('id', '<', oldestKept.id)
        .execute();
    }
  }

  /** A connector's runs, newest first. */
  async listRuns(
    projectId: string,
    connectorId: string,
    page: { before: string | undefined; limit: number },
  ): Promise<RunRow[]> {
    let query = this.db
      .selectFrom('connector_runs')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('connector_id', '=', connectorId);
    if (page.before !== undefined) query = query.where('id', '<', page.before);
    const rows = await query.orderBy('id', 'desc').limit(page.limit).execute();
    return rows.map(toRun);
  }

  /**
   * Counts one request in every window, atomically: a window at its limit is not incremented and the
   * whole reservation is rolled back, so concurrent runs never take more than the quota. Returns the
   * first window that was full, or null when the request may go.
   */
  async reserve(projectId: string, connectorId: string, windows: QuotaWindow[]): Promise<QuotaWindow | null> {
    if (windows.length === 0) return null;
    class Full extends Error {
      constructor(readonly window: QuotaWindow) {
        super('quota window full');
      }
    }
    try {
      await this.transaction(async (repo) => {
        for (const window of windows) {
          const counted = await repo.db
            .insertInto('connector_usage')
            .values({ connector_id: connectorId, period: window.period, project_id: projectId, count: 1 })
            .onConflict((conflict) =>
              conflict
                .columns(['connector_id', 'period'])
                .doUpdateSet({ count: sql<number>`connector_usage.count + 1` })
                .where('connector_usage.count', '<', window.limit),
            )
            .returning('count')
            .executeTakeFirst();
          if (!counted) throw new Full(window);
        }
      });
      return null;
    } catch (error) {
      if (error instanceof Full) return error.window;
      throw error;
    }
  }

  /** How many requests the given windows have counted. */
  async usage(connectorId: string, periods: string[]): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('connector_usage')
      .select(['period', 'count'])
      .where('connector_id', '=', connectorId)
      .where('period', 'in', periods)
      .execute();
    return new Map(rows.map((row) => [row.period, Number(row.count)]));
  }
}
