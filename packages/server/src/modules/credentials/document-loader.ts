import { CredentialError, createDocumentLoader, type DocumentLoader } from '@personachain/credentials';
import type { DidService } from '../dids/service.js';

/**
 * The platform's JSON-LD document loader: bundled contexts only, DIDs and DID URLs through the DID service
 * (the platform's own did:web issuers from the database); a DID that does not resolve keeps the reason.
 */
export function platformDocumentLoader(dids: DidService): DocumentLoader {
  return createDocumentLoader({
    resolveDidUrl: async (url) => {
      const { contentStream, dereferencingMetadata } = await dids.dereference(url);
      if (contentStream === null) {
        throw new CredentialError(
          'document-not-found',
          `"${url}" could not be resolved (${dereferencingMetadata.error}): ${dereferencingMetadata.errorMessage}.`,
          { details: { url, error: dereferencingMetadata.error } },
        );
      }
      return contentStream;
    },
  });
}
