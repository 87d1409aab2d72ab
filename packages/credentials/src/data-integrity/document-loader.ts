import { bundledContexts } from '../contexts/index.js';
import { CredentialError } from '../errors.js';

/** What a JSON-LD document loader returns (the shape `jsonld` and the digitalbazaar suites expect). */
export interface RemoteDocument {
  contextUrl: string | null;
  documentUrl: string;
  document: unknown;
}

export type DocumentLoader = (url: string) => Promise<RemoteDocument>;

/**
 * Resolves a DID (to its DID document) or a DID URL with a fragment (to that verification method, or to the
 * DID document that contains it). `undefined`/`null` means "not found"; a thrown error is passed on.
 */
export type DidUrlResolver = (didUrl: string) => Promise<Record<string, unknown> | null | undefined>;

export interface DocumentLoaderOptions {
  resolveDidUrl?: DidUrlResolver;
}

/**
 * A document loader that never touches the network: bundled contexts by exact URL, DIDs and DID URLs through
 * `resolveDidUrl`, and a `CredentialError` naming the URL for everything else (`unknown-context`, or
 * `document-not-found` for a DID that does not resolve).
 */
export function createDocumentLoader(options: DocumentLoaderOptions = {}): DocumentLoader {
  const { resolveDidUrl } = options;
  return async (url: string) => {
    const context = bundledContexts.get(url);
    if (context !== undefined) return { contextUrl: null, documentUrl: url, document: context };
    if (url.startsWith('did:')) {
      if (resolveDidUrl === undefined) {
        throw new CredentialError(
          'document-not-found',
          `No DID resolver is configured to resolve "${url}".`,
          {
            details: { url },
          },
        );
      }
      const resolved = await resolveDidUrl(url);
      const document = resolved == null ? undefined : dereference(url, resolved);
      if (document === undefined) {
        throw new CredentialError('document-not-found', `"${url}" could not be resolved.`, {
          details: { url },
        });
      }
      return { contextUrl: null, documentUrl: url, document };
    }
    throw new CredentialError(
      'unknown-context',
      `Unknown JSON-LD context or document "${url}": only bundled contexts are loaded, nothing is fetched.`,
      { details: { url } },
    );
  };
}

/**
 * Checks that what the resolver returned is what was asked for: the document whose `id` is the URL, or, for
 * a DID URL with a fragment, the verification method with that id inside the returned DID document (given
 * with its `@context`, which the suites need). Relative method ids (`#key-1`) are read against the DID.
 */
function dereference(url: string, resolved: Record<string, unknown>): Record<string, unknown> | undefined {
  if (resolved.id === url) return resolved;
  const hash = url.indexOf('#');
  if (hash < 0 || resolved.id !== url.slice(0, hash)) return undefined;
  const did = url.slice(0, hash);
  for (const key of [
    'verificationMethod',
    'assertionMethod',
    'authentication',
    'capabilityInvocation',
    'capabilityDelegation',
  ]) {
    const value = resolved[key];
    for (const entry of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      if (entry === null || typeof entry !== 'object') continue;
      const method = entry as Record<string, unknown>;
      const id = typeof method.id === 'string' && method.id.startsWith('#') ? did + method.id : method.id;
      if (id === url) {
        const withContext: Record<string, unknown> = { ...method, id };
        if (resolved['@context'] !== undefined && method['@context'] === undefined) {
          withContext['@context'] = resolved['@context'];
        }
        return withContext;
      }
    }
  }
  return undefined;
}
