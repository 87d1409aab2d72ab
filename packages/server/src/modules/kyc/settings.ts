import {
  type EnvelopeKeyPair,
  envelopeKeyId,
  generateEnvelopeKeyPair,
  toBase64Url,
} from '@personachain/crypto';
import { invalidField, Problem } from '../../http/problem.js';
import { outboundUrlProblem } from '../../http/public-fetch.js';
import { newId } from '../../ids.js';
import type { AuditService } from '../audit/service.js';
import { SecretBox } from '../identity/secret-box.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import { PROVIDER_CAPABILITIES } from './providers/index.js';
import { PROVIDER_KINDS, type ProviderKind, type ProviderSettings } from './providers/types.js';
import type { KycRepo, ProviderRow, SettingsRow } from './repo.js';
import { checkRules, type ProviderChoice, type RoutingRule } from './routing.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A project's verification settings as the API shows them. */
export interface VerificationSettings {
  issuerId: string | null;
  credentialType: string;
  txCode: boolean;
  retentionSeconds: number;
  maxAttempts: number;
  sessionTtlSeconds: number;
  routingRules: RoutingRule[];
  /** The X-Wing public key clients seal documents to. */
  encryptionKey: { suite: 'X-Wing'; publicKey: string; keyId: string };
}

export type SettingsUpdate = Partial<Omit<VerificationSettings, 'encryptionKey'>>;

export const DEFAULT_SETTINGS = {
  credentialType: 'IdentityVerificationCredential',
  txCode: true,
  retentionSeconds: 7 * 86_400,
  maxAttempts: 3,
  sessionTtlSeconds: 86_400,
} as const;

/** A configured provider as the API shows it: secret names, never values. */
export interface ProviderView {
  id: string;
  kind: ProviderKind;
  name: string;
  /** Null for the built-in local provider. */
  baseUrl: string | null;
  secretNames: string[];
  options: Record<string, string>;
  priority: number;
  costCents: number;
  timeoutMs: number;
  maxRetries: number;
  enabled: boolean;
  webhookUrl: string;
  createdAt: string;
  updatedAt: string;
}

export interface ProviderInput {
  kind: ProviderKind;
  name: string;
  baseUrl?: string;
  secrets?: Record<string, string>;
  options?: Record<string, string>;
  priority?: number;
  costCents?: number;
  timeoutMs?: number;
  maxRetries?: number;
  enabled?: boolean;
}

/** The vendors' production APIs; a project may point a configuration elsewhere (region, sandbox, proxy). */
const DEFAULT_BASE_URLS: Record<ProviderKind, string> = {
  onfido: 'https://api.eu.onfido.com/v3.6',
  sumsub: 'https://api.sumsub.com',
  veriff: 'https://stationapi.veriff.com',
  persona: 'https://api.withpersona.com/api/v1',
  // Built in: it calls nothing.
  local: '',
};

const REQUIRED_SECRETS: Record<ProviderKind, readonly string[]> = {
  onfido: ['apiToken', 'webhookToken'],
  sumsub: ['appToken', 'secretKey', 'webhookSecret'],
  veriff: ['apiKey', 'sharedSecret'],
  persona: ['apiKey', 'webhookSecret'],
  local: [],
};

const REQUIRED_OPTIONS: Record<ProviderKind, readonly string[]> = {
  onfido: [],
  sumsub: ['levelName'],
  veriff: [],
  persona: ['inquiryTemplateId'],
  local: [],
};

const iso = (seconds: number | string) => new Date(Number(seconds) * 1000).toISOString();

/**
 * A project's verification settings, its encryption key pair (generated on first use; the secret seed is
 * sealed under the master key) and its provider configurations (secrets sealed, never shown again).
 */
export class KycSettings {
  private readonly keyBox: SecretBox;
  private readonly secretBox: SecretBox;
  /**
   * Settings rows by project, read once per process when it is the database's only user (embedded SQLite;
   * this process's own updates refresh it), else for a few seconds at most.
   */
  private readonly rows = new Map<string, { row: SettingsRow; until: number }>();
  /**
   * Provider choices by project, secrets opened: read and opened once per process when it is the database's
   * only user (this process's own provider changes drop them), else for a few seconds at most.
   */
  private readonly choiceCache = new Map<string, { choices: Promise<ProviderChoice[]>; until: number }>();
  /** Opened key pairs by project: one X-Wing key derivation per process, not per document. */
  private readonly keyPairs = new Map<string, Promise<EnvelopeKeyPair>>();

  constructor(
    private readonly repo: KycRepo,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    masterKey: Uint8Array,
    private readonly outboundTrustedHosts: readonly string[],
    /** Where a provider configuration's webhooks are received. */
    private readonly webhookUrl: (providerId: string) => string,
    private readonly issuers: {
      getIssuer(principal: Principal, projectId: string, issuerId: string): Promise<unknown>;
    },
    /** Whether this process is the database's only user (then cached rows stay exact). */
    private readonly singleProcess: boolean,
    private readonly now: () => Date,
  ) {
    this.keyBox = new SecretBox(masterKey, 'kyc verification keys');
    this.secretBox = new SecretBox(masterKey, 'kyc provider secrets');
  }

  // ---- settings ----
  async get(principal: Principal, projectId: string): Promise<VerificationSettings> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'verification_settings:read');
    return view(await this.ensure(project.id));
  }

  async update(
    principal: Principal,
    projectId: string,
    input: SettingsUpdate,
  ): Promise<VerificationSettings> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'verification_settings:write');
    const current = await this.ensure(project.id);
    if (input.issuerId) {
      await this.issuers.getIssuer(principal, project.id, input.issuerId).catch((error: unknown) => {
        if ((error as { status?: number }).status === 404)
          throw invalidField('The request', '#/issuerId', 'names no issuer of this project');
        throw error;
      });
    }
    if (input.routingRules) {
      const providers = new Set((await this.repo.providers(project.id)).map((row) => row.id));
      const errors = checkRules(input.routingRules, providers);
      if (errors.length > 0) {
        throw new Problem('validation-error', `The routing rules are not valid: ${errors[0]?.detail}.`, {
          errors: errors.map((error) => ({
            in: 'body',
            pointer: `#/routingRules${error.pointer.replace(/^#/, '')}`,
            detail: error.detail,
          })),
        });
      }
    }
    const patch = {
      ...(input.issuerId !== undefined ? { issuer_id: input.issuerId } : {}),
      ...(input.credentialType !== undefined ? { credential_type: input.credentialType } : {}),
      ...(input.txCode !== undefined ? { tx_code: input.txCode ? 1 : 0 } : {}),
      ...(input.retentionSeconds !== undefined ? { retention_seconds: input.retentionSeconds } : {}),
      ...(input.maxAttempts !== undefined ? { max_attempts: input.maxAttempts } : {}),
      ...(input.sessionTtlSeconds !== undefined ? { session_ttl_seconds: input.sessionTtlSeconds } : {}),
      ...(input.routingRules !== undefined ? { routing_rules: JSON.stringify(input.routingRules) } : {}),
      updated_at: this.seconds(),
    };
    this.rows.delete(project.id);
    await this.repo.transaction(async (repo) => {
      await repo.updateSettings(project.id, patch);
      await this.audit.record(repo.db, {
        type: 'verification_settings.updated',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: project.id,
        details: { fields: Object.keys(input) },
      });
    });
    this.audit.committed();
    this.rows.delete(project.id);
    return view({ ...current, ...patch } as SettingsRow);
  }

  /** The project's settings row, created with defaults and a fresh key pair on first use. */
  async ensure(projectId: string): Promise<SettingsRow> {
    const cached = this.rows.get(projectId);
    if (cached && cached.until > Date.now()) return cached.row;
    const existing = (await this.repo.settings(projectId)) ?? (await this.create(projectId));
    this.rows.set(projectId, {
      row: existing,
      until: this.singleProcess ? Number.POSITIVE_INFINITY : Date.now() + 5_000,
    });
    return existing;
  }

  private async create(projectId: string): Promise<SettingsRow> {
    const pair = await generateEnvelopeKeyPair('X-Wing');
    const row: SettingsRow = {
      project_id: projectId,
      issuer_id: null,
      credential_type: DEFAULT_SETTINGS.credentialType,
      tx_code: DEFAULT_SETTINGS.txCode ? 1 : 0,
      retention_seconds: DEFAULT_SETTINGS.retentionSeconds,
      max_attempts: DEFAULT_SETTINGS.maxAttempts,
      session_ttl_seconds: DEFAULT_SETTINGS.sessionTtlSeconds,
      routing_rules: '[]',
      public_key: pair.publicKey,
      sealed_secret_key: await this.keyBox.seal(pair.secretKey, projectId),
      updated_at: this.seconds(),
    };
    pair.secretKey.fill(0);
    if (await this.repo.insertSettings(row)) return row;
    // A concurrent first use inserted its own pair: that one is the project's key.
    return (await this.repo.settings(projectId)) as SettingsRow;
  }

  /** The project's key pair, for opening documents in memory. */
  keyPair(projectId: string): Promise<EnvelopeKeyPair> {
    let pair = this.keyPairs.get(projectId);
    if (!pair) {
      pair = (async () => {
        const row = await this.ensure(projectId);
        const secretKey = await this.keyBox.open(row.sealed_secret_key, projectId);
        const publicKey = new Uint8Array(row.public_key);
        return { suite: 'X-Wing' as const, publicKey, secretKey, keyId: envelopeKeyId('X-Wing', publicKey) };
      })();
      pair.catch(() => this.keyPairs.delete(projectId));
      this.keyPairs.set(projectId, pair);
    }
    return pair;
  }

  // ---- providers ----
  async listProviders(principal: Principal, projectId: string): Promise<ProviderView[]> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'verification_settings:read');
    return (await this.repo.providers(project.id)).map((row) => this.providerView(row));
  }

  async createProvider(principal: Principal, projectId: string, input: ProviderInput): Promise<ProviderView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'verification_settings:write');
    const baseUrl = input.kind === 'local' ? '' : (input.baseUrl ?? DEFAULT_BASE_URLS[input.kind]);
    this.checkProvider(
      input.kind,
      input.kind === 'local' ? null : baseUrl,
      input.secrets ?? {},
      input.options ?? {},
    );
    const id = newId('vpc');
    const at = this.seconds();
    const secrets = input.secrets ?? {};
    const row: ProviderRow = {
      id,
      project_id: project.id,
      kind: input.kind,
      name: input.name,
      base_url: baseUrl,
      sealed_secrets: await this.secretBox.seal(encoder.encode(JSON.stringify(secrets)), id),
      secret_names: JSON.stringify(Object.keys(secrets).sort()),
      options: JSON.stringify(input.options ?? {}),
      priority: input.priority ?? 100,
      cost_cents: input.costCents ?? 0,
      timeout_ms: input.timeoutMs ?? 15_000,
      max_retries: input.maxRetries ?? 2,
      enabled: input.enabled === false ? 0 : 1,
      created_at: at,
      updated_at: at,
    };
    await this.changeProviders(project.id, async (repo) => {
      await repo.insertProvider(row);
      await this.audit.record(repo.db, {
        type: 'verification_provider.created',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: id,
        details: { kind: input.kind },
      });
    });
    this.audit.committed();
    return this.providerView(row);
  }

  async updateProvider(
    principal: Principal,
    projectId: string,
    id: string,
    input: Partial<Omit<ProviderInput, 'kind'>>,
  ): Promise<ProviderView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'verification_settings:write');
    const row = await this.repo.provider(project.id, id);
    if (!row) throw new Problem('not-found', `No verification provider ${id} in this project.`);
    const kind = row.kind as ProviderKind;
    const secrets =
      input.secrets ?? JSON.parse(decoder.decode(await this.secretBox.open(row.sealed_secrets, id)));
    const options = input.options ?? (JSON.parse(row.options) as Record<string, string>);
    const baseUrl = kind === 'local' ? '' : (input.baseUrl ?? row.base_url);
    this.checkProvider(kind, kind === 'local' ? null : baseUrl, secrets, options);
    const patch = {
      ...(input.name !== undefined ? { name: input.name } : {}),
      base_url: baseUrl,
      ...(input.secrets !== undefined
        ? {
            sealed_secrets: await this.secretBox.seal(encoder.encode(JSON.stringify(input.secrets)), id),
            secret_names: JSON.stringify(Object.keys(input.secrets).sort()),
          }
        : {}),
      options: JSON.stringify(options),
      ...(input.priority !== undefined ? { priority: input.priority } : {}),
      ...(input.costCents !== undefined ? { cost_cents: input.costCents } : {}),
      ...(input.timeoutMs !== undefined ? { timeout_ms: input.timeoutMs } : {}),
      ...(input.maxRetries !== undefined ? { max_retries: input.maxRetries } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled ? 1 : 0 } : {}),
      updated_at: this.seconds(),
    };
    await this.changeProviders(project.id, async (repo) => {
      await repo.updateProvider(project.id, id, patch);
      await this.audit.record(repo.db, {
        type: 'verification_provider.updated',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: id,
        details: { fields: Object.keys(input) },
      });
    });
    this.audit.committed();
    return this.providerView({ ...row, ...patch });
  }

  async deleteProvider(principal: Principal, projectId: string, id: string): Promise<void> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'verification_settings:write');
    const settings = await this.ensure(project.id);
    const rules = JSON.parse(settings.routing_rules) as RoutingRule[];
    if (rules.some((rule) => rule.providers?.includes(id))) {
      throw new Problem('conflict', `Routing rules name ${id}: change them before deleting the provider.`);
    }
    await this.changeProviders(project.id, async (repo) => {
      if (!(await repo.deleteProvider(project.id, id))) {
        throw new Problem('not-found', `No verification provider ${id} in this project.`);
      }
      await this.audit.record(repo.db, {
        type: 'verification_provider.deleted',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: id,
      });
    });
    this.audit.committed();
  }

  /**
   * Changes a project's providers in one transaction and forgets its remembered choices, also when the
   * commit's sync failed (the change may be in the database all the same).
   */
  private async changeProviders(projectId: string, work: (repo: KycRepo) => Promise<void>): Promise<void> {
    try {
      await this.repo.transaction(work);
    } finally {
      this.choiceCache.delete(projectId);
    }
  }

  /** The project's providers as routing sees them, secrets opened (in memory only). */
  choices(projectId: string): Promise<ProviderChoice[]> {
    const cached = this.choiceCache.get(projectId);
    if (cached && cached.until > Date.now()) return cached.choices;
    const choices = this.repo
      .providers(projectId)
      .then((rows) => Promise.all(rows.map((row) => this.choiceOf(row))));
    const entry = { choices, until: this.singleProcess ? Number.POSITIVE_INFINITY : Date.now() + 5_000 };
    this.choiceCache.set(projectId, entry);
    // A failed read is not kept: the next caller reads again.
    choices.catch(() => {
      if (this.choiceCache.get(projectId) === entry) this.choiceCache.delete(projectId);
    });
    return choices;
  }

  async choice(providerId: string): Promise<{ projectId: string; choice: ProviderChoice } | undefined> {
    const row = await this.repo.providerById(providerId);
    return row && { projectId: row.project_id, choice: await this.choiceOf(row) };
  }

  async rules(projectId: string): Promise<RoutingRule[]> {
    return JSON.parse((await this.ensure(projectId)).routing_rules) as RoutingRule[];
  }

  private async choiceOf(row: ProviderRow): Promise<ProviderChoice> {
    const kind = row.kind as ProviderKind;
    const settings: ProviderSettings = {
      id: row.id,
      kind,
      baseUrl: row.base_url,
      secrets: JSON.parse(decoder.decode(await this.secretBox.open(row.sealed_secrets, row.id))),
      options: JSON.parse(row.options),
    };
    return {
      settings,
      capabilities: PROVIDER_CAPABILITIES[kind],
      enabled: row.enabled === 1,
      priority: row.priority,
      costCents: row.cost_cents,
      timeoutMs: row.timeout_ms,
      maxRetries: row.max_retries,
    };
  }

  private checkProvider(
    kind: ProviderKind,
    baseUrl: string | null,
    secrets: Record<string, string>,
    options: Record<string, string>,
  ): void {
    if (!PROVIDER_KINDS.includes(kind))
      throw invalidField('The request', '#/kind', `must be one of ${PROVIDER_KINDS.join(', ')}`);
    if (baseUrl !== null) {
      const problem = outboundUrlProblem(baseUrl, this.outboundTrustedHosts);
      if (problem) throw invalidField('The request', '#/baseUrl', problem);
    }
    for (const name of REQUIRED_SECRETS[kind]) {
      if (!secrets[name]) throw invalidField('The request', `#/secrets/${name}`, `is required for ${kind}`);
    }
    for (const name of REQUIRED_OPTIONS[kind]) {
      if (!options[name]) throw invalidField('The request', `#/options/${name}`, `is required for ${kind}`);
    }
  }

  private seconds(): number {
    return Math.floor(this.now().getTime() / 1000);
  }

  private providerView(row: ProviderRow): ProviderView {
    return {
      id: row.id,
      kind: row.kind as ProviderKind,
      name: row.name,
      baseUrl: row.base_url === '' ? null : row.base_url,
      secretNames: JSON.parse(row.secret_names),
      options: JSON.parse(row.options),
      priority: row.priority,
      costCents: row.cost_cents,
      timeoutMs: row.timeout_ms,
      maxRetries: row.max_retries,
      enabled: row.enabled === 1,
      webhookUrl: this.webhookUrl(row.id),
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
    };
  }
}

function view(row: SettingsRow): VerificationSettings {
  const publicKey = new Uint8Array(row.public_key);
  return {
    issuerId: row.issuer_id,
    credentialType: row.credential_type,
    txCode: row.tx_code === 1,
    retentionSeconds: Number(row.retention_seconds),
    maxAttempts: row.max_attempts,
    sessionTtlSeconds: Number(row.session_ttl_seconds),
    routingRules: JSON.parse(row.routing_rules),
    encryptionKey: {
      suite: 'X-Wing',
      publicKey: toBase64Url(publicKey),
      keyId: toBase64Url(envelopeKeyId('X-Wing', publicKey)),
    },
  };
}
