import {
  CredentialError,
  createDidResolver,
  createDocumentLoader,
  type DidMethod,
  type DidResolver,
  type DocumentLoader,
} from '@personachain/credentials';

export interface OfflineOptions {
  /** What did:web documents are fetched with (default: the global fetch); did:key never touches it. */
  fetch?: typeof globalThis.fetch;
  /** More DID methods, e.g. `personaDidMethod(client)` for did:persona issuers. */
  methods?: DidMethod[];
}

/** did:key resolved locally, did:web over HTTPS with the given fetch, and the methods given. */
export function holderResolver(options: OfflineOptions = {}): DidResolver {
  return createDidResolver({
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.methods === undefined ? {} : { methods: options.methods }),
  });
}

/** Bundled JSON-LD contexts only (nothing fetched), DIDs and DID URLs through `resolver`. */
export function holderDocumentLoader(resolver: DidResolver): DocumentLoader {
  return createDocumentLoader({
    resolveDidUrl: async (url) => {
      const { contentStream, dereferencingMetadata } = await resolver.dereference(url);
      if (contentStream === null) {
        throw new CredentialError(
          'document-not-found',
          `"${url}" could not be resolved (${dereferencingMetadata.error}): ${dereferencingMetadata.errorMessage}.`,
          { details: { url, error: dereferencingMetadata.error } },
        );
      }
      return contentStream as Record<string, unknown>;
    },
  });
}
