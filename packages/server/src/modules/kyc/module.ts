import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { BlobStore } from '../../store/blob-store.js';
import type { Database } from '../../store/schema.js';
import type { AuditService } from '../audit/service.js';
import type { ConnectorService } from '../connectors/service.js';
import type { Oid4vciService } from '../oid4vci/service.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import type { WebhookService } from '../webhooks/service.js';
import { CircuitBreakers } from './circuit-breaker.js';
import { Decisions } from './decisions.js';
import { DocumentOpener } from './document-opener.js';
import { KycInbox } from './inbox.js';
import { DatabaseLeases, ProcessLeases } from './leases.js';
import { Orchestrator } from './orchestrator.js';
import { KycProcessor, type ProcessingLog } from './processing.js';
import { PROVIDER_ADAPTERS } from './providers/index.js';
import type { AdapterDeps, ProviderSettings } from './providers/types.js';
import { KycRepo } from './repo.js';
import { KycService } from './service.js';
import { SessionData } from './session-data.js';
import { SessionWatch } from './session-watch.js';
import { KycSettings } from './settings.js';
import { Transitions } from './transitions.js';
import { DEFAULT_WORKER_OPTIONS, KycWorker, type KycWorkerOptions } from './worker.js';

export interface KycModuleDeps {
  db: Kysely<Database>;
  /** The embedded database serves this process alone: caches may keep rows for good. */
  singleProcess: boolean;
  masterKey: Uint8Array;
  publicUrl: string;
  /** Where sealed uploads live; the app owns it (opens and closes it). */
  blobs: BlobStore;
  outboundTrustedHosts: readonly string[];
  /** The SSRF-guarded fetch every provider call goes through. */
  fetch: typeof globalThis.fetch;
  tenancy: TenancyService;
  audit: AuditService;
  webhooks: WebhookService;
  connectors: Pick<ConnectorService, 'runCheck' | 'exists'>;
  offers: Pick<Oid4vciService, 'createOffer' | 'revokeByReference'>;
  issuers: { getIssuer(principal: Principal, projectId: string, issuerId: string): Promise<unknown> };
  userExists(projectId: string, userId: string): Promise<boolean>;
  log: ProcessingLog & { info(fields: Record<string, unknown>, message: string): void };
  now?: () => Date;
  worker?: Partial<KycWorkerOptions>;
}

/**
 * Requests that may wait on a session at once (`?wait=`); more answer at once. With a shared database
 * each one reads its session every SHARED_DATABASE_RECHECK_MS, hence the lower bound there.
 */
const MAX_WAITING_READS = { alone: 10_000, shared: 1_000 };
/** With a shared database, how often a waiting read looks for moves made by other processes. */
const SHARED_DATABASE_RECHECK_MS = 500;

/** Builds the verification module: its services, its background worker, and what its routes need. */
export function createKycModule(deps: KycModuleDeps) {
  const now = deps.now ?? (() => new Date());
  const repo = new KycRepo(deps.db);
  const webhookUrl = (providerId: string) => `${deps.publicUrl}/v1/verification-webhooks/${providerId}`;
  const settings = new KycSettings(
    repo,
    deps.tenancy,
    deps.audit,
    deps.masterKey,
    deps.outboundTrustedHosts,
    webhookUrl,
    deps.issuers,
    deps.singleProcess,
    now,
  );
  const adapterDeps: AdapterDeps = { fetch: deps.fetch, now };
  const adapterFor = (providerSettings: ProviderSettings) =>
    PROVIDER_ADAPTERS[providerSettings.kind](providerSettings, adapterDeps);
  const breakers = new CircuitBreakers({}, now, (id, from, to) =>
    deps.log.info({ providerConfigId: id, from, to }, 'kyc: provider circuit changed'),
  );
  const orchestrator = new Orchestrator({
    adapterFor,
    breakers,
    now,
    sleep: (ms) => sleep(ms),
    random: Math.random,
  });
  const { blobs } = deps;
  const opener = new DocumentOpener();
  const data = new SessionData(deps.masterKey);
  const watch = new SessionWatch(deps.singleProcess ? MAX_WAITING_READS.alone : MAX_WAITING_READS.shared);
  const transitions = new Transitions(deps.audit, deps.webhooks, watch, now);
  const decisions = new Decisions(settings, transitions, data, deps.connectors, deps.offers, now);
  const processor = new KycProcessor(
    repo,
    settings,
    orchestrator,
    decisions,
    transitions,
    blobs,
    opener,
    // Alone on its database, this process's own record of what it dispatches is the whole truth.
    deps.singleProcess ? new ProcessLeases() : new DatabaseLeases(repo, now),
    deps.log,
    now,
  );
  const inbox = new KycInbox(
    repo,
    settings,
    processor,
    orchestrator,
    adapterFor,
    deps.masterKey,
    deps.log,
    now,
  );
  const kyc = new KycService(
    repo,
    settings,
    deps.tenancy,
    deps.audit,
    transitions,
    decisions,
    processor,
    data,
    blobs,
    {
      userExists: deps.userExists,
      connectorExists: (projectId, id) => deps.connectors.exists(projectId, id),
    },
    watch,
    // Alone on its database, this process sees every move; otherwise another process may make it.
    deps.singleProcess ? Number.POSITIVE_INFINITY : SHARED_DATABASE_RECHECK_MS,
    now,
  );
  const worker = new KycWorker(
    repo,
    processor,
    inbox,
    orchestrator,
    settings,
    transitions,
    blobs,
    deps.log,
    now,
    {
      ...DEFAULT_WORKER_OPTIONS,
      ...deps.worker,
    },
  );
  worker.start();
  return {
    kyc,
    settings,
    inbox,
    worker,
    /** Shutdown began: reads waiting on sessions answer now. */
    stopWaiting() {
      watch.close();
    },
    async close() {
      await worker.close();
      await opener.close();
    },
  };
}
