import { v7 as uuidv7 } from 'uuid';
import type { RateLimiter } from '../../http/rate-limit.js';
import { type CompiledConnector, type ConnectorConfig, renderRequest } from './config.js';
import type { ExpressionEvaluator } from './evaluator.js';
import { claimsProblem, evaluationFailure } from './expressions.js';
import { callApi, type OutboundResponse } from './outbound.js';
import type { ConnectorsRepo, QuotaWindow } from './repo.js';
import type { FAILURE_REASONS, RUN_KINDS } from './schemas.js';

export type FailureReason = (typeof FAILURE_REASONS)[number];
export type RunKind = (typeof RUN_KINDS)[number];

/** What one run of a connector gave. Safe to show and log: no secrets, no input values, no response body. */
export interface RunOutcome {
  success: boolean;
  statusCode: number | null;
  durationMs: number;
  /** The mapping's claims on success; {} otherwise. */
  claims: Record<string, unknown>;
  reason?: FailureReason;
  detail?: string;
  /** rate_limited and quota_exceeded: seconds until a request may go again. */
  retryAfterSeconds?: number;
}

/** A connector ready to run: its configuration, parsed templates and opened secrets. */
export interface LoadedConnector {
  id: string;
  projectId: string;
  config: ConnectorConfig;
  compiled: CompiledConnector;
  secrets: Record<string, string>;
}

export interface RunnerDeps {
  repo: ConnectorsRepo;
  limiter: RateLimiter;
  evaluator: ExpressionEvaluator;
  fetch: typeof fetch;
  now: () => Date;
}

/** The UTC day and month counters a request counts in: `d:2026-05-01`, `m:2026-05`. */
export function quotaPeriods(now: Date): { day: string; month: string } {
  const iso = now.toISOString();
  return { day: `d:${iso.slice(0, 10)}`, month: `m:${iso.slice(0, 7)}` };
}

/** Seconds from `now` until the window of `period` ends (the next UTC midnight or first of a month). */
function secondsUntilReset(period: string, now: Date): number {
  const end = period.startsWith('d:')
    ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
    : Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((end - now.getTime()) / 1000));
}

/**
 * Runs connectors: rate limit, quota, the request, the success rule and the mapping, then one entry in the
 * run log. Remote failures are outcomes, never exceptions; input that does not fit the templates throws
 * TemplateInputError before anything is spent.
 */
export class ConnectorRunner {
  constructor(private readonly deps: RunnerDeps) {}

  /** The main request with `input`: success rule, then mapping to claims. */
  async run(connector: LoadedConnector, input: Record<string, unknown>, kind: RunKind): Promise<RunOutcome> {
    const request = renderRequest(connector.compiled, { input, secrets: connector.secrets });
    const outcome = await this.guarded(connector, async () => {
      const called = await callApi(this.deps.fetch, {
        method: connector.config.method,
        ...request,
        timeoutMs: connector.config.timeoutMs,
      });
      if (!called.ok) {
        return failed(called.reason, called.detail, called.durationMs, called.status ?? null);
      }
      const judged = await this.judge(connector.config, called.response, input);
      return { ...judged, statusCode: called.response.status, durationMs: called.durationMs };
    });
    await this.record(connector, kind, outcome);
    return outcome;
  }

  /**
   * The health check: the configured health request (healthy when it answers the expected status), or
   * else the main request with the sample input. The caller makes sure one of them is configured.
   */
  async health(connector: LoadedConnector): Promise<RunOutcome> {
    const health = connector.compiled.health;
    if (!health) return this.run(connector, connector.config.sampleInput ?? {}, 'health');
    const request = renderRequest(
      connector.compiled,
      { input: {}, secrets: connector.secrets },
      { url: health.url, withBody: false },
    );
    const outcome = await this.guarded(connector, async () => {
      const called = await callApi(this.deps.fetch, {
        method: health.method,
        ...request,
        timeoutMs: connector.config.timeoutMs,
      });
      if (!called.ok) return failed(called.reason, called.detail, called.durationMs, called.status ?? null);
      const status = called.response.status;
      if (status === health.expectStatus) {
        return { success: true, statusCode: status, durationMs: called.durationMs, claims: {} };
      }
      return failed(
        'connector_error',
        `the health request answered HTTP ${status}, not ${health.expectStatus}`,
        called.durationMs,
        status,
      );
    });
    await this.record(connector, 'health', outcome);
    return outcome;
  }

  /** Takes a rate-limit token and a quota slot, then does `call`; refusals are outcomes. */
  private async guarded(connector: LoadedConnector, call: () => Promise<RunOutcome>): Promise<RunOutcome> {
    const { rateLimit, quota } = connector.config;
    const taken = await this.deps.limiter.take(`connector:${connector.id}`, rateLimit);
    if (!taken.allowed) {
      return {
        ...failed(
          'rate_limited',
          `the connector's rate limit (${rateLimit.perSecond}/s, burst ${rateLimit.burst}) is reached`,
          0,
          null,
        ),
        retryAfterSeconds: taken.retryAfterSeconds,
      };
    }
    const now = this.deps.now();
    const periods = quotaPeriods(now);
    const windows: QuotaWindow[] = [];
    if (quota.perDay !== undefined) windows.push({ period: periods.day, limit: quota.perDay });
    if (quota.perMonth !== undefined) windows.push({ period: periods.month, limit: quota.perMonth });
    const full = await this.deps.repo.reserve(connector.projectId, connector.id, windows);
    if (full) {
      const which = full.period.startsWith('d:') ? 'daily' : 'monthly';
      return {
        ...failed(
          'quota_exceeded',
          `the connector's ${which} quota of ${full.limit} requests is used up`,
          0,
          null,
        ),
        retryAfterSeconds: secondsUntilReset(full.period, now),
      };
    }
    return call();
  }

  /** The success rule (default: a 2xx status), then the mapping. */
  private async judge(
    config: ConnectorConfig,
    response: OutboundResponse,
    input: Record<string, unknown>,
  ): Promise<Pick<RunOutcome, 'success' | 'claims' | 'reason' | 'detail'>> {
    const document = { status: response.status, body: response.body };
    const bindings = { input };
    if (config.successRule === undefined) {
      if (response.status < 200 || response.status > 299) {
        return {
          success: false,
          claims: {},
          reason: 'rule_failed',
          detail: `the API answered HTTP ${response.status}`,
        };
      }
    } else {
      const rule = await this.deps.evaluator.evaluate(config.successRule, document, bindings);
      if (!rule.ok) {
        return {
          success: false,
          claims: {},
          reason: 'rule_failed',
          detail: `the success rule ${evaluationFailure(rule)}`,
        };
      }
      if (rule.value !== true) {
        const got =
          typeof rule.value === 'boolean'
            ? 'false'
            : `a ${rule.value === undefined ? 'missing' : typeof rule.value} value, not a boolean`;
        return {
          success: false,
          claims: {},
          reason: 'rule_failed',
          detail: `the success rule gave ${got} (HTTP ${response.status})`,
        };
      }
    }
    if (config.mapping === undefined) return { success: true, claims: {} };
    const mapped = await this.deps.evaluator.evaluate(config.mapping, document, bindings);
    if (!mapped.ok) {
      return {
        success: false,
        claims: {},
        reason: 'mapping_failed',
        detail: `the mapping ${evaluationFailure(mapped)}`,
      };
    }
    const problem = claimsProblem(mapped.value);
    if (problem)
      return { success: false, claims: {}, reason: 'mapping_failed', detail: `the mapping ${problem}` };
    return { success: true, claims: mapped.value as Record<string, unknown> };
  }

  private async record(connector: LoadedConnector, kind: RunKind, outcome: RunOutcome): Promise<void> {
    await this.deps.repo.insertRun({
      id: uuidv7().replace(/-/g, ''),
      projectId: connector.projectId,
      connectorId: connector.id,
      kind,
      at: this.deps.now().getTime(),
      statusCode: outcome.statusCode,
      durationMs: outcome.durationMs,
      success: outcome.success,
      reason: outcome.reason ?? null,
      detail: outcome.detail ?? null,
    });
  }
}

function failed(
  reason: FailureReason,
  detail: string,
  durationMs: number,
  statusCode: number | null,
): RunOutcome {
  return { success: false, statusCode, durationMs, claims: {}, reason, detail };
}
