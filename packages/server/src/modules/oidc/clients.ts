import { hash } from 'node:crypto';
import { randomBytes, toBase64Url } from '@personachain/crypto';
import { v7 as uuidv7 } from 'uuid';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { Problem } from '../../http/problem.js';
import type { OidcClientsTable } from '../../store/schema.js';
import type { AuditEvent, AuditService } from '../audit/service.js';
import { type Principal, type Role, SCOPES } from '../policy/model.js';
import type { PolicyService } from '../policy/service.js';
import type { ProcessCache } from '../tenancy/process-cache.js';
import type { TenancyService } from '../tenancy/service.js';
import type { OidcClientRepo } from './client-repo.js';
import { checkClientShape } from './client-validation.js';
import type { JwsAlgorithm } from './signing-keys.js';

/** The roles a client's tokens may act with: never an org-wide role, so a token stays in its project. */
export const CLIENT_ROLES = ['viewer', 'auditor', 'developer'] as const;
export type ClientRole = (typeof CLIENT_ROLES)[number];

export interface OidcClient {
  clientId: string;
  projectId: string;
  name: string;
  role: ClientRole;
  scopes: string[];
  resources: string[];
  grantTypes: GrantType[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  /** A public client has no secret: it authenticates nothing at the token endpoint and must use PKCE. */
  public: boolean;
  skipConsent: boolean;
  /** The JWS alg of its ID tokens; null: the issuer's default (ES256). */
  idTokenSignedResponseAlg: JwsAlgorithm | null;
  createdAt: string;
  updatedAt: string;
}

export interface OidcClientInput {
  name: string;
  role: ClientRole;
  scopes: string[];
  resources: string[];
  grantTypes: GrantType[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  public: boolean;
  skipConsent: boolean;
  idTokenSignedResponseAlg: JwsAlgorithm | null;
}

/** What a token verifier needs of a client: where it belongs and the role its tokens act with. */
export interface ClientIdentity {
  clientId: string;
  projectId: string;
  orgId: string;
  role: ClientRole;
}

const CLIENT_ID_PATTERN = /^oc_[0-9a-f]{32}$/;
const SECRET_PREFIX = 'cs_';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const GRANT_TYPES = [
  'client_credentials',
  'authorization_code',
  'refresh_token',
  DEVICE_CODE_GRANT,
] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** Client secrets carry 256 random bits, so one SHA-256 keeps them safe at rest (as API keys do). */
export function hashClientSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** OIDC clients of a project: created, changed and deleted through the policy service, each act audited. */
export class OidcClientService {
  constructor(
    private readonly repo: OidcClientRepo,
    private readonly tenancy: TenancyService,
    private readonly policy: PolicyService,
    private readonly audit: AuditService,
    /** Client rows by project and client id, for the provider and token verification (cleared on every change). */
    private readonly rows: ProcessCache<OidcClientsTable>,
    private readonly onChange: (projectId: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(
    principal: Principal,
    projectId: string,
    input: OidcClientInput,
  ): Promise<OidcClient & { clientSecret?: string }> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'oidc_clients:write');
    this.enforceGrant(principal, project.id, project.orgId, input);
    checkClientShape(input);
    // A public client gets a secret nobody is shown: its row keeps the column's shape, the provider ignores it.
    const secret = SECRET_PREFIX + toBase64Url(randomBytes(32));
    const at = this.now().toISOString();
    const row: OidcClientsTable = {
      id: `oc_${uuidv7().replace(/-/g, '')}`,
      project_id: project.id,
      org_id: project.orgId,
      name: input.name,
      secret_hash: hashClientSecret(secret),
      role: input.role,
      scopes: JSON.stringify(unique(input.scopes)),
      resources: JSON.stringify(unique(input.resources)),
      ...interactiveColumns(input),
      created_at: at,
      updated_at: at,
    };
    await this.audited(principal, row, 'oidc_client.created', (repo) => repo.insert(row));
    return input.public ? toClient(row) : { ...toClient(row), clientSecret: secret };
  }

  async get(principal: Principal, projectId: string, clientId: string): Promise<OidcClient> {
    await this.tenancy.authorizeProject(principal, projectId, 'oidc_clients:read');
    return toClient(await this.load(projectId, clientId));
  }

  async list(
    principal: Principal,
    projectId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<OidcClient>> {
    await this.tenancy.authorizeProject(principal, projectId, 'oidc_clients:read');
    const after = decodeCursor(page.cursor, CLIENT_ID_PATTERN);
    const rows = await this.repo.list(projectId, { after, limit: page.limit + 1 });
    const found = toPage(rows, page.limit);
    return { data: found.data.map(toClient), nextCursor: found.nextCursor };
  }

  async update(
    principal: Principal,
    projectId: string,
    clientId: string,
    input: Partial<OidcClientInput>,
  ): Promise<OidcClient> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'oidc_clients:write');
    const stored = await this.load(projectId, clientId);
    const next = { ...toClient(stored), ...input };
    this.enforceGrant(principal, project.id, project.orgId, next);
    checkClientShape(next);
    const changes = {
      name: next.name,
      role: next.role,
      scopes: JSON.stringify(unique(next.scopes)),
      resources: JSON.stringify(unique(next.resources)),
      ...interactiveColumns(next),
      updated_at: this.now().toISOString(),
    };
    const row = { ...stored, ...changes };
    await this.audited(principal, row, 'oidc_client.updated', (repo) =>
      repo.update(projectId, clientId, changes),
    );
    return toClient(row);
  }

  async rotateSecret(
    principal: Principal,
    projectId: string,
    clientId: string,
  ): Promise<OidcClient & { clientSecret: string }> {
    await this.tenancy.authorizeProject(principal, projectId, 'oidc_clients:write');
    const row = await this.load(projectId, clientId);
    if (row.public_client === 1) throw new Problem('conflict', 'A public client has no secret to rotate.');
    const secret = SECRET_PREFIX + toBase64Url(randomBytes(32));
    const changes = { secret_hash: hashClientSecret(secret), updated_at: this.now().toISOString() };
    await this.audited(principal, row, 'oidc_client.secret_rotated', (repo) =>
      repo.update(projectId, clientId, changes),
    );
    return { ...toClient({ ...row, ...changes }), clientSecret: secret };
  }

  async delete(principal: Principal, projectId: string, clientId: string): Promise<void> {
    await this.tenancy.authorizeProject(principal, projectId, 'oidc_clients:write');
    const row = await this.load(projectId, clientId);
    await this.audited(principal, row, 'oidc_client.deleted', (repo) => repo.delete(projectId, clientId));
  }

  /** The stored client, for the provider's adapter (secret as its hash). */
  async findForProvider(projectId: string, clientId: string): Promise<OidcClientsTable | undefined> {
    const cacheKey = `${projectId}/${clientId}`;
    const cached = this.rows.get(cacheKey);
    if (cached) return cached;
    const row = await this.repo.find(projectId, clientId);
    if (row) this.rows.set(cacheKey, row);
    return row;
  }

  /** Every scope the project's clients registered: the scopes its issuer knows. */
  async projectScopes(projectId: string): Promise<string[]> {
    return [
      ...new Set((await this.repo.listAll(projectId)).flatMap((row) => JSON.parse(row.scopes) as string[])),
    ];
  }

  /** The client a verified access token names, if it still exists in that project. */
  async identity(projectId: string, clientId: string): Promise<ClientIdentity | undefined> {
    const row = await this.findForProvider(projectId, clientId);
    return (
      row && { clientId: row.id, projectId: row.project_id, orgId: row.org_id, role: row.role as ClientRole }
    );
  }

  /** A client may not get a role or scopes beyond the caller's own (the same rule as API keys). */
  private enforceGrant(principal: Principal, projectId: string, orgId: string, input: OidcClientInput): void {
    this.policy.enforce(
      principal,
      'oidc_clients:write',
      { type: 'Project', id: projectId, orgId },
      { grantedRole: input.role as Role, grantedScopes: input.scopes.filter(isPlatformScope) },
    );
  }

  private async load(projectId: string, clientId: string): Promise<OidcClientsTable> {
    const row = CLIENT_ID_PATTERN.test(clientId) ? await this.repo.find(projectId, clientId) : undefined;
    if (!row) throw new Problem('not-found', `No OIDC client ${clientId}.`);
    return row;
  }

  private async audited(
    principal: Principal,
    row: OidcClientsTable,
    type: AuditEvent['type'],
    work: (repo: OidcClientRepo) => Promise<void>,
  ): Promise<void> {
    await this.repo.db.transaction().execute(async (trx) => {
      await work(this.repo.withDb(trx));
      await this.audit.record(trx, {
        type,
        orgId: row.org_id,
        projectId: row.project_id,
        actor: principal.keyId,
        subject: row.id,
        details: { role: row.role, scopes: JSON.parse(row.scopes) as string[] },
      });
    });
    this.audit.committed();
    this.rows.clear();
    this.onChange(row.project_id);
  }
}

const PLATFORM_SCOPES = new Set<string>(SCOPES.filter((scope) => scope !== '*'));

/** Scopes of the platform API (the Cedar scopes), as opposed to scopes of a client's own resources. */
export function isPlatformScope(scope: string): boolean {
  return PLATFORM_SCOPES.has(scope);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function toClient(row: OidcClientsTable): OidcClient {
  return {
    clientId: row.id,
    projectId: row.project_id,
    name: row.name,
    role: row.role as ClientRole,
    scopes: JSON.parse(row.scopes) as string[],
    resources: JSON.parse(row.resources) as string[],
    grantTypes: JSON.parse(row.grant_types) as GrantType[],
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    public: row.public_client === 1,
    skipConsent: row.skip_consent === 1,
    idTokenSignedResponseAlg: row.id_token_signed_response_alg as JwsAlgorithm | null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function interactiveColumns(input: OidcClientInput) {
  return {
    grant_types: JSON.stringify(unique(input.grantTypes)),
    redirect_uris: JSON.stringify(unique(input.redirectUris)),
    post_logout_redirect_uris: JSON.stringify(unique(input.postLogoutRedirectUris)),
    public_client: input.public ? 1 : 0,
    skip_consent: input.skipConsent ? 1 : 0,
    id_token_signed_response_alg: input.idTokenSignedResponseAlg,
  };
}
