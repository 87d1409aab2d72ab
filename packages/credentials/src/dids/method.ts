import type { DidDocument } from './document.js';

/** DID document metadata (DID Core §7.1.3); `deactivated: true` marks a deactivated DID. */
export interface DidDocumentMetadata {
  created?: string;
  updated?: string;
  deactivated?: boolean;
  versionId?: string;
  nextUpdate?: string;
  nextVersionId?: string;
  equivalentId?: string[];
  canonicalId?: string;
  [property: string]: unknown;
}

/**
 * Options a method receives: the caller's resolution options (e.g. did:key's `publicKeyFormat`, which may
 * arrive as strings from an HTTP query) plus the resolver's `fetch` and the caller's abort `signal`.
 */
export interface DidMethodResolveOptions {
  fetch: typeof globalThis.fetch;
  signal?: AbortSignal;
  [option: string]: unknown;
}

export interface DidMethodResult {
  /** May be null only for a deactivated DID whose method keeps no document. */
  didDocument: DidDocument | null;
  didDocumentMetadata?: DidDocumentMetadata;
}

/**
 * A DID method plug-in. `resolve` gets a syntactically valid DID of this method (`did:<name>:…`) and
 * either returns the document or throws a `DidError` with the spec error code; any other exception
 * becomes `internalError`.
 */
export interface DidMethod {
  name: string;
  resolve(did: string, options: DidMethodResolveOptions): Promise<DidMethodResult>;
}
