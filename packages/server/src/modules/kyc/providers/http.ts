/**
 * Small helpers every provider adapter shares: one outbound call with the error classification of the
 * adapter contract (network/5xx/429 → transient, abort/timeout → timeout, other 4xx → rejected), bounded
 * response bodies, case-insensitive webhook headers and constant-time comparison of signatures.
 */
import { timingSafeEqual } from 'node:crypto';
import { type HeaderBag, ProviderError } from './types.js';

/** No provider answer we read is anywhere near this; a larger body is refused, not buffered. */
export const MAX_PROVIDER_RESPONSE_BYTES = 5 * 1024 * 1024;

export interface ProviderResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

function isRefusedAddress(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; depth++) {
    if (current.name === 'NonPublicAddressError') return true;
    current = current.cause;
  }
  return false;
}

/**
 * Reads a body up to `limit` bytes; throws ProviderError('rejected') beyond it (the stream is cancelled) and
 * ProviderError('timeout') when the signal aborts while reading.
 */
export async function readBounded(
  response: Response,
  provider: string,
  limit = MAX_PROVIDER_RESPONSE_BYTES,
): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new ProviderError('rejected', `${provider} response exceeds ${limit} bytes`, response.status);
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        throw new ProviderError('rejected', `${provider} response exceeds ${limit} bytes`, response.status);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    if (isAbort(error))
      throw new ProviderError('timeout', `${provider} did not answer in time`, undefined, { cause: error });
    throw new ProviderError('transient', `${provider} response could not be read`, response.status, {
      cause: error,
    });
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The error kind for a non-2xx status (callers check vendor-specific "unsupported" answers first). */
export function errorKindForStatus(status: number): 'transient' | 'rejected' {
  return status === 429 || status >= 500 ? 'transient' : 'rejected';
}

/**
 * One call to a provider: network failures and aborts become ProviderErrors; the body is read (bounded)
 * whatever the status, so callers can inspect a vendor's error document before classifying it.
 */
export async function callProvider(
  fetchImpl: typeof globalThis.fetch,
  provider: string,
  url: string,
  init: RequestInit,
  signal: AbortSignal,
): Promise<ProviderResponse> {
  let response: Response;
  try {
    response = await fetchImpl(url, { ...init, signal, redirect: 'manual' });
  } catch (error) {
    if (isAbort(error) || signal.aborted) {
      throw new ProviderError('timeout', `${provider} did not answer in time`, undefined, { cause: error });
    }
    // The outbound guard refused the address: retrying cannot help, the configuration must change.
    if (isRefusedAddress(error)) {
      throw new ProviderError('rejected', `${provider} URL is not a permitted address`, undefined, {
        cause: error,
      });
    }
    throw new ProviderError('transient', `${provider} could not be reached`, undefined, { cause: error });
  }
  const body = await readBounded(response, provider);
  return { status: response.status, headers: response.headers, body };
}

/**
 * Serializes a multipart form to bytes with its content type. Done here rather than by fetch so the exact
 * bytes can be signed (Sumsub) and any fetch implementation (the platform's undici-based one) sends them.
 */
export async function encodeMultipart(form: FormData): Promise<{ body: Uint8Array; contentType: string }> {
  const encoded = new Response(form);
  const contentType = encoded.headers.get('content-type') ?? 'multipart/form-data';
  return { body: new Uint8Array(await encoded.arrayBuffer()), contentType };
}

/** Parses a JSON body; a provider answering 2xx with something else is a transient fault on its side. */
export function parseJsonBody(response: ProviderResponse, provider: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(response.body));
  } catch (error) {
    throw new ProviderError('transient', `${provider} answered with invalid JSON`, response.status, {
      cause: error,
    });
  }
}

/** Like parseJsonBody but for error bodies, which may be anything: undefined when not JSON. */
export function tryParseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
}

/** A header of an inbound webhook, by case-insensitive name (the first value when repeated). */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/** Constant-time equality of two strings (different lengths are unequal without comparing contents). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A plain-object view of a JSON value (empty when it is not an object). */
export function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** A string property of a JSON object, or undefined. */
export function stringField(value: unknown, key: string): string | undefined {
  const field = asRecord(value)[key];
  return typeof field === 'string' ? field : undefined;
}

/** Joins a configured base URL and an API path without doubling or losing slashes. */
export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
