import { createHash } from 'node:crypto';
import type { Static } from 'typebox';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { Problem } from '../../http/problem.js';
import { publicFetch } from '../../http/public-fetch.js';
import type { RateLimiter } from '../../http/rate-limit.js';
import { isId, newId } from '../../ids.js';
import type { AuditService } from '../audit/service.js';
import type { CredentialsService } from '../credentials/service.js';
import { SecretBox } from '../identity/secret-box.js';
import type { IssuersService } from '../issuers/service.js';
import type { Principal } from '../policy/model.js';
import type { Project, TenancyService } from '../tenancy/service.js';
import { type ConnectorConfig, compileConfig, DEFAULTS } from './config.js';
import type { ExpressionEvaluator } from './evaluator.js';
import type { ConnectorRow, ConnectorsRepo } from './repo.js';
import {
  ConnectorRunner,
  type FailureReason,
  type LoadedConnector,
  quotaPeriods,
  type RunOutcome,
} from './runner.js';
import type { Connector, CreateConnector, IssueFromConnector, Run, UpdateConnector } from './schemas.js';
import { type JsonValue, TemplateInputError } from './template.js';

export type ConnectorView = Static<typeof Connector>;
export type RunView = Static<typeof Run>;

/** What a verification check gets from a connector run. */
export interface ConnectorCheckResult {
  success: boolean;
  claims: Record<string, unknown>;
  reason?: FailureReason;
  /** What failed, without secrets or input values. */
  detail?: string;
}

export interface ConnectorServiceDeps {
  repo: ConnectorsRepo;
  tenancy: TenancyService;
  issuers: IssuersService;
  credentials: CredentialsService;
  audit: AuditService;
  limiter: RateLimiter;
  evaluator: ExpressionEvaluator;
  masterKey: Uint8Array;
  /** PERSONA_OUTBOUND_TRUSTED_HOSTS: hosts exempt from the public-address rule (and allowed over http). */
  trustedHosts: readonly string[];
  /** Tests may inject one; default: publicFetch with the trusted hosts. */
  fetch?: typeof fetch;
  now?: () => Date;
}

const CONNECTOR_ID = /^con_[0-9a-f]{32}$/;
const RUN_ID = /^[0-9a-f]{32}$/;
/**
 * VC 2.0, plus its undefined-terms context: VC 2.0 has no `@vocab`, and mapped claims (and the credential
 * type) are names no vocabulary defines; this maps them under https://www.w3.org/ns/credentials/undefined-term#
 * so Data Integrity's JSON-LD processing keeps them instead of refusing them.
 */
const CONTEXTS = [
  'https://www.w3.org/ns/credentials/v2',
  'https://www.w3.org/ns/credentials/undefined-terms/v2',
];

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * HTTP connectors: a project describes a request to any JSON API (URL, headers and body templates, secrets
 * kept encrypted), a JSONata mapping from the response to claims and a success rule; a connector runs as a
 * verification check (runCheck) or issues a credential with the mapped claims. Outbound requests go only
 * to public HTTPS hosts or hosts the operator trusts, within per-connector rate limits and quotas.
 */
export class ConnectorService {
  private readonly repo: ConnectorsRepo;
  private readonly box: SecretBox;
  private readonly runner: ConnectorRunner;
  private readonly now: () => Date;

  constructor(private readonly deps: ConnectorServiceDeps) {
    this.repo = deps.repo;
    this.box = new SecretBox(deps.masterKey, 'connector secrets');
    this.now = deps.now ?? (() => new Date());
    this.runner = new ConnectorRunner({
      repo: deps.repo,
      limiter: deps.limiter,
      evaluator: deps.evaluator,
      fetch: deps.fetch ?? publicFetch({ trustedHosts: deps.trustedHosts, httpForTrustedHosts: true }),
      now: this.now,
    });
  }

  async create(principal: Principal, projectId: string, input: CreateConnector): Promise<ConnectorView> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'connectors:write');
    const config: ConnectorConfig = withDefaults(input);
    const secrets = input.secrets ?? {};
    this.check(config, secrets);
    await this.checkIssuer(principal, project, config);
    const id = newId('con');
    const at = this.now().getTime();
    const row: ConnectorRow = {
      id,
      projectId: project.id,
      name: input.name.trim(),
      config,
      sealedSecrets: await this.seal(id, secrets),
      createdAt: at,
      updatedAt: at,
      health: { status: 'unknown', checkedAt: null, statusCode: null, reason: null, consecutiveFailures: 0 },
    };
    await this.repo.transaction(async (repo) => {
      await repo.insert(row);
      await this.deps.audit.record(repo.db, {
        type: 'connector.created',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: id,
        details: { configHash: sha256(JSON.stringify(config)), secrets: Object.keys(secrets).length },
      });
    });
    this.deps.audit.committed();
    return this.view(row);
  }

  async list(
    principal: Principal,
    projectId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<ConnectorView>> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'connectors:read');
    const after = decodeCursor(page.cursor, CONNECTOR_ID);
    const rows = await this.repo.list(project.id, { after, limit: page.limit + 1 });
    const views = await Promise.all(rows.map((row) => this.view(row)));
    return toPage(views, page.limit);
  }

  async get(principal: Principal, projectId: string, connectorId: string): Promise<ConnectorView> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'connectors:read');
    return this.view(await this.row(project.id, connectorId));
  }

  async update(
    principal: Principal,
    projectId: string,
    connectorId: string,
    patch: UpdateConnector,
  ): Promise<ConnectorView> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'connectors:write');
    const current = await this.row(project.id, connectorId);
    const config = applyPatch(current.config, patch);
    const secrets = await this.open(current);
    for (const [name, value] of Object.entries(patch.secrets ?? {})) {
      if (value === null) delete secrets[name];
      else secrets[name] = value;
    }
    this.check(config, secrets);
    if (patch.credential !== undefined) await this.checkIssuer(principal, project, config);
    const updated = {
      id: current.id,
      projectId: project.id,
      name: patch.name?.trim() ?? current.name,
      config,
      sealedSecrets: await this.seal(current.id, secrets),
      // Strictly later, so the next update's check of what it read sees this one.
      updatedAt: Math.max(this.now().getTime(), current.updatedAt + 1),
    };
    await this.repo.transaction(async (repo) => {
      if (!(await repo.update(updated, current.updatedAt))) {
        throw new Problem(
          'conflict',
          'The connector was changed by another request meanwhile; nothing was changed.',
        );
      }
      await this.deps.audit.record(repo.db, {
        type: 'connector.updated',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: current.id,
        details: {
          configHash: sha256(JSON.stringify(config)),
          secrets: Object.keys(secrets).length,
          fields: Object.keys(patch).sort(),
        },
      });
    });
    this.deps.audit.committed();
    return this.view({ ...current, ...updated });
  }

  async remove(principal: Principal, projectId: string, connectorId: string): Promise<void> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'connectors:write');
    await this.repo.transaction(async (repo) => {
      if (!isId('con', connectorId) || !(await repo.delete(project.id, connectorId))) {
        throw new Problem('not-found', `No connector ${connectorId}.`);
      }
      await this.deps.audit.record(repo.db, {
        type: 'connector.deleted',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: connectorId,
      });
    });
    this.deps.audit.committed();
  }

  /** Runs the connector with `input` and says what happened, without issuing anything. */
  async test(
    principal: Principal,
    projectId: string,
    connectorId: string,
    input: Record<string, unknown>,
  ): Promise<RunOutcome> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'connectors:run');
    const connector = await this.load(project.id, connectorId);
    const outcome = await this.runForApi(connector, input, 'test');
    refuseIfLimited(outcome);
    return outcome;
  }

  /** Runs the connector and issues a credential with the mapped claims (credentials:issue on the issuer). */
  async issue(
    principal: Principal,
    projectId: string,
    connectorId: string,
    request: IssueFromConnector,
  ): Promise<{ verifiableCredential: Record<string, unknown>; claims: Record<string, unknown> }> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'connectors:run');
    const connector = await this.load(project.id, connectorId);
    const type = connector.config.credential?.type;
    if (type === undefined) {
      throw new Problem(
        'validation-error',
        'The connector has no credential type: set credential.type on it first.',
      );
    }
    const issuerId = request.issuerId ?? connector.config.credential?.issuerId;
    if (issuerId === undefined) {
      throw new Problem(
        'validation-error',
        'No issuer: pass issuerId or set credential.issuerId on the connector.',
        {
          errors: [
            {
              in: 'body',
              pointer: '#/issuerId',
              detail: 'is required (the connector has no default issuer)',
            },
          ],
        },
      );
    }
    // Checked before the run, so that a caller who may not issue spends no request of the quota.
    const issuer = await this.deps.issuers.authorizeIssuer(principal, issuerId, 'credentials:issue');
    if (issuer.projectId !== project.id) throw new Problem('not-found', `No issuer ${issuerId}.`);

    const outcome = await this.runForApi(connector, request.input, 'issue');
    refuseIfLimited(outcome);
    if (!outcome.success) {
      const why = `The connector run failed (${outcome.reason}): ${outcome.detail}.`;
      const extensions = { reason: outcome.reason, upstreamStatus: outcome.statusCode };
      if (outcome.reason === 'connector_error' || outcome.reason === 'connector_timeout') {
        throw new Problem('unavailable', why, { extensions });
      }
      throw new Problem('credential-rejected', why, { extensions });
    }
    const credential = {
      '@context': CONTEXTS,
      type: ['VerifiableCredential', type],
      issuer: issuer.did,
      validFrom: new Date(Math.floor(this.now().getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      credentialSubject: {
        ...(request.subjectId === undefined ? {} : { id: request.subjectId }),
        ...outcome.claims,
      },
    };
    const { verifiableCredential } = await this.deps.credentials.issue(principal, issuerId, {
      credential,
      options: request.options,
    });
    await this.deps.audit.recordAlone({
      type: 'connector.issued',
      orgId: project.orgId,
      projectId: project.id,
      actor: principal.keyId,
      subject: connector.id,
      details: {
        issuerId,
        credentialType: type,
        credentialHash: sha256(JSON.stringify(verifiableCredential)),
      },
    });
    return { verifiableCredential, claims: outcome.claims };
  }

  /** Runs the health check now and records it; answers the connector's health. */
  async checkHealth(
    principal: Principal,
    projectId: string,
    connectorId: string,
  ): Promise<ConnectorView['health']> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'connectors:run');
    const connector = await this.load(project.id, connectorId);
    if (!connector.config.healthCheck && connector.config.sampleInput === undefined) {
      throw new Problem(
        'validation-error',
        'The connector has no health check: configure healthCheck (a request that needs no input) or ' +
          'sampleInput (input to run the main request with).',
      );
    }
    const outcome = await this.runner.health(connector);
    refuseIfLimited(outcome);
    await this.repo.recordHealth(project.id, connector.id, {
      healthy: outcome.success,
      at: this.now().getTime(),
      statusCode: outcome.statusCode,
      reason: outcome.success ? null : `${outcome.reason}: ${outcome.detail}`,
    });
    return (await this.view(await this.row(project.id, connector.id))).health;
  }

  async runs(
    principal: Principal,
    projectId: string,
    connectorId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<RunView>> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'connectors:read');
    await this.row(project.id, connectorId);
    const before = decodeCursor(page.cursor, RUN_ID);
    const rows = await this.repo.listRuns(project.id, connectorId, { before, limit: page.limit + 1 });
    const { data, nextCursor } = toPage(rows, page.limit);
    return {
      data: data.map((run) => ({
        at: iso(run.at),
        kind: run.kind as RunView['kind'],
        success: run.success,
        statusCode: run.statusCode,
        durationMs: run.durationMs,
        reason: run.reason as RunView['reason'],
        detail: run.detail,
      })),
      nextCursor,
    };
  }

  /**
   * Runs a connector of the project as a verification check (the session was authorized when created).
   * Never throws for remote failures or input that does not fit (success false with a reason); throws
   * Problem not-found for an unknown connector.
   */
  async runCheck(
    projectId: string,
    connectorId: string,
    input: Record<string, unknown>,
  ): Promise<ConnectorCheckResult> {
    let connector: LoadedConnector;
    try {
      connector = await this.load(projectId, connectorId);
    } catch (error) {
      if (!(error instanceof Problem) || error.slug !== 'conflict') throw error;
      return { success: false, claims: {}, reason: 'connector_error', detail: error.message };
    }
    let outcome: RunOutcome;
    try {
      outcome = await this.runner.run(connector, input, 'check');
    } catch (error) {
      if (!(error instanceof TemplateInputError)) throw error;
      return { success: false, claims: {}, reason: 'input_invalid', detail: error.message };
    }
    return {
      success: outcome.success,
      claims: outcome.claims,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
    };
  }

  /** Whether the connector exists in the project. */
  async exists(projectId: string, connectorId: string): Promise<boolean> {
    return isId('con', connectorId) && (await this.repo.get(projectId, connectorId)) !== undefined;
  }

  /** A run; input that does not fit the templates is a 400 naming the input path. */
  private async runForApi(
    connector: LoadedConnector,
    input: Record<string, unknown>,
    kind: 'test' | 'issue',
  ): Promise<RunOutcome> {
    try {
      return await this.runner.run(connector, input, kind);
    } catch (error) {
      if (!(error instanceof TemplateInputError)) throw error;
      throw new Problem('validation-error', `The input does not fit the connector: ${error.message}.`, {
        errors: [{ in: 'body', pointer: error.pointer, detail: error.message }],
      });
    }
  }

  private async row(projectId: string, connectorId: string): Promise<ConnectorRow> {
    const row = isId('con', connectorId) ? await this.repo.get(projectId, connectorId) : undefined;
    if (!row) throw new Problem('not-found', `No connector ${connectorId}.`);
    return row;
  }

  /** A connector ready to run. Its configuration was valid when saved; trusted hosts may have changed since. */
  private async load(projectId: string, connectorId: string): Promise<LoadedConnector> {
    const row = await this.row(projectId, connectorId);
    const secrets = await this.open(row);
    const { errors, compiled } = compileConfig(row.config, secrets, this.deps.trustedHosts);
    if (!compiled) {
      const first = errors[0];
      throw new Problem(
        'conflict',
        `The connector's configuration is no longer valid on this server: ${first ? `${first.pointer.slice(2)} ${first.detail}` : 'it does not compile'}. Update it.`,
      );
    }
    return { id: row.id, projectId: row.projectId, config: row.config, compiled, secrets };
  }

  private check(config: ConnectorConfig, secrets: Record<string, string>): void {
    const { errors } = compileConfig(config, secrets, this.deps.trustedHosts);
    if (errors.length > 0) {
      const where = errors.map((error) => `${error.pointer.slice(1)} ${error.detail}`).join('; ');
      throw new Problem('validation-error', `The connector is not valid: ${where}`, { errors });
    }
  }

  /** The default issuer, when set, must be one of the project's. */
  private async checkIssuer(principal: Principal, project: Project, config: ConnectorConfig): Promise<void> {
    const issuerId = config.credential?.issuerId;
    if (issuerId === undefined) return;
    try {
      await this.deps.issuers.getIssuer(principal, project.id, issuerId);
    } catch (error) {
      if (!(error instanceof Problem) || error.slug !== 'not-found') throw error;
      throw new Problem('validation-error', `The project has no issuer ${issuerId}.`, {
        errors: [
          { in: 'body', pointer: '#/credential/issuerId', detail: 'is not an issuer of this project' },
        ],
      });
    }
  }

  private async seal(id: string, secrets: Record<string, string>): Promise<string | null> {
    if (Object.keys(secrets).length === 0) return null;
    return this.box.seal(new TextEncoder().encode(JSON.stringify(secrets)), id);
  }

  private async open(row: ConnectorRow): Promise<Record<string, string>> {
    if (row.sealedSecrets === null) return {};
    return JSON.parse(new TextDecoder().decode(await this.box.open(row.sealedSecrets, row.id))) as Record<
      string,
      string
    >;
  }

  private async view(row: ConnectorRow): Promise<ConnectorView> {
    const periods = quotaPeriods(this.now());
    const usage = await this.repo.usage(row.id, [periods.day, periods.month]);
    const secretNames = row.sealedSecrets === null ? [] : Object.keys(await this.open(row)).sort();
    const { config } = row;
    return {
      id: row.id,
      projectId: row.projectId,
      name: row.name,
      method: config.method,
      urlTemplate: config.urlTemplate,
      headers: config.headers,
      ...(config.bodyTemplate === undefined ? {} : { bodyTemplate: config.bodyTemplate }),
      secrets: secretNames,
      ...(config.mapping === undefined ? {} : { mapping: config.mapping }),
      ...(config.successRule === undefined ? {} : { successRule: config.successRule }),
      ...(config.credential === undefined ? {} : { credential: config.credential }),
      timeoutMs: config.timeoutMs,
      rateLimit: config.rateLimit,
      quota: config.quota,
      ...(config.healthCheck === undefined ? {} : { healthCheck: config.healthCheck }),
      ...(config.sampleInput === undefined ? {} : { sampleInput: config.sampleInput }),
      health: {
        status: row.health.status,
        checkedAt: row.health.checkedAt === null ? null : iso(row.health.checkedAt),
        statusCode: row.health.statusCode,
        reason: row.health.reason,
        consecutiveFailures: row.health.consecutiveFailures,
      },
      usage: { today: usage.get(periods.day) ?? 0, thisMonth: usage.get(periods.month) ?? 0 },
      createdAt: iso(row.createdAt),
      updatedAt: iso(row.updatedAt),
    };
  }
}

/** Rate limit and quota refusals are 429s with Retry-After on the API. */
function refuseIfLimited(outcome: RunOutcome): void {
  if (outcome.reason !== 'rate_limited' && outcome.reason !== 'quota_exceeded') return;
  throw new Problem('rate-limited', `${outcome.detail}; retry in ${outcome.retryAfterSeconds} s.`, {
    headers: { 'retry-after': String(outcome.retryAfterSeconds ?? 1) },
    extensions: { reason: outcome.reason },
  });
}

function withDefaults(input: CreateConnector): ConnectorConfig {
  return {
    method: input.method ?? DEFAULTS.method,
    urlTemplate: input.urlTemplate,
    headers: input.headers ?? [],
    // A body of JSON null is no body, as in an update.
    ...(input.bodyTemplate === undefined || input.bodyTemplate === null
      ? {}
      : { bodyTemplate: input.bodyTemplate as JsonValue }),
    ...(input.mapping === undefined ? {} : { mapping: input.mapping }),
    ...(input.successRule === undefined ? {} : { successRule: input.successRule }),
    ...(input.credential === undefined ? {} : { credential: input.credential }),
    timeoutMs: input.timeoutMs ?? DEFAULTS.timeoutMs,
    rateLimit: input.rateLimit ?? { ...DEFAULTS.rateLimit },
    quota: input.quota ?? {},
    ...(input.healthCheck === undefined ? {} : { healthCheck: healthCheckOf(input.healthCheck) }),
    ...(input.sampleInput === undefined ? {} : { sampleInput: input.sampleInput }),
  };
}

function healthCheckOf(
  input: NonNullable<CreateConnector['healthCheck']>,
): NonNullable<ConnectorConfig['healthCheck']> {
  return {
    method: input.method ?? 'GET',
    urlTemplate: input.urlTemplate,
    expectStatus: input.expectStatus ?? DEFAULTS.healthExpectStatus,
  };
}

/** The configuration with a patch applied: absent fields stay, null removes an optional one. */
function applyPatch(current: ConnectorConfig, patch: UpdateConnector): ConnectorConfig {
  const next: ConnectorConfig = structuredClone(current);
  if (patch.method !== undefined) next.method = patch.method;
  if (patch.urlTemplate !== undefined) next.urlTemplate = patch.urlTemplate;
  if (patch.headers !== undefined) next.headers = patch.headers;
  if (patch.timeoutMs !== undefined) next.timeoutMs = patch.timeoutMs;
  if (patch.rateLimit !== undefined) next.rateLimit = patch.rateLimit;
  if (patch.quota !== undefined) next.quota = patch.quota;
  if (patch.bodyTemplate !== undefined) {
    if (patch.bodyTemplate === null) delete next.bodyTemplate;
    else next.bodyTemplate = patch.bodyTemplate as JsonValue;
  }
  for (const field of ['mapping', 'successRule'] as const) {
    const value = patch[field];
    if (value === null) delete next[field];
    else if (value !== undefined) next[field] = value;
  }
  if (patch.credential === null) delete next.credential;
  else if (patch.credential !== undefined) next.credential = patch.credential;
  if (patch.healthCheck === null) delete next.healthCheck;
  else if (patch.healthCheck !== undefined) next.healthCheck = healthCheckOf(patch.healthCheck);
  if (patch.sampleInput === null) delete next.sampleInput;
  else if (patch.sampleInput !== undefined) next.sampleInput = patch.sampleInput;
  return next;
}
