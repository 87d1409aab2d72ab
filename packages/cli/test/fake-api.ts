import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiKey, Organization, Project } from '../src/types.js';

/** What the fake saw of one request. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
}

interface Reply {
  status: number;
  body?: unknown;
  contentType?: string;
}

type StoredKey = ApiKey & { secret: string };

/**
 * An in-memory stand-in for the server's tenancy API on 127.0.0.1: same paths, shapes, cursor pagination
 * (default 20, at most 100 per page), bearer authentication and problem+json errors.
 */
export class FakeApi {
  readonly requests: RecordedRequest[] = [];
  readonly orgs: Organization[] = [];
  readonly projects: Project[] = [];
  readonly keys: StoredKey[] = [];
  /** When set, answers every request with this instead (a proxy error page, a misbehaving server). */
  replaceReplies: ((request: RecordedRequest) => Reply) | undefined;
  readonly #server: Server = createServer((req, res) => {
    void this.#handle(req, res);
  });
  #sequence = 0;

  /** @param adminSecret the bearer secret accepted besides the secrets of created, unrevoked keys */
  constructor(
    readonly adminSecret: string,
    readonly basePath = '',
  ) {}

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}${this.basePath}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.#server.close(resolve));
  }

  newId(prefix: 'org' | 'prj' | 'key'): string {
    this.#sequence += 1;
    return `${prefix}_${this.#sequence.toString(16).padStart(32, '0')}`;
  }

  addOrg(name: string): Organization {
    const org = { id: this.newId('org'), name, createdAt: new Date().toISOString() };
    this.orgs.push(org);
    return org;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: text ? JSON.parse(text) : undefined,
    };
    this.requests.push(request);
    const reply = this.replaceReplies ? this.replaceReplies(request) : this.#route(request);
    const isProblem = reply.status >= 400 && reply.contentType === undefined;
    res.statusCode = reply.status;
    res.setHeader(
      'content-type',
      reply.contentType ?? (isProblem ? 'application/problem+json' : 'application/json'),
    );
    if (reply.body === undefined) res.end();
    else res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
  }

  #route(request: RecordedRequest): Reply {
    const authorization = request.headers.authorization ?? '';
    const secret = authorization.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : '';
    if (secret !== this.adminSecret && !this.keys.some((key) => key.secret === secret && !key.revokedAt)) {
      return problem(
        401,
        'unauthorized',
        'Unauthorized',
        'The API key is missing, unknown, revoked or expired.',
      );
    }
    const path = request.path.slice(this.basePath.length);
    for (const [method, pattern, handle] of this.#routes) {
      const match = pattern.exec(path);
      if (match && request.method === method) return handle(match.slice(1), request);
    }
    return notFound(`No route ${request.method} ${path}.`);
  }

  readonly #routes: Array<[string, RegExp, (ids: string[], request: RecordedRequest) => Reply]> = [
    ['POST', /^\/v1\/organizations$/, (_, request) => this.#named(request, (name) => this.addOrg(name))],
    ['GET', /^\/v1\/organizations$/, (_, request) => page(this.orgs, request.query)],
    ['GET', /^\/v1\/organizations\/(org_\w+)$/, ([orgId]) => this.#get(this.orgs, orgId)],
    ['DELETE', /^\/v1\/organizations\/(org_\w+)$/, ([orgId]) => this.#delete(this.orgs, orgId)],
    [
      'POST',
      /^\/v1\/organizations\/(org_\w+)\/projects$/,
      ([orgId = ''], request) =>
        this.#within(this.orgs, orgId) ??
        this.#named(request, (name) => {
          const project = { id: this.newId('prj'), orgId, name, createdAt: new Date().toISOString() };
          this.projects.push(project);
          return project;
        }),
    ],
    [
      'GET',
      /^\/v1\/organizations\/(org_\w+)\/projects$/,
      ([orgId], request) =>
        this.#within(this.orgs, orgId) ??
        page(
          this.projects.filter((p) => p.orgId === orgId),
          request.query,
        ),
    ],
    ['GET', /^\/v1\/projects\/(prj_\w+)$/, ([projectId]) => this.#get(this.projects, projectId)],
    ['DELETE', /^\/v1\/projects\/(prj_\w+)$/, ([projectId]) => this.#delete(this.projects, projectId)],
    [
      'POST',
      /^\/v1\/projects\/(prj_\w+)\/api-keys$/,
      ([projectId = ''], request) =>
        this.#within(this.projects, projectId) ??
        this.#named(request, (name, body) => {
          const secret = `sk_${randomBytes(32).toString('base64url')}`;
          const key: StoredKey = {
            id: this.newId('key'),
            projectId,
            name,
            role: (body.role as ApiKey['role'] | undefined) ?? 'developer',
            scopes: (body.scopes as string[] | undefined) ?? ['*'],
            prefix: secret.slice(0, 12),
            createdAt: new Date().toISOString(),
            expiresAt: (body.expiresAt as string | undefined) ?? null,
            lastUsedAt: null,
            revokedAt: null,
            secret,
          };
          this.keys.push(key);
          return key;
        }),
    ],
    [
      'GET',
      /^\/v1\/projects\/(prj_\w+)\/api-keys$/,
      ([projectId], request) =>
        this.#within(this.projects, projectId) ??
        page(
          this.keys.filter((key) => key.projectId === projectId).map(({ secret: _, ...key }) => key),
          request.query,
        ),
    ],
    [
      'DELETE',
      /^\/v1\/projects\/(prj_\w+)\/api-keys\/(key_\w+)$/,
      ([projectId, keyId]) => {
        const key = this.keys.find((k) => k.projectId === projectId && k.id === keyId);
        if (!key) return notFound(`No API key ${keyId}.`);
        key.revokedAt = new Date().toISOString();
        return { status: 204 };
      },
    ],
  ];

  /** A 404 when the parent resource does not exist, else undefined. */
  #within(parents: Array<{ id: string }>, id: string | undefined): Reply | undefined {
    return parents.some((parent) => parent.id === id) ? undefined : notFound(`No resource ${id}.`);
  }

  #get(items: Array<{ id: string }>, id: string | undefined): Reply {
    const item = items.find((candidate) => candidate.id === id);
    return item ? { status: 200, body: item } : notFound(`No resource ${id}.`);
  }

  #delete(items: Array<{ id: string }>, id: string | undefined): Reply {
    const index = items.findIndex((item) => item.id === id);
    if (index < 0) return notFound(`No resource ${id}.`);
    items.splice(index, 1);
    return { status: 204 };
  }

  #named(request: RecordedRequest, create: (name: string, body: Record<string, unknown>) => unknown): Reply {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body.name !== 'string' || body.name.trim() === '') {
      return problem(
        400,
        'validation-error',
        'Invalid request',
        'The request is not valid: body /name is invalid',
        [{ in: 'body', pointer: '#/name', detail: 'must be a non-empty string' }],
      );
    }
    return { status: 201, body: create(body.name, body) };
  }
}

function page<T extends { id: string }>(items: T[], query: URLSearchParams): Reply {
  const limit = Number(query.get('limit') ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return problem(400, 'validation-error', 'Invalid request', 'The request is not valid', [
      { in: 'querystring', pointer: '#/limit', detail: 'must be <= 100' },
    ]);
  }
  const cursor = query.get('cursor');
  const after = cursor === null ? undefined : Buffer.from(cursor, 'base64url').toString('utf8');
  const rest = after === undefined ? items : items.filter((item) => item.id > after);
  const data = rest.slice(0, limit);
  const last = data.at(-1);
  const nextCursor = rest.length > limit && last ? Buffer.from(last.id).toString('base64url') : null;
  return { status: 200, body: { data, nextCursor } };
}

export function problem(
  status: number,
  slug: string,
  title: string,
  detail: string,
  errors?: Array<{ in: string; pointer: string; detail: string }>,
): Reply {
  return {
    status,
    body: {
      type: `urn:personachain:problem:${slug}`,
      title,
      status,
      detail,
      requestId: 'req-1',
      ...(errors && { errors }),
    },
  };
}

function notFound(detail: string): Reply {
  return problem(404, 'not-found', 'Not found', detail);
}
