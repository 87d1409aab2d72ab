import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './generated/api.js';
import { apiError } from './problem.js';

export type { paths } from './generated/api.js';

/** The typed `openapi-fetch` client over every route of the OpenAPI document. */
export type PersonaApi = Client<paths>;

export interface PersonaClientOptions {
  /** The server, e.g. `https://persona.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** An API key (`sk_…`), sent as `Authorization: Bearer`; public routes (ledger, DID resolution) need none. */
  apiKey?: string;
  /** The fetch to use (default: the global one), e.g. to add a timeout or a proxy. */
  fetch?: typeof globalThis.fetch;
}

/** An `openapi-fetch` client for the API with the API key added to every request. */
export function createPersonaApi(options: PersonaClientOptions): PersonaApi {
  const fetch = options.fetch ?? ((input: Request) => globalThis.fetch(input));
  const api = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    fetch: (request: Request) => fetch(request),
  });
  const { apiKey } = options;
  if (apiKey !== undefined) {
    api.use({
      onRequest({ request }) {
        request.headers.set('authorization', `Bearer ${apiKey}`);
        return request;
      },
    });
  }
  return api;
}

/** What every `openapi-fetch` call answers. */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The success body, or a `PersonaApiError` made from the problem details. */
export async function unwrap<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw apiError(response, error);
  return data as T;
}
