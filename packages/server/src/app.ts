import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { VerificationThreads } from '@personachain/crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Config, defaultLedgerOrigin } from './config.js';
import { LastUsedTracker, registerAuthentication } from './http/auth.js';
import { purgeExpiredIdempotencyKeys, registerIdempotency } from './http/idempotency.js';
import { loggerOptions } from './http/logging.js';
import { registerMetrics } from './http/metrics.js';
import { registerOpenApi } from './http/openapi.js';
import { FormCsrf } from './http/pages/csrf.js';
import { clientErrorHandler, frameworkErrorHandler, registerProblemHandlers } from './http/problem.js';
import { publicFetch } from './http/public-fetch.js';
import { MemoryRateLimiter, type RateLimiter, RedisRateLimiter } from './http/rate-limit.js';
import { requestIdFrom } from './http/request-id.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { registerServerTiming } from './http/server-timing.js';
import { registerValidation } from './http/validation.js';
import { auditRoutes } from './modules/audit/routes.js';
import { AuditService } from './modules/audit/service.js';
import { ExpressionEvaluator } from './modules/connectors/evaluator.js';
import { ConnectorsRepo } from './modules/connectors/repo.js';
import { connectorRoutes } from './modules/connectors/routes.js';
import { ConnectorService } from './modules/connectors/service.js';
import { CredentialThreads } from './modules/credentials/credential-threads.js';
import { platformDidUrlResolver, platformDocumentLoader } from './modules/credentials/document-loader.js';
import { HolderService } from './modules/credentials/holder.js';
import { credentialRoutes } from './modules/credentials/routes.js';
import { CredentialsService } from './modules/credentials/service.js';
import { didRoutes } from './modules/dids/routes.js';
import { DidService } from './modules/dids/service.js';
import { EphemeralRepo } from './modules/ephemeral/repo.js';
import { ephemeralRoutes } from './modules/ephemeral/routes.js';
import { EphemeralService } from './modules/ephemeral/service.js';
import { healthRoutes } from './modules/health/routes.js';
import { accountPageRoutes } from './modules/identity/account-page-routes.js';
import { identityAdminRoutes } from './modules/identity/admin-routes.js';
import { identityAuthRoutes } from './modules/identity/auth-routes.js';
import { EmailCodes } from './modules/identity/email-codes.js';
import { EmailCodesRepo } from './modules/identity/email-codes-repo.js';
import { emailPageRoutes } from './modules/identity/email-page-routes.js';
import { emailCodeRoutes } from './modules/identity/email-routes.js';
import { EmailSecondFactor } from './modules/identity/email-second-factor.js';
import { Mailer } from './modules/identity/mailer.js';
import { passkeyScriptRoute } from './modules/identity/pages/passkey-script.js';
import { PasskeyRepo } from './modules/identity/passkey-repo.js';
import { passkeyAdminRoutes, passkeyRoutes } from './modules/identity/passkey-routes.js';
import { PasskeyService, relyingPartyOf } from './modules/identity/passkeys.js';
import { IdentityRepo } from './modules/identity/repo.js';
import { type IdentityOptions, IdentityService } from './modules/identity/service.js';
import { SessionAuth } from './modules/identity/session-auth.js';
import { DEFAULT_THROTTLE, LoginThrottle } from './modules/identity/throttle.js';
import { IssuersRepo } from './modules/issuers/repo.js';
import { issuerDocumentRoutes, issuerRoutes } from './modules/issuers/routes.js';
import { IssuersService } from './modules/issuers/service.js';
import { loadMasterKey } from './modules/keys/master-key.js';
import { openKeyStore } from './modules/keys/service.js';
import { kycClientRoutes } from './modules/kyc/client-routes.js';
import { createKycModule } from './modules/kyc/module.js';
import { kycRoutes } from './modules/kyc/routes.js';
import { kycWebhookRoutes } from './modules/kyc/webhook-routes.js';
import type { KycWorkerOptions } from './modules/kyc/worker.js';
import { ledgerRoutes } from './modules/ledger/routes.js';
import { LedgerService } from './modules/ledger/service.js';
import { WitnessPublisher } from './modules/ledger/witnesses.js';
import { Oid4vciRepo } from './modules/oid4vci/repo.js';
import { credentialOfferRoutes, oid4vciRoutes } from './modules/oid4vci/routes.js';
import { Oid4vciService } from './modules/oid4vci/service.js';
import { interactionRoutes } from './modules/oidc/interaction-routes.js';
import { IntrospectionFastPath } from './modules/oidc/introspection-fast.js';
import { createOidcModule } from './modules/oidc/module.js';
import { mountProviders } from './modules/oidc/mount.js';
import { issuerOf } from './modules/oidc/registry.js';
import { oidcRoutes } from './modules/oidc/routes.js';
import { PersonaLog } from './modules/persona/log.js';
import { PersonaRepo } from './modules/persona/repo.js';
import { personaRoutes } from './modules/persona/routes.js';
import { PersonaService } from './modules/persona/service.js';
import { AccessPolicy } from './modules/policy/access/access-policy.js';
import { PolicyService } from './modules/policy/service.js';
import { policySimulateRoutes } from './modules/policy/simulate-routes.js';
import { GroupsRepo } from './modules/scim/groups-repo.js';
import { GroupsService } from './modules/scim/groups-service.js';
import { scimRoutes } from './modules/scim/routes.js';
import { remoteStatusLists } from './modules/status/remote.js';
import { StatusRepo } from './modules/status/repo.js';
import { statusListRoutes, statusRoutes } from './modules/status/routes.js';
import { StatusService } from './modules/status/service.js';
import { ProcessCache } from './modules/tenancy/process-cache.js';
import { TenancyRepo } from './modules/tenancy/repo.js';
import { tenancyRoutes } from './modules/tenancy/routes.js';
import { TenancyService } from './modules/tenancy/service.js';
import { accessApprovalRoutes } from './modules/vaults/approvals-routes.js';
import { createVaultsModule } from './modules/vaults/module.js';
import { recoveryRoutes } from './modules/vaults/recovery-routes.js';
import { vaultRoutes } from './modules/vaults/routes.js';
import { createWalletModule } from './modules/wallet/module.js';
import { walletAccountRoutes, walletAdminRoutes } from './modules/wallet/routes.js';
import { webhookRoutes } from './modules/webhooks/routes.js';
import { WebhookService } from './modules/webhooks/service.js';
import type { WebhookWorkerOptions } from './modules/webhooks/worker.js';
import { openBlobStore } from './store/blob-store.js';
import type { Store } from './store/database.js';

/** What an embedding program (tests, benchmarks) may set beyond the configuration. */
export interface PlatformOptions {
  identity?: Partial<IdentityOptions>;
  /** Tests only: a live switch between the introspection fast path and the engine's own answer. */
  introspection?: { fastPath: boolean };
  /** Tests and benchmarks: the webhook delivery worker's schedule, timeouts, limits and poll interval. */
  webhooks?: Partial<WebhookWorkerOptions>;
  /** Tests and benchmarks: how often the verification worker runs, and its clock. */
  kyc?: { worker?: Partial<KycWorkerOptions>; now?: () => Date };
}

export interface Platform {
  app: FastifyInstance;
  tenancy: TenancyService;
  ledger: LedgerService;
  identity: IdentityService;
  /** The outbox other modules (and in-process benchmarks) enqueue webhook events into. */
  webhooks: WebhookService;
  /** HTTP connectors, which verification checks run (and tests call) without an API key. */
  connectors: ConnectorService;
}

/**
 * Builds the HTTP application from its plugins and modules. The app owns the store it is given:
 * closing the app drains requests, writes pending last-used times, and closes the database.
 */
export async function buildApp(
  config: Config,
  store: Store,
  options: PlatformOptions = {},
): Promise<Platform> {
  const app = Fastify({
    logger: loggerOptions(config.logLevel),
    genReqId: requestIdFrom,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    ...(config.tls ? { https: { cert: config.tls.cert, key: config.tls.key } } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;

  registerValidation(app);
  // JSON only: a text/plain body is refused with 415 rather than parsed as a string.
  app.removeContentTypeParser('text/plain');
  registerProblemHandlers(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // Once shutdown starts, answers to requests still in flight close their connection, so a keep-alive
  // client cannot hold the process open after its last response.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  registerSecurityHeaders(app);
  if (config.serverTiming) registerServerTiming(app);
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
      exposedHeaders: [
        'x-request-id',
        'ratelimit-limit',
        'ratelimit-remaining',
        'ratelimit-reset',
        'retry-after',
      ],
      maxAge: 600,
    });
  }

  await registerOpenApi(app, config.publicUrl);
  registerMetrics(app, config.metricsToken);

  const masterKey = loadMasterKey(config.masterKey, config.dataDir);
  if (masterKey.source !== 'PERSONA_MASTER_KEY') {
    app.log.warn(
      { file: masterKey.path },
      `private keys are wrapped under a ${masterKey.source} next to the database: fine for development, ` +
        'not for production. Set PERSONA_MASTER_KEY (32 random bytes, kept apart from the data).',
    );
  }
  const keys = openKeyStore(store, masterKey.bytes);
  const witnessed = config.ledgerWitnesses.length > 0;
  let publisher: WitnessPublisher | undefined;
  const ledger = await LedgerService.open(store, {
    origin: config.ledgerOrigin,
    defaultOrigin: defaultLedgerOrigin(config),
    keys,
    witnessed,
    onCheckpoint: () => publisher?.notify(),
    onError: (error) => app.log.error({ err: error }, 'ledger: a batch could not be integrated'),
  });
  if (witnessed) {
    publisher = new WitnessPublisher({
      witnesses: config.ledgerWitnesses,
      quorum: config.ledgerWitnessQuorum,
      ledger,
      log: app.log,
    });
    // The latest checkpoint may not be published yet (first start, or witnesses were down at shutdown).
    publisher.notify();
  }
  const audit = new AuditService(store.db, ledger);
  const policy = PolicyService.load();
  // Vault access decisions: the evaluators' Cedar policies are validated here, failing the start if wrong.
  const accessPolicy = AccessPolicy.load();
  const tenancy = new TenancyService(
    new TenancyRepo(store.db, store.engine),
    policy,
    new ProcessCache(store.singleProcess),
    new ProcessCache(store.singleProcess),
    audit,
  );
  const limiter: RateLimiter = config.redisUrl
    ? new RedisRateLimiter(config.redisUrl, (error) =>
        app.log.warn({ err: error.message }, 'rate limiter: Redis unavailable, allowing request'),
      )
    : new MemoryRateLimiter();
  const lastUsed = new LastUsedTracker((times) => tenancy.recordLastUsed(times));
  const identityRepo = new IdentityRepo(store.db);
  const identity = new IdentityService(identityRepo, tenancy, audit, masterKey.bytes, {
    logRisk: (fields, message) => app.log.info(fields, message),
    ...options.identity,
  });
  const sessionAuth = new SessionAuth(identity.sessions, config.publicUrl, config.corsOrigins);
  // One pooled SMTP transport for every module that mails end users.
  const mailer = config.smtp
    ? new Mailer(config.smtp, (error) => app.log.warn({ err: error.message }, 'email: could not send'))
    : null;
  const passkeys = new PasskeyService(
    new PasskeyRepo(store.db),
    identity,
    tenancy,
    audit,
    new LoginThrottle(identityRepo, options.identity?.throttle ?? DEFAULT_THROTTLE, identity.now),
    relyingPartyOf(config.publicUrl),
    mailer,
  );
  const oidc = createOidcModule({
    store,
    keyStore: keys,
    masterKey: masterKey.bytes,
    tenancy,
    policy,
    audit,
    publicUrl: config.publicUrl,
    trustProxy: config.trustProxy,
    identity,
    sessionAuth,
    onError: (error) => app.log.error({ err: error }, 'oidc: could not audit an issuer event'),
    now: identity.now,
    redisUrl: config.redisUrl,
  });
  const purge = setInterval(
    () => void purgeExpiredIdempotencyKeys(store.db).catch(() => {}),
    3_600_000,
  ).unref();
  const purgeOidc = setInterval(() => void oidc.payloads.purgeExpired().catch(() => {}), 600_000).unref();

  await app.register(healthRoutes, { db: store.db });
  await app.register(ledgerRoutes, { ledger, limiter, rateLimit: config.rateLimits.public });
  const issuers = new IssuersService(
    new IssuersRepo(store.db),
    keys,
    tenancy,
    audit,
    config.publicUrl,
    () => persona,
  );
  const personaRepo = new PersonaRepo(store.db);
  const personaLog = new PersonaLog(personaRepo, ledger);
  const dids = new DidService({
    trustedWebHosts: config.didWebTrustedHosts,
    hosted: issuers.hosted,
    persona: personaLog,
  });
  const persona = new PersonaService(personaRepo, personaLog, ledger, tenancy, audit, dids);
  const webhooks = new WebhookService({
    db: store.db,
    masterKey: masterKey.bytes,
    tenancy,
    audit,
    fetch: publicFetch({ trustedHosts: config.outboundTrustedHosts, httpForTrustedHosts: true }),
    limiter,
    trustedHosts: config.outboundTrustedHosts,
    cacheEndpoints: store.singleProcess,
    worker: options.webhooks,
    onError: (error, message) => app.log.error({ err: error }, message),
  });
  webhooks.start();
  const ephemeral = new EphemeralService(new EphemeralRepo(store.db), ledger, tenancy);
  const documentLoader = platformDocumentLoader(dids);
  const status = new StatusService(
    new StatusRepo(store.db),
    issuers,
    keys,
    audit,
    config.publicUrl,
    documentLoader,
    remoteStatusLists({ trustedHosts: config.didWebTrustedHosts }),
    store.singleProcess,
  );
  const threads =
    config.credentialThreads > 0
      ? new CredentialThreads(config.credentialThreads, platformDidUrlResolver(dids), keys)
      : undefined;
  const signatureThreads =
    config.signatureThreads > 0 ? new VerificationThreads({ threads: config.signatureThreads }) : undefined;
  const credentials = new CredentialsService(
    issuers,
    tenancy,
    dids,
    keys,
    audit,
    status,
    threads,
    signatureThreads,
  );
  const connectorEvaluator = new ExpressionEvaluator({
    onRestart: (why) => app.log.warn(`connectors: ${why}`),
  });
  const connectors = new ConnectorService({
    repo: new ConnectorsRepo(store.db),
    tenancy,
    issuers,
    credentials,
    audit,
    limiter,
    evaluator: connectorEvaluator,
    masterKey: masterKey.bytes,
    trustedHosts: config.outboundTrustedHosts,
  });
  const oid4vci = new Oid4vciService({
    repo: new Oid4vciRepo(store.db),
    issuers,
    credentials,
    status,
    dids,
    tenancy,
    audit,
    masterKey: masterKey.bytes,
    publicUrl: config.publicUrl,
  });
  const blobs = openBlobStore(config.blobStore);
  const kyc = createKycModule({
    db: store.db,
    singleProcess: store.singleProcess,
    masterKey: masterKey.bytes,
    publicUrl: config.publicUrl,
    blobs,
    outboundTrustedHosts: config.outboundTrustedHosts,
    fetch: publicFetch({ trustedHosts: config.outboundTrustedHosts, httpForTrustedHosts: true }),
    tenancy,
    audit,
    webhooks,
    connectors,
    offers: oid4vci,
    issuers,
    userExists: async (projectId, userId) => (await identity.findAccount(projectId, userId)) !== null,
    log: app.log,
    ...(options.kyc?.worker ? { worker: options.kyc.worker } : {}),
    ...(options.kyc?.now ? { now: options.kyc.now } : {}),
  });
  const vaults = createVaultsModule({
    db: store.db,
    engine: store.engine,
    singleProcess: store.singleProcess,
    masterKey: masterKey.bytes,
    blobs,
    tenancy,
    audit,
    ledger,
    log: app.log,
    policy: accessPolicy,
  });
  const holder = new HolderService(issuers, tenancy, keys, documentLoader, audit);
  const { dids: userDids, wallet } = createWalletModule({
    db: store.db,
    keys,
    masterKey: masterKey.bytes,
    credentials,
    issuers,
    identity,
    documentLoader,
    audit,
    publicUrl: config.publicUrl,
  });
  const emailCodes = new EmailCodes(
    new EmailCodesRepo(store.db, store.engine),
    identityRepo,
    mailer,
    masterKey.bytes,
    config.publicUrl,
    identity.now,
    (error) => app.log.warn({ err: error.message }, 'email: background send failed'),
  );
  identity.useEmailSecondFactor(new EmailSecondFactor(emailCodes, mailer !== null));
  const purgeSessions = setInterval(() => {
    void identity.purgeExpired().catch(() => {});
    void emailCodes.purgeExpired().catch(() => {});
    void userDids.purgeExpired().catch(() => {});
    void oid4vci.purgeExpired().catch(() => {});
  }, 600_000).unref();
  await app.register(didRoutes, { dids, limiter, rateLimit: config.rateLimits.public });
  await app.register(issuerDocumentRoutes, { issuers, limiter, rateLimit: config.rateLimits.public });
  await app.register(statusListRoutes, { status, limiter, rateLimit: config.rateLimits.public });
  await app.register(oid4vciRoutes, { oid4vci, limiter, rateLimit: config.rateLimits.public });
  await app.register(identityAuthRoutes, {
    identity,
    tenancy,
    auth: sessionAuth,
    limiter,
    rateLimit: config.rateLimits.public,
    emailCodes,
  });
  await app.register(emailCodeRoutes, {
    identity,
    emailCodes,
    tenancy,
    auth: sessionAuth,
    limiter,
    rateLimit: config.rateLimits.public,
  });
  passkeyScriptRoute(app);
  await app.register(passkeyRoutes, {
    passkeys,
    identity,
    auth: sessionAuth,
    limiter,
    rateLimit: config.rateLimits.public,
  });
  await app.register(walletAccountRoutes, {
    dids: userDids,
    wallet,
    auth: sessionAuth,
    limiter,
    rateLimit: config.rateLimits.public,
  });
  await accountPageRoutes(app, {
    identity,
    passkeys,
    tenancy,
    sessionAuth,
    csrf: new FormCsrf(masterKey.bytes, 'persona account pages csrf'),
    limiter,
    rateLimit: config.rateLimits.public,
    emailSignIn: emailCodes.enabled,
  });
  await interactionRoutes(app, {
    registry: oidc.registry,
    tenancy,
    clients: oidc.clients,
    identity,
    sessionAuth,
    csrf: new FormCsrf(masterKey.bytes, 'persona oidc interaction csrf'),
    audit,
    email: emailCodes.enabled ? { codes: emailCodes, publicUrl: config.publicUrl } : null,
  });
  await emailPageRoutes(app, {
    identity,
    emailCodes,
    tenancy,
    sessionAuth,
    publicUrl: config.publicUrl,
    interactionOpen: async (projectId, uid) =>
      (await (await oidc.registry.get(projectId)).Interaction.find(uid)) !== undefined,
    limiter,
    rateLimit: config.rateLimits.public,
  });
  await mountProviders(app, {
    registry: oidc.registry,
    tenancy,
    introspection: {
      fastPath: new IntrospectionFastPath({
        payloads: oidc.payloads,
        findClient: (projectId, clientId) => oidc.clients.findForProvider(projectId, clientId),
        issuer: (projectId) => issuerOf(config.publicUrl, projectId),
      }),
      enabled: options.introspection ?? { fastPath: true },
    },
    onError: (error) => app.log.error({ err: error }, 'oidc: a provider could not serve the request'),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const authenticate = (scope: FastifyInstance) =>
    registerAuthentication(scope, {
      tenancy,
      accessTokens: oidc.accessTokens,
      dpop: oidc.dpop,
      limiter,
      rateLimits: config.rateLimits,
      lastUsed,
    });
  const groups = new GroupsService(new GroupsRepo(store.db), tenancy, audit, identity, identity.now);
  await app.register(scimRoutes, { identity, groups, tenancy, publicUrl: config.publicUrl, authenticate });

  await app.register(async (api) => {
    authenticate(api);
    registerIdempotency(api, store.db);
    await api.register(tenancyRoutes, { tenancy });
    await api.register(auditRoutes, { audit, tenancy, ledger });
    await api.register(issuerRoutes, { issuers });
    await api.register(credentialRoutes, { credentials, holder });
    await api.register(statusRoutes, { status });
    await api.register(credentialOfferRoutes, { oid4vci });
    await api.register(personaRoutes, { persona });
    await api.register(ephemeralRoutes, { ephemeral });
    await api.register(webhookRoutes, { webhooks });
    await api.register(identityAdminRoutes, { identity });
    await api.register(walletAdminRoutes, { dids: userDids, wallet });
    await api.register(passkeyAdminRoutes, { passkeys });
    await api.register(oidcRoutes, { clients: oidc.clients, keys: oidc.keys });
    await api.register(connectorRoutes, { connectors });
    await api.register(kycRoutes, { kyc: kyc.kyc, settings: kyc.settings });
    await api.register(policySimulateRoutes, {
      accessPolicy,
      tenancy,
      vaultTemplate: (principal, projectId, vaultId) =>
        vaults.vaults.getTemplate(principal, projectId, vaultId),
    });
    await api.register(vaultRoutes, { vaults: vaults.vaults, devices: vaults.devices });
    await api.register(recoveryRoutes, { recovery: vaults.recovery });
    await api.register(accessApprovalRoutes, { approvals: vaults.recovery.approvals });
  });
  await app.register(kycClientRoutes, { kyc: kyc.kyc, limiter, rateLimit: config.rateLimits.public });
  await app.register(kycWebhookRoutes, { inbox: kyc.inbox, limiter, rateLimit: config.rateLimits.public });

  // Requests waiting on verification sessions would hold the close for up to a minute: they answer now.
  app.addHook('preClose', async () => kyc.stopWaiting());
  app.addHook('onClose', async () => {
    // First: verification work in flight finishes (it enqueues events), then deliveries in flight record
    // their attempts while the store and the limiter are still open.
    await kyc.close();
    vaults.close();
    await blobs.close();
    await webhooks.close();
    clearInterval(purge);
    clearInterval(purgeSessions);
    await emailCodes.close();
    clearInterval(purgeOidc);
    await lastUsed
      .close()
      .catch((error) => app.log.error({ err: error }, 'could not record last-used times'));
    await limiter.close();
    await oidc.close();
    await publisher?.close();
    await threads?.close();
    await signatureThreads?.close();
    await connectorEvaluator.close();
    await ledger.close().catch((error) => app.log.error({ err: error }, 'ledger: could not flush on close'));
    await store.close();
  });

  return { app, tenancy, ledger, identity, webhooks, connectors };
}
