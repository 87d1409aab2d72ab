import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDidKey } from '@personachain/credentials';
import { signatureScheme } from '@personachain/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress, publicFetch } from '../src/http/public-fetch.js';
import { startTestServer, type TestServer } from './helpers.js';

describe('DID resolution over HTTP', () => {
  let server: TestServer;
  let did: string;
  const get = (path: string, accept?: string) =>
    server.call('GET', path, { key: null, headers: accept ? { accept } : {} });

  beforeAll(async () => {
    server = await startTestServer();
    const { publicKey } = await signatureScheme('Ed25519').generateKeyPair();
    did = createDidKey('Ed25519', publicKey);
  });
  afterAll(() => server.close());

  it('answers a did:key with the resolution result by default, without authentication', async () => {
    const response = await get(`/1.0/identifiers/${did}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/did-resolution/);
    const body = await response.json();
    expect(body['@context']).toBe('https://w3id.org/did-resolution/v1');
    expect(body.didDocument.id).toBe(did);
    expect(body.didDocument.verificationMethod[0].type).toBe('Multikey');
    expect(body.didResolutionMetadata.contentType).toBe('application/did+ld+json');
  });

  it('answers with the DID document alone when asked for a DID representation', async () => {
    const ld = await get(`/1.0/identifiers/${did}`, 'application/did+ld+json');
    expect(ld.headers.get('content-type')).toMatch(/^application\/did\+ld\+json/);
    expect((await ld.json())['@context']).toContain('https://www.w3.org/ns/did/v1');
    const plain = await get(`/1.0/identifiers/${did}`, 'application/did+json');
    expect(plain.headers.get('content-type')).toMatch(/^application\/did\+json/);
    expect((await plain.json()).id).toBe(did);
    expect((await get(`/1.0/identifiers/${did}`, 'text/html')).status).toBe(406);
  });

  it('dereferences a verification-method fragment (# sent as %23)', async () => {
    const fragment = did.slice('did:key:'.length);
    const response = await get(`/1.0/identifiers/${did}%23${fragment}`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.didDocument).toMatchObject({ id: `${did}#${fragment}`, type: 'Multikey', controller: did });
    expect(body.didDereferencingMetadata.error).toBeUndefined();
    const missing = await get(`/1.0/identifiers/${did}%23nope`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).didDereferencingMetadata.error).toBe('notFound');
  });

  it('uses the DID Resolution error codes and statuses', async () => {
    const invalid = await get('/1.0/identifiers/did:key:not-base58!');
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).didResolutionMetadata.error).toBe('invalidDid');
    const notADid = await get('/1.0/identifiers/hello');
    expect(notADid.status).toBe(400);
    const unknown = await get('/1.0/identifiers/did:example:123');
    expect(unknown.status).toBe(501);
    expect((await unknown.json()).didResolutionMetadata.error).toBe('methodNotSupported');
  });

  it('never makes the server fetch a did:web document from a private address', async () => {
    let hits = 0;
    const local = createServer((_request, response) => {
      hits++;
      response.end('{}');
    });
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    const { port } = local.address() as AddressInfo;
    try {
      for (const host of [`localhost%3A${port}`, `127.0.0.1%3A${port}`]) {
        const response = await get(`/1.0/identifiers/did:web:${host}`);
        expect(response.status).not.toBe(200);
      }
      expect(hits).toBe(0);
    } finally {
      local.close();
    }
  });
});

describe('public-only fetch', () => {
  it('tells public addresses from loopback, private, link-local and mapped ones', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111'])
      expect(isPublicAddress(address)).toBe(true);
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      'not an address',
    ]) {
      expect(isPublicAddress(address)).toBe(false);
    }
  });

  it('refuses plain http and private IP literals before connecting', async () => {
    const fetch = publicFetch();
    await expect(fetch('http://example.com/.well-known/did.json')).rejects.toThrow(/only https/);
    await expect(fetch('https://169.254.169.254/latest/meta-data')).rejects.toThrow(/not a public address/);
    await expect(fetch('https://[::1]/x')).rejects.toThrow(/not a public address/);
  });
});

describe('public endpoints rate limit', () => {
  it('limits each client address per public surface, with Retry-After', async () => {
    const server = await startTestServer({ PERSONA_RATE_LIMIT_PUBLIC: '1/s:2' });
    try {
      const resolve = () => server.call('GET', '/1.0/identifiers/did:example:1', { key: null });
      expect((await resolve()).status).toBe(501);
      expect((await resolve()).status).toBe(501);
      const refused = await resolve();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // The ledger's budget is its own.
      expect((await server.call('GET', '/ledger/checkpoint', { key: null })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
