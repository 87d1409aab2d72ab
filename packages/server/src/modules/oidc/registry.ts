import type Provider from 'oidc-provider';
import type { AuditService } from '../audit/service.js';
import type { IdentityService } from '../identity/service.js';
import type { SessionAuth } from '../identity/session-auth.js';
import { SCOPES } from '../policy/model.js';
import { projectAdapter } from './adapter.js';
import type { OidcClientService } from './clients.js';
import type { OidcPayloadRepo } from './payload-repo.js';
import { createProjectProvider, type IssuerEvent } from './provider.js';
import type { IssuerKey, IssuerKeys } from './signing-keys.js';

/** With a shared database another replica may change clients: rebuild a provider at least this often. */
const SHARED_PROVIDER_TTL_MS = 30_000;

interface CachedProvider {
  provider: Promise<Provider>;
  builtAt: number;
  /** The published keys and their states when it was built: a rotation elsewhere changes them. */
  keysFingerprint: string;
  /** When its keys change by time alone (a next key starts signing, a retired one leaves the JWKS). */
  changesAt: number;
}

export interface ProviderRegistryOptions {
  publicUrl: string;
  masterKey: Uint8Array;
  payloads: OidcPayloadRepo;
  clients: OidcClientService;
  issuerKeys: IssuerKeys;
  /** Whether X-Forwarded-* headers are trusted (the platform's trustProxy setting). */
  trustProxy: boolean;
  /** True when this process is the database's only user (embedded SQLite): changes are all seen here. */
  singleProcess: boolean;
  identity: IdentityService;
  sessionAuth: SessionAuth;
  audit: AuditService;
  /** Where failures that no request answers (audit of provider events) are reported. */
  onError: (error: unknown) => void;
  /** The clock key activation is judged by (the IssuerKeys clock). */
  now: () => number;
}

export function issuerOf(publicUrl: string, projectId: string): string {
  return `${publicUrl}/p/${projectId}/oidc`;
}

export function platformAudienceOf(publicUrl: string): string {
  return `${publicUrl}/v1`;
}

/**
 * One provider per project, built on first use and kept until the project's clients or keys change, or
 * until a staged key activates or a retired one is unpublished. With a shared database (several replicas)
 * each use also compares the key lifecycle rows, one indexed read, so a rotation on another replica is
 * picked up at once.
 */
export class ProviderRegistry {
  private readonly providers = new Map<string, CachedProvider>();
  private readonly building = new Map<string, Promise<Provider>>();
  /** Counts evictions per project, so a build that began before one is not cached after it. */
  private readonly evictions = new Map<string, number>();

  constructor(private readonly options: ProviderRegistryOptions) {}

  async get(projectId: string): Promise<Provider> {
    const cached = this.providers.get(projectId);
    if (cached && (await this.fresh(projectId, cached))) return cached.provider;
    // One build at a time per project: concurrent first requests would otherwise each read the key set
    // and, for a new project, each create its signing keys.
    let building = this.building.get(projectId);
    if (!building) {
      const started = this.rebuild(projectId).finally(() => {
        if (this.building.get(projectId) === started) this.building.delete(projectId);
      });
      building = started;
      this.building.set(projectId, started);
    }
    return building;
  }

  evict(projectId: string): void {
    this.providers.delete(projectId);
    this.building.delete(projectId);
    this.evictions.set(projectId, (this.evictions.get(projectId) ?? 0) + 1);
  }

  private async rebuild(projectId: string): Promise<Provider> {
    const evictions = this.evictions.get(projectId) ?? 0;
    const keySet = await this.options.issuerKeys.keySet(projectId);
    const entry: CachedProvider = {
      provider: this.build(projectId, keySet.keys),
      builtAt: Date.now(),
      keysFingerprint: keySet.fingerprint,
      changesAt: keySet.changesAt,
    };
    // Evicted meanwhile (a client or key changed): this caller gets the provider, the next one a new build.
    if ((this.evictions.get(projectId) ?? 0) === evictions) this.providers.set(projectId, entry);
    entry.provider.catch(() => {
      if (this.providers.get(projectId) === entry) this.providers.delete(projectId);
    });
    return entry.provider;
  }

  private async fresh(projectId: string, cached: CachedProvider): Promise<boolean> {
    if (this.options.now() >= cached.changesAt) return false;
    if (this.options.singleProcess) return true;
    if (Date.now() - cached.builtAt > SHARED_PROVIDER_TTL_MS) return false;
    return cached.keysFingerprint === (await this.options.issuerKeys.fingerprint(projectId));
  }

  private audit(projectId: string, event: IssuerEvent): Promise<void> {
    const base = { orgId: null, projectId };
    if (event.type === 'oidc.logged_out') {
      return this.options.audit.recordAlone({
        ...base,
        type: event.type,
        actor: event.accountId ?? 'anonymous',
        subject: event.clientId ?? projectId,
        details: { clientId: event.clientId ?? null },
      });
    }
    return this.options.audit.recordAlone({
      ...base,
      type: event.type,
      actor: event.clientId,
      subject: event.grantId ?? event.clientId,
      details: { clientId: event.clientId },
    });
  }

  private async build(projectId: string, keys: IssuerKey[]): Promise<Provider> {
    const { publicUrl, masterKey, payloads, clients, issuerKeys, identity, sessionAuth } = this.options;
    const scopes = new Set<string>(SCOPES.filter((scope) => scope !== '*'));
    for (const scope of await clients.projectScopes(projectId)) scopes.add(scope);
    const provider = createProjectProvider({
      issuer: issuerOf(publicUrl, projectId),
      projectId,
      platformAudience: platformAudienceOf(publicUrl),
      masterKey,
      adapter: projectAdapter(
        projectId,
        payloads,
        (project, clientId) => clients.findForProvider(project, clientId),
        scopes,
      ),
      signingKeys: issuerKeys.signers(keys),
      scopes,
      clientResources: async (clientId) =>
        JSON.parse((await clients.findForProvider(projectId, clientId))?.resources ?? '[]') as string[],
      findAccount: (userId) => identity.findAccount(projectId, userId),
      endPlatformSession: async (cookieHeader) => {
        const session = await sessionAuth.fromCookie(cookieHeader, projectId);
        if (session) await identity.signOut(session);
        return session ? { clearCookie: sessionAuth.clearedCookie(projectId) } : undefined;
      },
      onEvent: (event) => {
        this.audit(projectId, event).catch(this.options.onError);
      },
      recordFirstPartyConsent: (consent) =>
        this.options.audit.recordAlone({
          type: 'oidc.consent_granted',
          orgId: null,
          projectId,
          actor: consent.accountId,
          subject: consent.grantId,
          details: { clientId: consent.clientId, scopes: consent.scopes, firstParty: true },
        }),
    });
    provider.proxy = this.options.trustProxy;
    return provider;
  }
}
