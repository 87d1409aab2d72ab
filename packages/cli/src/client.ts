import { randomUUID } from 'node:crypto';
import { CliError } from './errors.js';
import type { Page } from './types.js';

const REQUEST_TIMEOUT_MS = 30_000;
/** The largest `limit` the API accepts for one page. */
export const MAX_PAGE_SIZE = 100;

type Query = Record<string, string | number | undefined>;

export interface ListOptions {
  /** Stop after this many items; without it every page is fetched. */
  limit?: number;
  /** Start after this cursor (the `nextCursor` of an earlier page). */
  cursor?: string;
}

/** A small client for the PersonaChain `/v1` API, authenticated with one API key. */
export class ApiClient {
  readonly #base: URL;
  readonly #apiKey: string;
  readonly #timeoutMs: number;

  /** `baseUrl` may carry a path prefix (a reverse proxy's mount point); API paths are resolved under it. */
  constructor(baseUrl: string, apiKey: string, timeoutMs = REQUEST_TIMEOUT_MS) {
    this.#base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    this.#apiKey = apiKey;
    this.#timeoutMs = timeoutMs;
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.#request<T>('GET', path, query);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#request<T>('POST', path, {}, body);
  }

  async delete(path: string): Promise<void> {
    await this.#request<unknown>('DELETE', path, {});
  }

  /** Follows `nextCursor` until the list ends or `limit` items are collected. */
  async list<T>(path: string, options: ListOptions = {}): Promise<Page<T>> {
    const { limit } = options;
    const data: T[] = [];
    let cursor = options.cursor;
    for (;;) {
      const wanted = Math.min(MAX_PAGE_SIZE, (limit ?? Number.POSITIVE_INFINITY) - data.length);
      const page = await this.get<Page<T>>(path, { limit: wanted, cursor });
      data.push(...page.data.slice(0, wanted));
      if (page.nextCursor === null || data.length === limit) return { data, nextCursor: page.nextCursor };
      if (page.nextCursor === cursor) {
        throw new CliError(`the server returned the same cursor twice for ${path}`);
      }
      cursor = page.nextCursor;
    }
  }

  async #request<T>(method: string, path: string, query: Query, body?: unknown): Promise<T> {
    const url = new URL(path, this.#base);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      authorization: `Bearer ${this.#apiKey}`,
    };
    if (method === 'POST') headers['idempotency-key'] = randomUUID();
    if (body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw unreachable(this.#base, this.#timeoutMs, error);
    }

    if (!response.ok) throw problemError(response, text);
    if (response.status === 204) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      const type = response.headers.get('content-type') ?? 'no content type';
      throw new CliError(`unexpected response from ${url.href}: expected JSON, got ${type}`);
    }
  }
}

function unreachable(base: URL, timeoutMs: number, error: unknown): CliError {
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return new CliError(`no response from ${base.href} within ${timeoutMs / 1000} s`);
  }
  // fetch() rejects with a TypeError("fetch failed") whose cause is the socket error.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const reason =
    cause instanceof Error
      ? cause.message || (cause as NodeJS.ErrnoException).code || cause.name
      : String(cause);
  return new CliError(`cannot reach ${base.href}: ${reason}`, 1, [
    'is the server running there? set the address with --url or PERSONA_URL',
  ]);
}

/** Turns an RFC 9457 problem (or any other error response) into the message the CLI prints. */
function problemError(response: Response, text: string): CliError {
  const problem = parseObject(text);
  const title = stringField(problem, 'title') ?? `HTTP ${response.status} ${response.statusText}`.trim();
  const detail = stringField(problem, 'detail');
  const message = detail && detail !== title ? `${title}: ${detail}` : title;
  const requestId = stringField(problem, 'requestId');
  const details = fieldErrors(problem.errors);
  details.push(requestId ? `HTTP ${response.status}, request id ${requestId}` : `HTTP ${response.status}`);
  return new CliError(message, 1, details);
}

/** Field errors are `{ in, pointer, detail }`: where the input was, a JSON Pointer into it, what is wrong. */
function fieldErrors(errors: unknown): string[] {
  if (!Array.isArray(errors)) return [];
  return errors.map((error: unknown) => {
    const entry = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
    const where = [stringField(entry, 'in'), stringField(entry, 'pointer')?.replace(/^#/, '')]
      .filter(Boolean)
      .join(' ');
    const what = stringField(entry, 'detail') ?? 'is invalid';
    return where ? `${where}: ${what}` : what;
  });
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function stringField(object: Record<string, unknown>, name: string): string | undefined {
  const value = object[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
