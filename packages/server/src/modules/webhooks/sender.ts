import type { AttemptOutcome } from './schedule.js';

/** One signed request to an endpoint. */
export interface DeliveryRequest {
  url: string;
  /** The event id: the `webhook-id`, the same on every attempt and for every endpoint. */
  id: string;
  /** Unix seconds of this attempt (`webhook-timestamp`). */
  timestamp: number;
  signature: string;
  body: string;
}

export interface AttemptResult extends AttemptOutcome {
  durationMs: number;
  /** Why no usable response came, or what was wrong with it; null for a plain HTTP status. */
  error: string | null;
  /** The attempt was cut short because the server is shutting down: it counts for nothing. */
  interrupted: boolean;
}

const USER_AGENT = 'PersonaChain-Webhooks/1';

/** Response bytes read (and dropped) so the connection can be reused; a longer answer is cut off. */
const MAX_RESPONSE_BYTES = 16 * 1024;

/**
 * Sends one delivery: POST of the exact body with the Standard Webhooks headers, no redirects followed,
 * at most `timeoutMs` in all. The response body is read and dropped, up to MAX_RESPONSE_BYTES, so a
 * receiver cannot make the sender hold anything.
 */
export async function sendDelivery(
  fetch: typeof globalThis.fetch,
  request: DeliveryRequest,
  timeoutMs: number,
  shutdown: AbortSignal,
): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  // One controller with a timer cleared on completion, not AbortSignal.timeout: that one's timer would
  // keep each request's state alive for the whole timeout, thousands of them at a high delivery rate.
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  const stop = () => abort.abort();
  shutdown.addEventListener('abort', stop, { once: true });
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      redirect: 'manual',
      signal: abort.signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': request.id,
        'webhook-timestamp': String(request.timestamp),
        'webhook-signature': request.signature,
      },
      body: request.body,
    });
    await discard(response.body, MAX_RESPONSE_BYTES);
    const status = response.status;
    return {
      statusCode: status,
      retryAfter: response.headers.get('retry-after'),
      abort: response.headers.get('webhook-delivery')?.trim().toLowerCase() === 'abort-message',
      durationMs: elapsed(),
      error: status >= 300 && status < 400 ? 'redirects are not followed' : null,
      interrupted: false,
    };
  } catch (error) {
    const interrupted = shutdown.aborted;
    return {
      statusCode: null,
      retryAfter: null,
      abort: false,
      durationMs: elapsed(),
      error: timedOut && !interrupted ? `no answer within ${timeoutMs} ms` : reason(error),
      interrupted,
    };
  } finally {
    clearTimeout(timer);
    shutdown.removeEventListener('abort', stop);
  }
}

async function discard(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  let read = 0;
  try {
    while (read <= maxBytes) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
    await reader.cancel();
  } catch {
    // A body that breaks off changes nothing: the status already arrived.
  }
}

/** The innermost cause: undici wraps connection errors (refused, not a public address) in "fetch failed". */
function reason(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  const message = current instanceof Error ? current.message : String(current);
  return message.slice(0, 500);
}
