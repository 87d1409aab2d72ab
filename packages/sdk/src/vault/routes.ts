import { type PersonaApi, unwrap } from '../client.js';
import type { paths } from '../generated/api.js';
import { PersonaApiError } from '../problem.js';
import type { ManifestPage } from './chain.js';
import { vaultApiError } from './errors.js';
import type { SessionAnswer, SessionAuthentication, SessionRequest } from './session.js';

type JsonOf<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type Op<Path extends keyof paths, Method extends 'get' | 'post' | 'delete'> = NonNullable<
  paths[Path][Method]
>;
type Ok<Path extends keyof paths, Method extends 'get' | 'post', Status extends 200 | 201> =
  Op<Path, Method>['responses'] extends Record<Status, infer Response> ? JsonOf<Response> : never;

const VAULTS = '/v1/projects/{projectId}/vaults';
const VAULT = '/v1/projects/{projectId}/vaults/{vaultId}';
type VaultPath<Suffix extends string> = `${typeof VAULT}${Suffix}`;

/** A vault as the server describes it (owner, label, status, current manifest). */
export type Vault = Ok<typeof VAULT, 'get', 200>;
export type CreateVaultBody = JsonOf<Op<typeof VAULTS, 'post'>['requestBody']>;
/** A commit as sent: the signed manifest of the state it leaves, and what changes. */
export type CommitBody = JsonOf<Op<VaultPath<'/commits'>, 'post'>['requestBody']>;
export type CommitAnswer = Ok<VaultPath<'/commits'>, 'post', 200>;
export type ItemVersionAnswer = Ok<VaultPath<'/items/{itemId}'>, 'get', 200>;
export type ItemsAnswer = Ok<VaultPath<'/items'>, 'get', 200>;
/** A live item as the server lists it; `size` is the ciphertext's bytes. */
export type ItemSummary = ItemsAnswer['data'][number];
export type VersionsAnswer = Ok<VaultPath<'/items/{itemId}/versions'>, 'get', 200>;
export type VersionSummary = VersionsAnswer['data'][number];
/** A page of the access log; with proofs, each entry's inclusion proof and the checkpoint they lead to. */
export type AccessLogPage = Ok<VaultPath<'/access-log'>, 'get', 200>;
/** One access decision on a member route; `entry` is the exact ledger entry its proof proves. */
export type AccessLogEntry = AccessLogPage['data'][number];

/** How a member request authenticates besides the API key: its session, and a guardian approval if any. */
export interface MemberAuth {
  session: string;
  approval?: string;
}

/** Every vault route the client uses, for one vault; refusals are PersonaApiError (VaultAccessError). */
export interface VaultRoutes {
  createVault(body: CreateVaultBody): Promise<Vault>;
  getVault(): Promise<Vault>;
  deleteVault(auth: MemberAuth): Promise<void>;
  openSession(body: SessionRequest): Promise<SessionAnswer>;
  stepUp(auth: MemberAuth, authentication: SessionAuthentication): Promise<Omit<SessionAnswer, 'token'>>;
  endSession(auth: MemberAuth): Promise<void>;
  commit(auth: MemberAuth, body: CommitBody): Promise<CommitAnswer>;
  item(auth: MemberAuth, itemId: string, version?: number): Promise<ItemVersionAnswer>;
  items(auth: MemberAuth, cursor?: string): Promise<ItemsAnswer>;
  versions(auth: MemberAuth, itemId: string, cursor?: string): Promise<VersionsAnswer>;
  manifests(auth: MemberAuth, after: number): Promise<ManifestPage>;
  /** A page of the access log (default: 100 entries); needs the API key only. */
  accessLog(query: { limit?: number; cursor?: string; proof: boolean }): Promise<AccessLogPage>;
  ledgerKey(): Promise<string>;
}

/** Pages of lists the client walks whole (items, versions) and of the manifest chain. */
const PAGE_LIMIT = 100;

function memberHeaders(auth: MemberAuth): Record<string, string> {
  return {
    'persona-vault-session': auth.session,
    ...(auth.approval === undefined ? {} : { 'persona-vault-approval': auth.approval }),
  };
}

/** The vault routes of one vault over the API client. */
export function vaultRoutes(api: PersonaApi, projectId: string, vaultId: string): VaultRoutes {
  const vault = { projectId, vaultId };
  const call = async <T>(request: Promise<{ data?: T; error?: unknown; response: Response }>) => {
    try {
      return await unwrap(request);
    } catch (error) {
      throw error instanceof PersonaApiError ? vaultApiError(error) : error;
    }
  };
  return {
    createVault: (body) => call(api.POST(VAULTS, { params: { path: { projectId } }, body })),
    getVault: () => call(api.GET(VAULT, { params: { path: vault } })),
    deleteVault: async (auth) => {
      await call(api.DELETE(VAULT, { params: { path: vault }, headers: memberHeaders(auth) }));
    },
    openSession: (body) => call(api.POST(`${VAULT}/sessions`, { params: { path: vault }, body })),
    stepUp: (auth, authentication) =>
      call(
        api.POST(`${VAULT}/sessions/current/step-up`, {
          params: { path: vault },
          headers: memberHeaders(auth),
          body: { authentication },
        }),
      ),
    endSession: async (auth) => {
      await call(
        api.DELETE(`${VAULT}/sessions/current`, { params: { path: vault }, headers: memberHeaders(auth) }),
      );
    },
    commit: (auth, body) =>
      call(api.POST(`${VAULT}/commits`, { params: { path: vault }, headers: memberHeaders(auth), body })),
    item: (auth, itemId, version) =>
      call(
        version === undefined
          ? api.GET(`${VAULT}/items/{itemId}`, {
              params: { path: { ...vault, itemId } },
              headers: memberHeaders(auth),
            })
          : api.GET(`${VAULT}/items/{itemId}/versions/{version}`, {
              params: { path: { ...vault, itemId, version } },
              headers: memberHeaders(auth),
            }),
      ),
    items: (auth, cursor) =>
      call(
        api.GET(`${VAULT}/items`, {
          params: { path: vault, query: { limit: PAGE_LIMIT, ...(cursor === undefined ? {} : { cursor }) } },
          headers: memberHeaders(auth),
        }),
      ),
    versions: (auth, itemId, cursor) =>
      call(
        api.GET(`${VAULT}/items/{itemId}/versions`, {
          params: {
            path: { ...vault, itemId },
            query: { limit: PAGE_LIMIT, ...(cursor === undefined ? {} : { cursor }) },
          },
          headers: memberHeaders(auth),
        }),
      ),
    manifests: (auth, after) =>
      call(
        api.GET(`${VAULT}/manifests`, {
          params: { path: vault, query: { after, limit: PAGE_LIMIT } },
          headers: memberHeaders(auth),
        }),
      ),
    accessLog: ({ limit = PAGE_LIMIT, ...query }) =>
      call(api.GET(`${VAULT}/access-log`, { params: { path: vault, query: { limit, ...query } } })),
    ledgerKey: async () => String(await call(api.GET('/ledger/verifier-key', { parseAs: 'text' }))).trim(),
  };
}
