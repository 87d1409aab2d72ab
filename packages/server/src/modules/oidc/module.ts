import type { KeyStore } from '@personachain/crypto';
import type { Store } from '../../store/database.js';
import type { AuditService } from '../audit/service.js';
import type { IdentityService } from '../identity/service.js';
import type { SessionAuth } from '../identity/session-auth.js';
import type { PolicyService } from '../policy/service.js';
import { ProcessCache } from '../tenancy/process-cache.js';
import type { TenancyService } from '../tenancy/service.js';
import { AccessTokenVerifier } from './access-tokens.js';
import { OidcClientRepo } from './client-repo.js';
import { OidcClientService } from './clients.js';
import { DpopProofVerifier, MemoryDpopReplayCache, RedisDpopReplayCache } from './dpop.js';
import { OidcKeyStateRepo } from './key-state-repo.js';
import { OidcKeyService } from './keys.js';
import { OidcPayloadRepo } from './payload-repo.js';
import { issuerOf, ProviderRegistry, platformAudienceOf } from './registry.js';
import { IssuerKeys } from './signing-keys.js';

export interface OidcModule {
  registry: ProviderRegistry;
  clients: OidcClientService;
  keys: OidcKeyService;
  accessTokens: AccessTokenVerifier;
  /** Checks the DPoP proofs sent with DPoP-bound access tokens on the platform API. */
  dpop: DpopProofVerifier;
  payloads: OidcPayloadRepo;
  /** Releases the DPoP replay cache (its Redis connection). */
  close(): Promise<void>;
}

/** Wires the OAuth/OIDC provider module: per-project issuers, their clients, keys and token verifier. */
export function createOidcModule(deps: {
  store: Pick<Store, 'db' | 'singleProcess'>;
  keyStore: KeyStore;
  masterKey: Uint8Array;
  tenancy: TenancyService;
  policy: PolicyService;
  audit: AuditService;
  publicUrl: string;
  trustProxy: boolean;
  identity: IdentityService;
  sessionAuth: SessionAuth;
  onError: (error: unknown) => void;
  /** The clock key rotation is judged by (tests pass a TestClock); the real time by default. */
  now?: () => Date;
  /** Redis shared by the replicas, for the DPoP replay cache; null keeps it in this process. */
  redisUrl: string | null;
}): OidcModule {
  const { store, keyStore, publicUrl } = deps;
  const payloads = new OidcPayloadRepo(store.db);
  const clock = deps.now;
  const now = clock ? () => clock().getTime() : Date.now;
  const issuerKeys = new IssuerKeys(keyStore, new OidcKeyStateRepo(store.db), now);
  // A change to a project's clients or keys rebuilds its provider and drops verified tokens.
  const changed = (projectId: string) => {
    registry.evict(projectId);
    accessTokens.clear();
  };
  const clients = new OidcClientService(
    new OidcClientRepo(store.db),
    deps.tenancy,
    deps.policy,
    deps.audit,
    new ProcessCache(store.singleProcess),
    changed,
  );
  const registry = new ProviderRegistry({
    publicUrl,
    masterKey: deps.masterKey,
    payloads,
    clients,
    issuerKeys,
    trustProxy: deps.trustProxy,
    singleProcess: store.singleProcess,
    identity: deps.identity,
    sessionAuth: deps.sessionAuth,
    audit: deps.audit,
    onError: deps.onError,
    now,
  });
  const accessTokens = new AccessTokenVerifier(
    publicUrl,
    platformAudienceOf(publicUrl),
    issuerKeys,
    (projectId, clientId) => clients.identity(projectId, clientId),
    // Token expiry is judged by the real time, the provider's clock; keys' states by `now` (in IssuerKeys).
    Date.now,
    !store.singleProcess,
  );
  const keys = new OidcKeyService(
    issuerKeys,
    deps.tenancy,
    deps.audit,
    (projectId) => issuerOf(publicUrl, projectId),
    changed,
  );
  const replay = deps.redisUrl ? new RedisDpopReplayCache(deps.redisUrl) : new MemoryDpopReplayCache();
  const dpop = new DpopProofVerifier(publicUrl, replay);
  return { registry, clients, keys, accessTokens, dpop, payloads, close: () => replay.close() };
}
