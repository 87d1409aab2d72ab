import { publicFetch } from '../../http/public-fetch.js';

/** Longest a fetched status list is reused, whatever its `Cache-Control` says. */
export const REMOTE_MAX_AGE_SECONDS = 300;
/** Reuse when the publisher sends no `Cache-Control`. */
const DEFAULT_MAX_AGE_SECONDS = 60;
const MAX_BYTES = 1024 * 1024;
const TIMEOUT_MS = 10_000;
const MAX_ENTRIES = 1000;

interface Cached {
  document: unknown;
  expiresAt: number;
}

/**
 * Loads status-list credentials of other publishers: HTTPS to public addresses only (like did:web), no
 * redirects, at most 1 MiB and 10 s, JSON only. Answers are reused for their `Cache-Control` max-age
 * (`no-store`/`no-cache` → not at all; none → 60 s), at most 5 minutes, as the same object, so the status
 * checker verifies each copy once.
 */
export function remoteStatusLists(
  options: { trustedHosts?: readonly string[]; fetch?: typeof globalThis.fetch; now?: () => number } = {},
): (url: string) => Promise<unknown> {
  const fetch = options.fetch ?? publicFetch({ trustedHosts: options.trustedHosts ?? [] });
  const now = options.now ?? Date.now;
  const cache = new Map<string, Cached>();

  return async (url) => {
    const hit = cache.get(url);
    if (hit && hit.expiresAt > now()) return hit.document;
    cache.delete(url);
    const response = await fetch(url, {
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
      headers: { accept: 'application/vc, application/ld+json, application/json' },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const type = response.headers.get('content-type') ?? '';
    if (!/^application\/(vc|[\w.+-]*json)\s*(;|$)/i.test(type)) {
      throw new Error(`unexpected content type "${type}"`);
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
    const document: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    const maxAge = maxAgeOf(response.headers.get('cache-control'));
    if (maxAge > 0) {
      if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
      cache.set(url, { document, expiresAt: now() + maxAge * 1000 });
    }
    return document;
  };
}

/** Seconds an answer may be reused: its max-age (0 for no-store/no-cache), capped. */
export function maxAgeOf(cacheControl: string | null): number {
  if (cacheControl === null) return DEFAULT_MAX_AGE_SECONDS;
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((part) => part.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
  const maxAge = directives.find((d) => d.startsWith('max-age='));
  if (maxAge === undefined) return DEFAULT_MAX_AGE_SECONDS;
  const seconds = Number(maxAge.slice('max-age='.length));
  return Number.isSafeInteger(seconds) && seconds > 0 ? Math.min(seconds, REMOTE_MAX_AGE_SECONDS) : 0;
}
