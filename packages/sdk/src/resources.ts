import type { DidResolutionResult } from '@personachain/credentials';
import { createPersonaApi, type PersonaApi, type PersonaClientOptions, unwrap } from './client.js';
import type { paths } from './generated/api.js';
import { apiError, type Problem } from './problem.js';

type JsonOf<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type Op<Path extends keyof paths, Method extends 'get' | 'post' | 'delete'> = NonNullable<
  paths[Path][Method]
>;
type BodyOf<Path extends keyof paths> = JsonOf<NonNullable<Op<Path, 'post'>['requestBody']>>;
type QueryOf<Path extends keyof paths> = NonNullable<Op<Path, 'get'>['parameters']['query']>;

export type Organization = JsonOf<Op<'/v1/organizations/{orgId}', 'get'>['responses'][200]>;
export type Project = JsonOf<Op<'/v1/projects/{projectId}', 'get'>['responses'][200]>;
export type ApiKey = JsonOf<Op<'/v1/projects/{projectId}/api-keys/{keyId}', 'get'>['responses'][200]>;
export type CreatedApiKey = JsonOf<Op<'/v1/projects/{projectId}/api-keys', 'post'>['responses'][201]>;
export type Issuer = JsonOf<Op<'/v1/projects/{projectId}/issuers/{issuerId}', 'get'>['responses'][200]>;
export type AuditPage = JsonOf<Op<'/v1/projects/{projectId}/audit', 'get'>['responses'][200]>;
export type CreateApiKey = BodyOf<'/v1/projects/{projectId}/api-keys'>;
export type CreateIssuer = BodyOf<'/v1/projects/{projectId}/issuers'>;
export type IssueRequest = BodyOf<'/v1/issuers/{issuerId}/credentials/issue'>;
export type IssueOptions = NonNullable<IssueRequest['options']>;
export type ChangeStatusRequest = BodyOf<'/v1/issuers/{issuerId}/credentials/status'>;
export type StatusChange = JsonOf<Op<'/v1/issuers/{issuerId}/credentials/status', 'post'>['responses'][200]>;
export type VerifyCredentialRequest = BodyOf<'/v1/projects/{projectId}/verifier/credentials/verify'>;
export type VerifyPresentationRequest = BodyOf<'/v1/projects/{projectId}/verifier/presentations/verify'>;
export type DeriveOptions = NonNullable<
  BodyOf<'/v1/projects/{projectId}/holder/credentials/derive'>['options']
>;
/** `holder` (the id of the project's issuer that signs), `challenge`, and `domain`, `cryptosuite`, `format`. */
export type ProveOptions = BodyOf<'/v1/projects/{projectId}/holder/presentations'>['options'];
/** did:persona resolution options: `history` (operations with inclusion proofs), `versionId`, `versionTime`. */
export type ResolutionOptions = NonNullable<Op<'/1.0/identifiers/{*}', 'get'>['parameters']['query']>;
export type VerificationCheck = JsonOf<
  Op<'/v1/projects/{projectId}/verifier/credentials/verify', 'post'>['responses'][200]
>['checks'][number];

/** A page of a list: `nextCursor` is null on the last page. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** `limit` (1–100, server default 20) and `cursor` (the `nextCursor` of the previous page). */
export interface PageQuery {
  limit?: number;
  cursor?: string;
}

/** Options of a write: the same `idempotencyKey` on a retry replays the first answer instead of acting twice. */
export interface WriteOptions {
  idempotencyKey?: string;
}

/** Each Bitstring Status List entry of the credential: `status: true` means revoked or suspended. */
export type StatusResult = NonNullable<
  JsonOf<
    Op<'/v1/projects/{projectId}/verifier/credentials/verify', 'post'>['responses'][200]
  >['credentialStatus']
>[number];

/** What the verifier said: `verified: false` carries the reasons (a `400 not-verified` is an answer, not an error). */
export type VerificationOutcome =
  | { verified: true; checks: VerificationCheck[]; credentialStatus?: StatusResult[] }
  | {
      verified: false;
      checks: VerificationCheck[];
      credentialStatus?: StatusResult[];
      /** Each reason: `code` (e.g. `invalid-signature`), `message`, and `path` into the credential. */
      errors: Array<{ code: string; message: string; path?: string }>;
      detail: string;
    };

export type PresentationVerificationOutcome = VerificationOutcome & {
  credentialResults: NonNullable<Problem['credentialResults']>;
};

export interface PersonaClient {
  /** The typed `openapi-fetch` client, for every route (including those without a helper below). */
  api: PersonaApi;
  organizations: {
    create(body: { name: string }, options?: WriteOptions): Promise<Organization>;
    list(query?: PageQuery): Promise<Page<Organization>>;
    get(orgId: string): Promise<Organization>;
    delete(orgId: string): Promise<void>;
  };
  projects: {
    create(orgId: string, body: { name: string }, options?: WriteOptions): Promise<Project>;
    list(orgId: string, query?: PageQuery): Promise<Page<Project>>;
    get(projectId: string): Promise<Project>;
    delete(projectId: string): Promise<void>;
  };
  apiKeys: {
    create(projectId: string, body: CreateApiKey, options?: WriteOptions): Promise<CreatedApiKey>;
    list(projectId: string, query?: PageQuery): Promise<Page<ApiKey>>;
    get(projectId: string, keyId: string): Promise<ApiKey>;
    revoke(projectId: string, keyId: string): Promise<void>;
  };
  issuers: {
    create(projectId: string, body: CreateIssuer, options?: WriteOptions): Promise<Issuer>;
    list(projectId: string, query?: PageQuery): Promise<Page<Issuer>>;
    get(projectId: string, issuerId: string): Promise<Issuer>;
  };
  credentials: {
    /** VC-API issue: the secured credential (Data Integrity proof, or an enveloped vc+jwt). */
    issue(
      issuerId: string,
      credential: Record<string, unknown>,
      options?: IssueOptions,
      write?: WriteOptions,
    ): Promise<Record<string, unknown>>;
    /** Revokes, suspends (`status: true`, the default) or reinstates a suspended credential of the issuer. */
    changeStatus(issuerId: string, body: ChangeStatusRequest): Promise<StatusChange>;
    verify(
      projectId: string,
      verifiableCredential: unknown,
      options?: VerifyCredentialRequest['options'],
    ): Promise<VerificationOutcome>;
    verifyPresentation(
      projectId: string,
      verifiablePresentation: unknown,
      options: VerifyPresentationRequest['options'],
    ): Promise<PresentationVerificationOutcome>;
  };
  /** The VC-API holder side, on the server (the client-side equivalents: `deriveDisclosure`, `signPresentation`). */
  holder: {
    /** Selective disclosure: the credential with only the issuer's mandatory and the selected statements. */
    derive(
      projectId: string,
      verifiableCredential: Record<string, unknown>,
      options?: DeriveOptions,
    ): Promise<Record<string, unknown>>;
    /**
     * The presentation signed by the project's issuer `options.holder` (proofPurpose `authentication`): with a
     * Data Integrity proof, or an EnvelopedVerifiablePresentation for `format: 'application/vp+jwt'`.
     */
    prove(
      projectId: string,
      presentation: Record<string, unknown>,
      options: ProveOptions,
      write?: WriteOptions,
    ): Promise<Record<string, unknown>>;
  };
  audit: {
    list(projectId: string, query?: PageQuery & { proof?: boolean }): Promise<AuditPage>;
  };
  ledger: {
    /** The latest checkpoint, a C2SP signed note (text). */
    checkpoint(): Promise<string>;
  };
  dids: {
    /**
     * Resolves a DID (or dereferences a DID URL) with the server's resolver: the DID Resolution result, also
     * when resolution failed (`didResolutionMetadata.error`: `notFound`, `invalidDid`, …).
     */
    resolve(did: string, options?: ResolutionOptions): Promise<DidResolutionResult>;
  };
}

const NOT_VERIFIED = 'urn:personachain:problem:not-verified';

/** The API client: `api` for every route, plus typed helpers that throw `PersonaApiError` on 4xx/5xx. */
export function createPersonaClient(options: PersonaClientOptions): PersonaClient {
  const api = createPersonaApi(options);
  const write = (options?: WriteOptions) =>
    options?.idempotencyKey === undefined ? {} : { headers: { 'idempotency-key': options.idempotencyKey } };
  // The document marks `limit` required because it has a default; the server applies it when absent.
  const page = <Q>(query: PageQuery = {}) => query as Q;

  return {
    api,
    organizations: {
      create: (body, options) => unwrap(api.POST('/v1/organizations', { body, ...write(options) })),
      list: (query) =>
        unwrap(
          api.GET('/v1/organizations', { params: { query: page<QueryOf<'/v1/organizations'>>(query) } }),
        ),
      get: (orgId) => unwrap(api.GET('/v1/organizations/{orgId}', { params: { path: { orgId } } })),
      delete: async (orgId) => {
        await unwrap(api.DELETE('/v1/organizations/{orgId}', { params: { path: { orgId } } }));
      },
    },
    projects: {
      create: (orgId, body, options) =>
        unwrap(
          api.POST('/v1/organizations/{orgId}/projects', {
            params: { path: { orgId } },
            body,
            ...write(options),
          }),
        ),
      list: (orgId, query) =>
        unwrap(
          api.GET('/v1/organizations/{orgId}/projects', {
            params: { path: { orgId }, query: page<QueryOf<'/v1/organizations/{orgId}/projects'>>(query) },
          }),
        ),
      get: (projectId) => unwrap(api.GET('/v1/projects/{projectId}', { params: { path: { projectId } } })),
      delete: async (projectId) => {
        await unwrap(api.DELETE('/v1/projects/{projectId}', { params: { path: { projectId } } }));
      },
    },
    apiKeys: {
      create: (projectId, body, options) =>
        unwrap(
          api.POST('/v1/projects/{projectId}/api-keys', {
            params: { path: { projectId } },
            body,
            ...write(options),
          }),
        ),
      list: (projectId, query) =>
        unwrap(
          api.GET('/v1/projects/{projectId}/api-keys', {
            params: { path: { projectId }, query: page<QueryOf<'/v1/projects/{projectId}/api-keys'>>(query) },
          }),
        ),
      get: (projectId, keyId) =>
        unwrap(
          api.GET('/v1/projects/{projectId}/api-keys/{keyId}', { params: { path: { projectId, keyId } } }),
        ),
      revoke: async (projectId, keyId) => {
        await unwrap(
          api.DELETE('/v1/projects/{projectId}/api-keys/{keyId}', { params: { path: { projectId, keyId } } }),
        );
      },
    },
    issuers: {
      create: (projectId, body, options) =>
        unwrap(
          api.POST('/v1/projects/{projectId}/issuers', {
            params: { path: { projectId } },
            body,
            ...write(options),
          }),
        ),
      list: (projectId, query) =>
        unwrap(
          api.GET('/v1/projects/{projectId}/issuers', {
            params: { path: { projectId }, query: page<QueryOf<'/v1/projects/{projectId}/issuers'>>(query) },
          }),
        ),
      get: (projectId, issuerId) =>
        unwrap(
          api.GET('/v1/projects/{projectId}/issuers/{issuerId}', {
            params: { path: { projectId, issuerId } },
          }),
        ),
    },
    credentials: {
      issue: async (issuerId, credential, options, writeOptions) => {
        const { verifiableCredential } = await unwrap(
          api.POST('/v1/issuers/{issuerId}/credentials/issue', {
            params: { path: { issuerId } },
            body: { credential, ...(options === undefined ? {} : { options }) },
            ...write(writeOptions),
          }),
        );
        return verifiableCredential as Record<string, unknown>;
      },
      changeStatus: (issuerId, body) =>
        unwrap(
          api.POST('/v1/issuers/{issuerId}/credentials/status', { params: { path: { issuerId } }, body }),
        ),
      verify: async (projectId, verifiableCredential, options) => {
        const { data, error, response } = await api.POST(
          '/v1/projects/{projectId}/verifier/credentials/verify',
          {
            params: { path: { projectId } },
            body: { verifiableCredential, ...(options === undefined ? {} : { options }) },
          },
        );
        if (response.ok && data) return data;
        return notVerified(response, error);
      },
      verifyPresentation: async (projectId, verifiablePresentation, options) => {
        const { data, error, response } = await api.POST(
          '/v1/projects/{projectId}/verifier/presentations/verify',
          { params: { path: { projectId } }, body: { verifiablePresentation, options } },
        );
        if (response.ok && data) return data as PresentationVerificationOutcome;
        const outcome = notVerified(response, error);
        return { ...outcome, credentialResults: (error as Problem).credentialResults ?? [] };
      },
    },
    holder: {
      derive: async (projectId, verifiableCredential, options) => {
        const derived = await unwrap(
          api.POST('/v1/projects/{projectId}/holder/credentials/derive', {
            params: { path: { projectId } },
            body: { verifiableCredential, ...(options === undefined ? {} : { options }) },
          }),
        );
        return derived.verifiableCredential as Record<string, unknown>;
      },
      prove: async (projectId, presentation, options, writeOptions) => {
        const proved = await unwrap(
          api.POST('/v1/projects/{projectId}/holder/presentations', {
            params: { path: { projectId } },
            body: { presentation, options },
            ...write(writeOptions),
          }),
        );
        return proved.verifiablePresentation as Record<string, unknown>;
      },
    },
    audit: {
      list: (projectId, query) =>
        unwrap(
          api.GET('/v1/projects/{projectId}/audit', {
            params: { path: { projectId }, query: page<QueryOf<'/v1/projects/{projectId}/audit'>>(query) },
          }),
        ),
    },
    ledger: {
      checkpoint: () => unwrap(api.GET('/ledger/checkpoint', { parseAs: 'text' })),
    },
    dids: {
      resolve: async (did, query = {}) => {
        const { data, error, response } = await api.GET('/1.0/identifiers/{*}', {
          params: { path: { '*': did }, query },
          // openapi-fetch reads `{*}` as an exploded parameter without a name: the DID goes in here, encoded
          // whole (a DID URL's `#` must arrive as %23).
          pathSerializer: (pathname) => pathname.replace('{*}', encodeURIComponent(did)),
          headers: { accept: 'application/did-resolution' },
        });
        // Resolution errors keep the resolution-result body (DID Resolution), with an HTTP error status.
        const body: unknown = response.ok ? data : error;
        if (isResolutionResult(body)) return body;
        throw apiError(response, body);
      },
    },
  };
}

/** A `400 not-verified` as an outcome; any other refusal is a `PersonaApiError`. */
function notVerified(response: Response, error: unknown): VerificationOutcome & { verified: false } {
  const problem = error as Problem | undefined;
  if (response.status !== 400 || problem?.type !== NOT_VERIFIED) throw apiError(response, error);
  return {
    verified: false,
    checks: problem.checks ?? [],
    errors: (problem.errors ?? []).map(({ code, message, path }) => ({
      code: code ?? 'unknown',
      message: message ?? '',
      ...(path === undefined ? {} : { path }),
    })),
    detail: problem.detail,
    ...(problem.credentialStatus === undefined ? {} : { credentialStatus: problem.credentialStatus }),
  };
}

function isResolutionResult(body: unknown): body is DidResolutionResult {
  return typeof body === 'object' && body !== null && 'didDocument' in body;
}
