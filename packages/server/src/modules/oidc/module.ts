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
import { OidcKeyService } from './keys.js';
import { OidcPayloadRepo } from './payload-repo.js';
import { issuerOf, ProviderRegistry, platformAudienceOf } from './registry.js';
import { IssuerKeys } from './signing-keys.js';

export interface OidcModule {
  registry: ProviderRegistry;
  clients: OidcClientService;
  keys: OidcKeyService;
  accessTokens: AccessTokenVerifier;
  payloads: OidcPayloadRepo;
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
}): OidcModule {
  const { store, keyStore, publicUrl } = deps;
  const payloads = new OidcPayloadRepo(store.db);
  const issuerKeys = new IssuerKeys(keyStore);
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
    keyStore,
    trustProxy: deps.trustProxy,
    singleProcess: store.singleProcess,
    identity: deps.identity,
    sessionAuth: deps.sessionAuth,
    audit: deps.audit,
    onError: deps.onError,
  });
  const accessTokens = new AccessTokenVerifier(
    publicUrl,
    platformAudienceOf(publicUrl),
    issuerKeys,
    (projectId, clientId) => clients.identity(projectId, clientId),
  );
  const keys = new OidcKeyService(
    issuerKeys,
    deps.tenancy,
    deps.audit,
    (projectId) => issuerOf(publicUrl, projectId),
    changed,
  );
  return { registry, clients, keys, accessTokens, payloads };
}
