import { afterEach, describe, expect, it, vi } from 'vitest';
import { bundledContexts, CredentialError, createDocumentLoader } from '../src/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

async function loadError(loader: (url: string) => Promise<unknown>, url: string): Promise<CredentialError> {
  const error = await loader(url).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CredentialError);
  return error as CredentialError;
}

describe('createDocumentLoader', () => {
  it.each([
    'https://www.w3.org/ns/credentials/v2',
    'https://www.w3.org/2018/credentials/v1',
    'https://www.w3.org/ns/credentials/undefined-terms/v2',
    'https://w3id.org/security/data-integrity/v2',
    'https://w3id.org/security/data-integrity/v1',
    'https://w3id.org/security/multikey/v1',
    'https://www.w3.org/ns/credentials/examples/v2',
    'https://www.w3.org/ns/did/v1',
  ])('serves the bundled %s without the network', async (url) => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const { document, documentUrl } = await createDocumentLoader()(url);
    expect(documentUrl).toBe(url);
    expect(document).toHaveProperty('@context');
    expect(Object.isFrozen(document)).toBe(true);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('bundles the exact W3C examples context', () => {
    expect(bundledContexts.get('https://www.w3.org/ns/credentials/examples/v2')).toEqual({
      '@context': { '@vocab': 'https://www.w3.org/ns/credentials/examples#' },
    });
  });

  it('refuses any other URL with unknown-context naming it, and never fetches', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const loader = createDocumentLoader();
    for (const url of [
      'https://example.com/context/v1',
      'http://www.w3.org/ns/credentials/v2', // only the https URL is the context
      'https://www.w3.org/ns/credentials/v2/', // exact match only
    ]) {
      const error = await loadError(loader, url);
      expect(error.code).toBe('unknown-context');
      expect(error.message).toContain(url);
    }
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('delegates DIDs to the resolver and checks what comes back', async () => {
    const did = 'did:example:123';
    const method = { id: `${did}#key-1`, type: 'Multikey', controller: did, publicKeyMultibase: 'z6Mk' };
    const didDocument = {
      '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
      id: did,
      verificationMethod: [{ ...method, id: '#key-1' }],
      assertionMethod: ['#key-1'],
    };
    const asked: string[] = [];
    const loader = createDocumentLoader({
      resolveDidUrl: async (url) => {
        asked.push(url);
        return url.startsWith(did) ? didDocument : undefined;
      },
    });
    expect((await loader(did)).document).toBe(didDocument);
    // A fragment is dereferenced inside the returned DID document, relative ids included.
    expect((await loader(`${did}#key-1`)).document).toEqual({
      ...method,
      '@context': didDocument['@context'],
    });
    expect((await loadError(loader, `${did}#key-2`)).code).toBe('document-not-found');
    expect((await loadError(loader, 'did:example:456')).code).toBe('document-not-found');
    expect(asked).toEqual([did, `${did}#key-1`, `${did}#key-2`, 'did:example:456']);
  });

  it('refuses a resolver answer for another DID', async () => {
    const loader = createDocumentLoader({ resolveDidUrl: async () => ({ id: 'did:example:other' }) });
    expect((await loadError(loader, 'did:example:123')).code).toBe('document-not-found');
  });

  it('reports DIDs as document-not-found when no resolver is configured', async () => {
    const error = await loadError(
      createDocumentLoader(),
      'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    );
    expect(error.code).toBe('document-not-found');
  });
});
