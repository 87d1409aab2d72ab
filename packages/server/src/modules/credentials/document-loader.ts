import {
  CredentialError,
  createDocumentLoader,
  type DidDereferencingResult,
  type DidUrlResolver,
  type DocumentLoader,
} from '@personachain/credentials';
import type { DidService } from '../dids/service.js';

/**
 * The platform's JSON-LD document loader: bundled contexts only, DIDs and DID URLs through the DID service
 * (the platform's own did:web issuers from the database); a DID that does not resolve keeps the reason.
 */
export function platformDocumentLoader(dids: DidService): DocumentLoader {
  return createDocumentLoader({ resolveDidUrl: platformDidUrlResolver(dids) });
}

/** DIDs and DID URLs through the DID service; one that does not resolve is a `document-not-found`. */
export function platformDidUrlResolver(dids: DidService): DidUrlResolver {
  return didUrlResolver((url) => dids.dereference(url));
}

/**
 * DID URLs through `dereference`; one that does not resolve is a `document-not-found` that keeps the DID
 * Resolution error (`invalidDid`, `notFound`, …) in its message and details.
 */
export function didUrlResolver(
  dereference: (url: string) => Promise<DidDereferencingResult>,
): DidUrlResolver {
  return async (url) => {
    const { contentStream, dereferencingMetadata } = await dereference(url);
    if (contentStream === null) {
      throw new CredentialError(
        'document-not-found',
        `"${url}" could not be resolved (${dereferencingMetadata.error}): ${dereferencingMetadata.errorMessage}.`,
        { details: { url, error: dereferencingMetadata.error } },
      );
    }
    return contentStream;
  };
}
