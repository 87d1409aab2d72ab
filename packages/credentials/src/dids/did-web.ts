import type { DidDocument } from './document.js';
import { VERIFICATION_RELATIONSHIPS } from './document.js';
import { DidError } from './errors.js';
import type { DidMethod } from './method.js';
import { parseDid, parseDidUrl } from './syntax.js';

/**
 * did:web (W3C-CCG did:web Method Specification): `did:web:<host>[%3A<port>][:<path>…]` ⇄
 * `https://<host>[:<port>]/<path…>/did.json`, or `/.well-known/did.json` without a path.
 */

// A DNS name (RFC 1035/1123): dot-separated labels of letters, digits and inner hyphens.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DOMAIN_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const IPV4 = /^[0-9]+(?:\.[0-9]+){3}$/;
const PATH_SEGMENT = /^(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+$/;

function percentDecodeHost(host: string): string {
  // Only the port colon may be percent-encoded in the host part (spec: "percent decode the colon").
  return host.replace(/%3A/gi, ':');
}

/** The HTTPS URL of the DID document of a did:web DID; throws `DidError('invalidDid')`. */
export function didWebToUrl(did: string): URL {
  const { method, methodSpecificId } = parseDid(did);
  if (method !== 'web') throw new DidError('invalidDid', `${did} is not a did:web DID`);
  const [encodedHost, ...path] = methodSpecificId.split(':');
  const authority = percentDecodeHost(encodedHost as string);
  const portColon = authority.lastIndexOf(':');
  const host = portColon < 0 ? authority : authority.slice(0, portColon);
  const port = portColon < 0 ? undefined : authority.slice(portColon + 1);
  if (!DOMAIN_NAME.test(host) || host.length > 253) {
    throw new DidError('invalidDid', `did:web host "${host}" is not a domain name`);
  }
  if (IPV4.test(host)) throw new DidError('invalidDid', 'a did:web DID must not contain an IP address');
  if (port !== undefined && !(/^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw new DidError('invalidDid', `did:web port "${port}" is not a port number`);
  }
  for (const segment of path) {
    if (!PATH_SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new DidError('invalidDid', `did:web path segment "${segment}" is empty or not allowed`);
    }
  }
  const pathname = path.length === 0 ? '/.well-known/did.json' : `/${path.join('/')}/did.json`;
  return new URL(`https://${host.toLowerCase()}${port === undefined ? '' : `:${port}`}${pathname}`);
}

/**
 * The did:web DID for a document hosted under `baseUrl` (https; its path is kept) plus `path`
 * segments; e.g. (`https://id.example.com:8443`, ['issuers', 'acme']) →
 * `did:web:id.example.com%3A8443:issuers:acme`, whose document is served at
 * `https://id.example.com:8443/issuers/acme/did.json`.
 */
export function didWebFromUrl(baseUrl: string | URL, path: readonly string[] = []): string {
  const url = new URL(baseUrl);
  if (url.protocol !== 'https:') throw new DidError('invalidDid', 'did:web documents are served over https');
  if (url.username || url.password || url.search || url.hash) {
    throw new DidError('invalidDid', 'a did:web base URL has no credentials, query or fragment');
  }
  const segments = [...url.pathname.split('/').filter((segment) => segment !== ''), ...path];
  const host = url.port ? `${url.hostname}%3A${url.port}` : url.hostname;
  const did = ['did:web', host, ...segments.map((segment) => encodeSegment(segment))].join(':');
  didWebToUrl(did);
  return did;
}

function encodeSegment(segment: string): string {
  // encodeURIComponent leaves !'()* alone, which idchar does not allow.
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export interface DidWebOptions {
  /** Largest accepted document in bytes. Default 256 KiB. */
  maxBytes?: number;
  /** Request timeout in milliseconds. Default 10 s. */
  timeoutMs?: number;
}

const ACCEPTED_CONTENT_TYPES = new Set([
  'application/did+json',
  'application/did+ld+json',
  'application/json',
  'application/ld+json',
]);

/** The did:web method: an HTTPS GET through the resolver's (injectable) fetch. */
export function createDidWebMethod(options: DidWebOptions = {}): DidMethod {
  const maxBytes = options.maxBytes ?? 256 * 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    name: 'web',
    async resolve(did, { fetch, signal }) {
      const url = didWebToUrl(did);
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { accept: 'application/did+json, application/did+ld+json, application/json;q=0.9' },
          // A redirect could move resolution to a host the DID does not name.
          redirect: 'error',
          signal: combined,
        });
      } catch (error) {
        throw new DidError('internalError', `GET ${url.href} failed${timeout.aborted ? ': timed out' : ''}`, {
          cause: error,
        });
      }
      if (response.status === 404 || response.status === 410) {
        await response.body?.cancel();
        throw new DidError('notFound', `GET ${url.href} answered ${response.status}`);
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new DidError('internalError', `GET ${url.href} answered ${response.status}`);
      }
      const mediaType =
        (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (!ACCEPTED_CONTENT_TYPES.has(mediaType)) {
        await response.body?.cancel();
        throw new DidError(
          'invalidDidDocument',
          `GET ${url.href} returned ${mediaType || 'no content type'}, not JSON`,
        );
      }
      const text = await readLimited(response, maxBytes, url, timeout);
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch (error) {
        throw new DidError('invalidDidDocument', `the document at ${url.href} is not JSON`, { cause: error });
      }
      return { didDocument: checkDidWebDocument(did, document) };
    },
  };
}

async function readLimited(
  response: Response,
  maxBytes: number,
  url: URL,
  timeout: AbortSignal,
): Promise<string> {
  const tooLarge = () =>
    new DidError('invalidDidDocument', `the document at ${url.href} is larger than ${maxBytes} bytes`);
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof DidError) throw error;
    throw new DidError('internalError', `reading ${url.href} failed${timeout.aborted ? ': timed out' : ''}`, {
      cause: error,
    });
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new DidError('invalidDidDocument', `the document at ${url.href} is not UTF-8`, { cause: error });
  }
}

/**
 * The checks a fetched document must pass: a JSON object whose `id` is the DID, and (did:web spec, "Key
 * Material and Document Handling") every verification method id an absolute DID URL.
 */
function checkDidWebDocument(did: string, document: unknown): DidDocument {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new DidError('invalidDidDocument', 'a DID document must be a JSON object');
  }
  const candidate = document as DidDocument;
  if (candidate.id !== did) {
    throw new DidError(
      'invalidDidDocument',
      `the document's id ${JSON.stringify(candidate.id)} is not ${did}`,
    );
  }
  const methods = [
    ...(Array.isArray(candidate.verificationMethod) ? candidate.verificationMethod : []),
    ...VERIFICATION_RELATIONSHIPS.flatMap((relationship) => {
      const value: unknown = candidate[relationship];
      return Array.isArray(value) ? value.filter((entry) => typeof entry === 'object') : [];
    }),
  ];
  if (candidate.verificationMethod !== undefined && !Array.isArray(candidate.verificationMethod)) {
    throw new DidError('invalidDidDocument', 'verificationMethod must be an array');
  }
  for (const method of methods) {
    const { id, type, controller } = (method ?? {}) as Record<string, unknown>;
    if (typeof id !== 'string' || typeof type !== 'string' || typeof controller !== 'string') {
      throw new DidError('invalidDidDocument', 'a verification method needs string id, type and controller');
    }
    try {
      parseDidUrl(id);
      parseDid(controller);
    } catch (error) {
      throw new DidError(
        'invalidDidDocument',
        `verification method ${JSON.stringify(id)} has no absolute DID URL id or DID controller`,
        {
          cause: error,
        },
      );
    }
  }
  return candidate;
}
