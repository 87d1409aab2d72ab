import { NonPublicAddressError } from '../../http/public-fetch.js';

/** Connector responses are API answers (a few KiB); anything larger is refused, not buffered. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface OutboundRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/** What the API answered: its status and body (parsed JSON when it says JSON, else text). */
export interface OutboundResponse {
  status: number;
  body: unknown;
}

export type OutboundResult =
  | { ok: true; response: OutboundResponse; durationMs: number }
  | {
      ok: false;
      reason: 'connector_error' | 'connector_timeout';
      /** Says what went wrong without data of the request or response (no secrets, no input). */
      detail: string;
      status?: number;
      durationMs: number;
    };

class ResponseTooLarge extends Error {}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** The SSRF refusal somewhere in a fetch error's causes, if that is what it was. */
function blockedAddress(error: unknown): NonPublicAddressError | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof NonPublicAddressError) return cause;
  }
  return undefined;
}

async function readBounded(response: Response): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLarge();
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function isJson(contentType: string | null): boolean {
  return contentType !== null && /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(contentType);
}

/**
 * One call to a connector's API with `fetchImpl` (publicFetch: HTTPS and public addresses only). Never
 * throws: network failures, SSRF refusals, redirects (not followed: a redirect could lead anywhere) and
 * oversized bodies are `connector_error`, the time limit `connector_timeout`.
 */
export async function callApi(fetchImpl: typeof fetch, request: OutboundRequest): Promise<OutboundResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(request.timeoutMs);
  const timedOut = (): OutboundResult => ({
    ok: false,
    reason: 'connector_timeout',
    detail: `the API did not answer within ${request.timeoutMs} ms`,
    durationMs: elapsed(),
  });
  let response: Response;
  try {
    response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    if (isAbort(error) || signal.aborted) return timedOut();
    const blocked = blockedAddress(error);
    const detail = blocked
      ? `${blocked.message} (private, loopback and link-local addresses are refused unless the operator trusts the host)`
      : `the API could not be reached (${request.url.host})`;
    return { ok: false, reason: 'connector_error', detail, durationMs: elapsed() };
  }
  const status = response.status;
  if (status >= 300 && status < 400) {
    await response.body?.cancel().catch(() => undefined);
    return {
      ok: false,
      reason: 'connector_error',
      detail: `the API redirected (HTTP ${status}); connectors do not follow redirects`,
      status,
      durationMs: elapsed(),
    };
  }
  let bytes: Uint8Array;
  try {
    bytes = await readBounded(response);
  } catch (error) {
    if (error instanceof ResponseTooLarge) {
      return {
        ok: false,
        reason: 'connector_error',
        detail: `the API answered with more than ${MAX_RESPONSE_BYTES} bytes`,
        status,
        durationMs: elapsed(),
      };
    }
    if (isAbort(error) || signal.aborted) return timedOut();
    return {
      ok: false,
      reason: 'connector_error',
      detail: 'the response could not be read',
      status,
      durationMs: elapsed(),
    };
  }
  const text = new TextDecoder().decode(bytes);
  let body: unknown = text;
  if (isJson(response.headers.get('content-type'))) {
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      return {
        ok: false,
        reason: 'connector_error',
        detail: `the API said its answer is JSON, but it is not (HTTP ${status})`,
        status,
        durationMs: elapsed(),
      };
    }
  }
  return { ok: true, response: { status, body }, durationMs: elapsed() };
}
