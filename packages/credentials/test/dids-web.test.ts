import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signatureScheme } from '@personachain/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDidDocument,
  createDidResolver,
  createDidWebMethod,
  DidError,
  didWebFromUrl,
  didWebToUrl,
} from '../src/index.js';

describe('did:web ⇄ URL (did:web spec examples)', () => {
  for (const [did, url] of [
    ['did:web:w3c-ccg.github.io', 'https://w3c-ccg.github.io/.well-known/did.json'],
    ['did:web:w3c-ccg.github.io:user:alice', 'https://w3c-ccg.github.io/user/alice/did.json'],
    ['did:web:example.com%3A3000:user:alice', 'https://example.com:3000/user/alice/did.json'],
    ['did:web:example.com%3A3000', 'https://example.com:3000/.well-known/did.json'],
    ['did:web:example.com:u%20x', 'https://example.com/u%20x/did.json'],
  ]) {
    it(`${did} → ${url}`, () => {
      expect(didWebToUrl(did as string).href).toBe(url);
    });
  }

  for (const did of [
    'did:web:127.0.0.1', // the spec forbids IP addresses
    'did:web:exa_mple.com',
    'did:web:-example.com',
    'did:web:example.com%3A0',
    'did:web:example.com%3A70000',
    'did:web:example.com%3Aabc',
    'did:web:example.com::alice',
    'did:web:example.com:..:alice',
    'did:web:example.com%2Fevil',
    'did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b',
  ]) {
    it(`rejects ${did} with invalidDid`, () => {
      expect(() => didWebToUrl(did)).toThrow(expect.objectContaining({ code: 'invalidDid' }));
    });
  }

  it('builds the DID for a hosting base URL and path, and maps it back', () => {
    const did = didWebFromUrl('https://id.example.com:8443/tenants', ['acme', 'issuer 1']);
    expect(did).toBe('did:web:id.example.com%3A8443:tenants:acme:issuer%201');
    expect(didWebToUrl(did).href).toBe('https://id.example.com:8443/tenants/acme/issuer%201/did.json');
    expect(didWebFromUrl('https://example.com/')).toBe('did:web:example.com');
    expect(() => didWebFromUrl('http://example.com')).toThrow(DidError);
    expect(() => didWebFromUrl('https://example.com/?q=1')).toThrow(DidError);
  });
});

describe('did:web resolution against a local server', () => {
  let server: Server;
  let origin: string;
  const requests: string[] = [];
  const did = 'did:web:issuer.example:acme';
  let document: ReturnType<typeof buildDidDocument>;

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/acme/did.json': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/did+json' }).end(JSON.stringify(document));
    },
    '/plain/did.json': (_req, res) => {
      const { '@context': _c, ...rest } = document;
      res
        .writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify({ ...rest, id: 'did:web:issuer.example:plain' }));
    },
    '/wrong-id/did.json': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    },
    '/html/did.json': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    },
    '/broken/did.json': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":');
    },
    '/relative/did.json': (_req, res) => {
      const id = 'did:web:issuer.example:relative';
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id, verificationMethod: [{ id: '#k', type: 'Multikey', controller: id }] }));
    },
    '/big/did.json': (_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(`{"id":"x","pad":"${'a'.repeat(300_000)}"}`);
    },
    '/big-chunked/did.json': (_req, res) => {
      // No content-length: the limit must hold while streaming.
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 40; i++) res.write('a'.repeat(10_000));
      res.end();
    },
    '/fail/did.json': (_req, res) => {
      res.writeHead(503).end();
    },
    '/gone/did.json': (_req, res) => {
      res.writeHead(410).end();
    },
    '/redirect/did.json': (_req, res) => {
      res.writeHead(302, { location: '/acme/did.json' }).end();
    },
    '/slow/did.json': () => {
      // never answers
    },
  };

  // Maps every https URL onto the local server: nothing leaves 127.0.0.1.
  const localFetch: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    requests.push(url.href);
    return fetch(`${origin}${url.pathname}`, init);
  };

  beforeAll(async () => {
    const { publicKey } = await signatureScheme('Ed25519').generateKeyPair();
    document = buildDidDocument(did, { keys: [{ algorithm: 'Ed25519', publicKey, fragment: 'key-1' }] });
    server = createServer((req, res) => {
      const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
      if (route) route(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const resolver = () =>
    createDidResolver({
      fetch: localFetch,
      methods: [createDidWebMethod({ timeoutMs: 300, maxBytes: 256 * 1024 })],
    });

  it('resolves a hosted document', async () => {
    const result = await resolver().resolve(did);
    expect(requests.at(-1)).toBe('https://issuer.example/acme/did.json');
    expect(result.didResolutionMetadata).toEqual({ contentType: 'application/did+ld+json' });
    expect(result.didDocument).toEqual(document);
    const json = await resolver().resolve(did, { accept: 'application/did+json' });
    expect(json.didDocument?.['@context']).toBeUndefined();
    expect(json.didResolutionMetadata.contentType).toBe('application/did+json');
  });

  it('adds the DID context to a plain-JSON document for the JSON-LD representation', async () => {
    const result = await resolver().resolve('did:web:issuer.example:plain');
    expect(result.didDocument?.['@context']).toBe('https://www.w3.org/ns/did/v1');
  });

  it('dereferences a verification method of a did:web document', async () => {
    const result = await resolver().dereference(`${did}#key-1`);
    expect(result.contentStream).toMatchObject({
      '@context': 'https://w3id.org/security/multikey/v1',
      id: `${did}#key-1`,
      type: 'Multikey',
      controller: did,
    });
  });

  for (const [path, error, message] of [
    ['missing', 'notFound', /answered 404/],
    ['gone', 'notFound', /answered 410/],
    ['wrong-id', 'invalidDidDocument', /id "did:web:issuer.example:acme" is not/],
    ['html', 'invalidDidDocument', /text\/html, not JSON/],
    ['broken', 'invalidDidDocument', /is not JSON/],
    ['relative', 'invalidDidDocument', /no absolute DID URL id/],
    ['big', 'invalidDidDocument', /larger than 262144 bytes/],
    ['big-chunked', 'invalidDidDocument', /larger than 262144 bytes/],
    ['fail', 'internalError', /answered 503/],
    ['redirect', 'internalError', /failed$/],
  ] as const) {
    it(`/${path} → ${error}`, async () => {
      const result = await resolver().resolve(`did:web:issuer.example:${path}`);
      expect(result.didResolutionMetadata.error).toBe(error);
      expect(result.didResolutionMetadata.errorMessage).toMatch(message);
      expect(result.didDocument).toBeNull();
    });
  }

  it('times out a server that never answers within timeoutMs', async () => {
    const started = Date.now();
    const result = await resolver().resolve('did:web:issuer.example:slow');
    expect(result.didResolutionMetadata.error).toBe('internalError');
    expect(result.didResolutionMetadata.errorMessage).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses a declared Content-Length above the limit (the 2-byte body alone would pass the size check)', async () => {
    const declaring: typeof fetch = async () =>
      new Response('{}', { headers: { 'content-type': 'application/json', 'content-length': '300000' } });
    const result = await createDidResolver({ fetch: declaring }).resolve(did);
    expect(result.didResolutionMetadata.errorMessage).toMatch(/larger than 262144 bytes/);
  });

  it("honours the caller's abort signal", async () => {
    const controller = new AbortController();
    const pending = resolver().resolve('did:web:issuer.example:slow', { signal: controller.signal });
    controller.abort();
    expect((await pending).didResolutionMetadata.error).toBe('internalError');
  });
});
