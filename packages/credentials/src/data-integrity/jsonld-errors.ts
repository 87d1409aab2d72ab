import jsonld from 'jsonld';
import { CredentialError } from '../errors.js';
import type { DocumentLoader } from './document-loader.js';

/**
 * Turns what `jsonld` (and the suites built on it) throw into a `CredentialError`: an error of our document
 * loader (unknown context, unresolvable DID) is found in the cause chain and passed on as is; safe-mode
 * violations (a term or type the contexts do not define, which would be silently dropped from the signed
 * data) and other JSON-LD errors become `malformed-jsonld`. Anything else is returned unchanged.
 */
export function toCredentialError(error: unknown): unknown {
  const own = findCredentialError(error);
  if (own !== undefined) return own;
  if (!(error instanceof Error) || !error.name.startsWith('jsonld.')) return error;
  const details = (error as { details?: { event?: { message?: string; details?: unknown }; code?: string } })
    .details;
  const event = details?.event;
  const message =
    event !== undefined
      ? `JSON-LD safe mode: ${event.message ?? 'validation error'} ${JSON.stringify(event.details ?? {})}`
      : `Invalid JSON-LD: ${error.message}${details?.code ? ` (${details.code})` : ''}`;
  return new CredentialError('malformed-jsonld', message, {
    cause: error,
    details: { jsonld: event?.details },
  });
}

function findCredentialError(error: unknown): CredentialError | undefined {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (current instanceof CredentialError) return current;
    const next = current as { cause?: unknown; details?: { cause?: unknown } };
    current = next.details?.cause ?? next.cause;
  }
  return undefined;
}

/**
 * Expands the document in JSON-LD safe mode with the offline loader: every context must be bundled (or a
 * resolvable DID document) and every term and type must be defined, else a `CredentialError`.
 */
export async function assertWellFormedJsonLd(
  document: object,
  documentLoader: DocumentLoader,
): Promise<void> {
  try {
    await jsonld.expand(document, { documentLoader, safe: true, base: null });
  } catch (error) {
    throw toCredentialError(error);
  }
}
