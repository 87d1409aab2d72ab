import { didKeyMethod } from './did-key.js';
import { createDidWebMethod } from './did-web.js';
import type { DidDocument, VerificationMethod } from './document.js';
import { DID_CONTEXT_V1, MULTIKEY_CONTEXT_V1, VERIFICATION_RELATIONSHIPS } from './document.js';
import { DidError, type DidErrorCode } from './errors.js';
import type { DidDocumentMetadata, DidMethod } from './method.js';
import { parseDid, parseDidUrl } from './syntax.js';

/** Media types of DID document representations (DID Core §6.2, §6.3). */
export const DID_JSON = 'application/did+json';
export const DID_LD_JSON = 'application/did+ld+json';

export interface DidResolutionMetadata {
  contentType?: string;
  error?: DidErrorCode;
  /** Human-readable reason for `error` (the DID Resolution spec's problem details carry the same). */
  errorMessage?: string;
  [property: string]: unknown;
}

/** The W3C DID Resolution result. */
export interface DidResolutionResult {
  didDocument: DidDocument | null;
  didResolutionMetadata: DidResolutionMetadata;
  didDocumentMetadata: DidDocumentMetadata;
}

export interface DidResolutionOptions {
  /** The DID document media type wanted: `application/did+ld+json` (default) or `application/did+json`. */
  accept?: string;
  signal?: AbortSignal;
  /** Method-specific options, e.g. did:key `publicKeyFormat`, `enableExperimentalPublicKeyTypes`. */
  [option: string]: unknown;
}

export interface DidDereferencingMetadata {
  contentType?: string;
  error?: DidErrorCode;
  errorMessage?: string;
  [property: string]: unknown;
}

/** The W3C DID URL dereferencing result. */
export interface DidDereferencingResult {
  dereferencingMetadata: DidDereferencingMetadata;
  /** The DID document, or the verification method a fragment selects (with an `@context`); null on error. */
  contentStream: DidDocument | (VerificationMethod & { '@context': unknown }) | null;
  contentMetadata: DidDocumentMetadata;
}

export interface DidResolver {
  /** The method names this resolver handles. */
  readonly methods: readonly string[];
  resolve(did: string, options?: DidResolutionOptions): Promise<DidResolutionResult>;
  dereference(didUrl: string, options?: DidResolutionOptions): Promise<DidDereferencingResult>;
}

export interface CreateDidResolverOptions {
  /** Default: did:key and did:web. A method here replaces a default of the same name. */
  methods?: DidMethod[];
  /** Used by did:web (and handed to every method); default: the global fetch. */
  fetch?: typeof globalThis.fetch;
}

function errorResult(error: unknown): DidResolutionResult {
  const { code, message } = toDidError(error);
  return {
    didDocument: null,
    didResolutionMetadata: { error: code, errorMessage: message },
    didDocumentMetadata: {},
  };
}

function toDidError(error: unknown): DidError {
  if (error instanceof DidError) return error;
  return new DidError('internalError', 'the DID method failed unexpectedly', { cause: error });
}

/** Shapes the document for the requested representation. */
function represent(document: DidDocument, accept: string): DidDocument {
  if (accept === DID_JSON) {
    // The JSON representation has no @context (DID Core §6.2: @context is JSON-LD specific).
    const { '@context': _context, ...rest } = document;
    return rest as DidDocument;
  }
  // JSON-LD needs a @context whose first entry is DID v1 (DID Core §6.3.1); a did:web document served
  // as plain JSON may lack it.
  return document['@context'] === undefined ? { '@context': DID_CONTEXT_V1, ...document } : document;
}

/**
 * A resolver over DID methods (did:key and did:web by default). `resolve` never throws: every failure is a
 * DID Resolution result with `didResolutionMetadata.error`.
 */
export function createDidResolver(options: CreateDidResolverOptions = {}): DidResolver {
  const fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const registry = new Map<string, DidMethod>();
  for (const method of [didKeyMethod, createDidWebMethod(), ...(options.methods ?? [])]) {
    registry.set(method.name, method);
  }

  async function resolve(
    did: string,
    resolutionOptions: DidResolutionOptions = {},
  ): Promise<DidResolutionResult> {
    const { accept = DID_LD_JSON, signal, ...methodOptions } = resolutionOptions;
    try {
      const { method } = parseDid(did);
      const implementation = registry.get(method);
      if (!implementation)
        throw new DidError('methodNotSupported', `the DID method "${method}" is not supported`);
      if (accept !== DID_LD_JSON && accept !== DID_JSON) {
        throw new DidError(
          'representationNotSupported',
          `representation ${JSON.stringify(accept)} is not supported (use ${DID_LD_JSON} or ${DID_JSON})`,
        );
      }
      const result = await implementation.resolve(did, {
        ...methodOptions,
        fetch,
        ...(signal ? { signal } : {}),
      });
      return {
        didDocument: result.didDocument && represent(result.didDocument, accept),
        didResolutionMetadata: { contentType: accept },
        didDocumentMetadata: result.didDocumentMetadata ?? {},
      };
    } catch (error) {
      return errorResult(error);
    }
  }

  async function dereference(
    didUrl: string,
    dereferenceOptions: DidResolutionOptions = {},
  ): Promise<DidDereferencingResult> {
    const failure = (error: unknown): DidDereferencingResult => {
      const { code, message } = toDidError(error);
      return {
        dereferencingMetadata: { error: code, errorMessage: message },
        contentStream: null,
        contentMetadata: {},
      };
    };
    let parsed: ReturnType<typeof parseDidUrl>;
    try {
      parsed = parseDidUrl(didUrl);
    } catch (error) {
      return failure(error);
    }
    const resolution = await resolve(parsed.did, dereferenceOptions);
    const { error, errorMessage, contentType } = resolution.didResolutionMetadata;
    if (error) return failure(new DidError(error, errorMessage ?? error));
    if (parsed.path !== '' || parsed.query !== undefined) {
      return failure(new DidError('notFound', 'this resolver dereferences DIDs and DID URL fragments only'));
    }
    const document = resolution.didDocument;
    if (document === null) {
      // A deactivated DID whose method keeps no document: say so in contentMetadata.
      return {
        ...failure(new DidError('notFound', `${parsed.did} has no DID document`)),
        contentMetadata: resolution.didDocumentMetadata,
      };
    }
    if (parsed.fragment === undefined) {
      return {
        dereferencingMetadata: contentType ? { contentType } : {},
        contentStream: document,
        contentMetadata: resolution.didDocumentMetadata,
      };
    }
    const method = findVerificationMethod(document, `${parsed.did}#${parsed.fragment}`);
    if (!method) {
      return failure(
        new DidError('notFound', `${parsed.did} has no verification method #${parsed.fragment}`),
      );
    }
    return {
      dereferencingMetadata: { contentType: 'application/ld+json' },
      contentStream: { '@context': verificationMethodContext(method, document), ...method },
      contentMetadata: {},
    };
  }

  return { methods: [...registry.keys()], resolve, dereference };
}

/**
 * The verification method with this id, from `verificationMethod` or embedded in a verification
 * relationship. A relative id (`#key-1`) in the document counts as relative to the DID.
 */
export function findVerificationMethod(document: DidDocument, id: string): VerificationMethod | undefined {
  const matches = (candidate: unknown): candidate is VerificationMethod =>
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof (candidate as VerificationMethod).id === 'string' &&
    absolute(document.id, (candidate as VerificationMethod).id) === id;
  const embedded = VERIFICATION_RELATIONSHIPS.flatMap((relationship) => document[relationship] ?? []);
  const found = [...(document.verificationMethod ?? []), ...embedded].find(matches);
  return found && { ...found, id, controller: absolute(document.id, found.controller) };
}

function absolute(did: string, id: string): string {
  return id.startsWith('#') ? `${did}${id}` : id;
}

/**
 * A standalone verification method needs a context defining its terms: a Multikey gets the Multikey
 * context alone (what `@digitalbazaar/did-method-key` and the *-multikey libraries produce and accept);
 * other types keep the contexts of the document they came from.
 */
function verificationMethodContext(method: VerificationMethod, document: DidDocument): unknown {
  if (method.type === 'Multikey') return MULTIKEY_CONTEXT_V1;
  return document['@context'] ?? DID_CONTEXT_V1;
}

/**
 * The HTTP status for a resolution or dereferencing result, per the DID Resolution HTTP(S) binding:
 * 200, 400 (invalidDid, invalidDidUrl, invalidOptions and the did:key public-key errors), 404 (notFound),
 * 406 (representationNotSupported), 410 (deactivated), 501 (methodNotSupported), 500 otherwise.
 */
export function didResolutionHttpStatus(
  metadata: { error?: DidErrorCode | undefined },
  documentMetadata: DidDocumentMetadata = {},
): number {
  switch (metadata.error) {
    case undefined:
      return documentMetadata.deactivated === true ? 410 : 200;
    case 'invalidDid':
    case 'invalidDidUrl':
    case 'invalidOptions':
    case 'invalidPublicKey':
    case 'invalidPublicKeyLength':
    case 'invalidPublicKeyType':
    case 'unsupportedPublicKeyType':
      return 400;
    case 'notFound':
      return 404;
    case 'representationNotSupported':
      return 406;
    case 'methodNotSupported':
      return 501;
    default:
      return 500;
  }
}
