import { describe, expect, it } from 'vitest';
import {
  createDidResolver,
  DidError,
  type DidMethod,
  didResolutionHttpStatus,
  MULTIKEY_CONTEXT_V1,
} from '../src/index.js';

const did = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const vm = `${did}#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK`;
const ka = `${did}#z6LSj72tK8brWgZja8NLRwPigth2T9QRiG1uH9oKZuKjdh9p`;

describe('createDidResolver().resolve', () => {
  const resolver = createDidResolver();

  it('has did:key and did:web by default', () => {
    expect([...resolver.methods].sort()).toEqual(['key', 'web']);
  });

  it('returns a DID Resolution result', async () => {
    const result = await resolver.resolve(did);
    expect(result.didResolutionMetadata).toEqual({ contentType: 'application/did+ld+json' });
    expect(result.didDocumentMetadata).toEqual({});
    expect(result.didDocument?.id).toBe(did);
    expect(didResolutionHttpStatus(result.didResolutionMetadata, result.didDocumentMetadata)).toBe(200);
  });

  it('unknown method → methodNotSupported (501)', async () => {
    const result = await resolver.resolve(
      'did:experimental:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    );
    expect(result.didResolutionMetadata.error).toBe('methodNotSupported');
    expect(result.didResolutionMetadata.errorMessage).toContain('"experimental"');
    expect(didResolutionHttpStatus(result.didResolutionMetadata)).toBe(501);
  });

  it('invalid DID → invalidDid (400) with a message saying why', async () => {
    for (const bad of ['did:key', 'not-a-did', 'did:key:@', `${did}#frag`, '']) {
      const result = await resolver.resolve(bad);
      expect(result.didResolutionMetadata.error).toBe('invalidDid');
      expect(result.didResolutionMetadata.errorMessage).toBeTruthy();
      expect(result.didDocument).toBeNull();
      expect(didResolutionHttpStatus(result.didResolutionMetadata)).toBe(400);
    }
  });

  it('representations: did+ld+json keeps @context, did+json drops it, others → representationNotSupported (406)', async () => {
    const json = await resolver.resolve(did, { accept: 'application/did+json' });
    expect(json.didResolutionMetadata.contentType).toBe('application/did+json');
    expect(json.didDocument && '@context' in json.didDocument).toBe(false);
    const bad = await resolver.resolve(did, { accept: 'text/html' });
    expect(bad.didResolutionMetadata.error).toBe('representationNotSupported');
    expect(didResolutionHttpStatus(bad.didResolutionMetadata)).toBe(406);
  });

  it('plugs in a method; deactivated → didDocumentMetadata.deactivated, HTTP 410', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const persona: DidMethod = {
      name: 'persona',
      async resolve(id, options) {
        seen.push(options);
        if (id === 'did:persona:missing') throw new DidError('notFound', 'no such DID');
        if (id === 'did:persona:crash') throw new Error('database down');
        if (id === 'did:persona:gone')
          return { didDocument: null, didDocumentMetadata: { deactivated: true } };
        return {
          didDocument: { '@context': 'https://www.w3.org/ns/did/v1', id },
          didDocumentMetadata: { deactivated: true },
        };
      },
    };
    const fetch: typeof globalThis.fetch = async () => new Response('never used');
    const custom = createDidResolver({ methods: [persona], fetch });
    const result = await custom.resolve('did:persona:abc', { versionId: '3' });
    expect(result.didDocumentMetadata).toEqual({ deactivated: true });
    expect(didResolutionHttpStatus(result.didResolutionMetadata, result.didDocumentMetadata)).toBe(410);
    expect(seen[0]).toMatchObject({ versionId: '3', fetch });
    expect('accept' in (seen[0] ?? {})).toBe(false);
    const missing = await custom.resolve('did:persona:missing');
    expect(missing.didResolutionMetadata.error).toBe('notFound');
    expect(didResolutionHttpStatus(missing.didResolutionMetadata)).toBe(404);
    const crash = await custom.resolve('did:persona:crash');
    expect(crash.didResolutionMetadata).toEqual({
      error: 'internalError',
      errorMessage: 'the DID method failed unexpectedly',
    });
    expect(didResolutionHttpStatus(crash.didResolutionMetadata)).toBe(500);
    const gone = await custom.dereference('did:persona:gone#key-1');
    expect(gone.dereferencingMetadata.error).toBe('notFound');
    expect(gone.contentMetadata).toEqual({ deactivated: true });
  });
});

describe('createDidResolver().dereference', () => {
  const resolver = createDidResolver();

  it('a verification-method fragment → the method with the Multikey context', async () => {
    const result = await resolver.dereference(vm);
    expect(result.dereferencingMetadata).toEqual({ contentType: 'application/ld+json' });
    expect(result.contentStream).toEqual({
      '@context': MULTIKEY_CONTEXT_V1,
      id: vm,
      type: 'Multikey',
      controller: did,
      publicKeyMultibase: 'z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    });
  });

  it('finds a method embedded in keyAgreement', async () => {
    const result = await resolver.dereference(ka);
    expect(result.contentStream).toMatchObject({ id: ka, publicKeyMultibase: ka.split('#')[1] });
  });

  it('the bare DID → the DID document', async () => {
    const result = await resolver.dereference(did);
    expect(result.contentStream).toEqual((await resolver.resolve(did)).didDocument);
    expect(result.dereferencingMetadata.contentType).toBe('application/did+ld+json');
  });

  it('an unknown fragment → notFound', async () => {
    const result = await resolver.dereference(`${did}#key-2`);
    expect(result.dereferencingMetadata.error).toBe('notFound');
    expect(result.contentStream).toBeNull();
  });

  it('a path or query → notFound; a malformed DID URL → invalidDidUrl; resolution errors pass through', async () => {
    expect((await resolver.dereference(`${did}/path`)).dereferencingMetadata.error).toBe('notFound');
    expect((await resolver.dereference(`${did}?service=x`)).dereferencingMetadata.error).toBe('notFound');
    const invalid = await resolver.dereference(`${did}/^bar^/?query=\`#z6Mk`);
    expect(invalid.dereferencingMetadata.error).toBe('invalidDidUrl');
    expect(didResolutionHttpStatus(invalid.dereferencingMetadata)).toBe(400);
    expect((await resolver.dereference('did:key:zTjsVPtY#x')).dereferencingMetadata.error).toBe(
      'invalidPublicKeyLength',
    );
    expect((await resolver.dereference('did:nope:x#y')).dereferencingMetadata.error).toBe(
      'methodNotSupported',
    );
  });
});
