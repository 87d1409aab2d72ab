import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/openapi-document.js';
import { createTenant, startTestServer, type Tenant, type TestServer } from './helpers.js';

let server: TestServer;
let tenant: Tenant;

beforeAll(async () => {
  server = await startTestServer({
    PERSONA_BODY_LIMIT: '4096',
    PERSONA_CORS_ORIGINS: 'https://console.example',
  });
  tenant = await createTenant(server, 'Inputs');
});
afterAll(() => server?.close());

async function keyCount(): Promise<number> {
  const page = await server.json('GET', `/v1/projects/${tenant.projectId}/api-keys?limit=100`);
  return page.body.data.length;
}

describe('bad input is a 4xx problem+json that names the field, and writes nothing', () => {
  const path = () => `/v1/projects/${tenant.projectId}/api-keys`;
  const cases: Array<{
    name: string;
    status: number;
    type: string;
    rawBody?: string;
    body?: unknown;
    headers?: Record<string, string>;
    pointers?: string[];
  }> = [
    { name: 'malformed JSON', rawBody: '{"name": ', status: 400, type: 'malformed-json' },
    { name: 'empty body', rawBody: '', status: 400, type: 'malformed-json' },
    {
      name: 'JSON that is not an object',
      body: ['name'],
      status: 400,
      type: 'validation-error',
      pointers: ['#'],
    },
    { name: 'wrong type', body: { name: 42 }, status: 400, type: 'validation-error', pointers: ['#/name'] },
    { name: 'missing field', body: {}, status: 400, type: 'validation-error', pointers: ['#/name'] },
    {
      name: 'unknown field',
      body: { name: 'k', admin: true },
      status: 400,
      type: 'validation-error',
      pointers: ['#/admin'],
    },
    {
      name: 'bad enum',
      body: { name: 'k', role: 'root' },
      status: 400,
      type: 'validation-error',
      pointers: ['#/role'],
    },
    {
      name: 'blank name',
      body: { name: '   ' },
      status: 400,
      type: 'validation-error',
      pointers: ['#/name'],
    },
    {
      name: 'several problems at once',
      body: { name: 1, role: 2, extra: 3 },
      status: 400,
      type: 'validation-error',
      pointers: ['#/name', '#/role', '#/extra'],
    },
    { name: 'oversize body', body: { name: 'x'.repeat(5000) }, status: 413, type: 'payload-too-large' },
    {
      name: 'NUL byte in a name',
      body: { name: 'a\u0000b' },
      status: 400,
      type: 'validation-error',
      pointers: ['#/name'],
    },
    {
      name: 'text/plain body',
      rawBody: '{"name":"x"}',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      type: 'unsupported-media-type',
    },
    {
      name: 'wrong media type',
      rawBody: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: 415,
      type: 'unsupported-media-type',
    },
  ];

  it.each(cases)('$name → $status $type', async ({ rawBody, body, headers, status, type, pointers }) => {
    const before = await keyCount();
    const response = await server.json('POST', path(), { rawBody, body, headers });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: `urn:personachain:problem:${type}`, status });
    expect(response.body.detail).toEqual(expect.any(String));
    expect(response.body.requestId).toBe(response.headers.get('x-request-id'));
    if (pointers)
      expect(response.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(
        [...pointers].sort(),
      );
    expect(await keyCount()).toBe(before);
  });

  it('rejects wrong types in path and query parameters too', async () => {
    const response = await server.json('GET', `/v1/organizations/${tenant.orgId}/projects?limit=abc`);
    expect(response.status).toBe(400);
    expect(response.body.errors[0]).toMatchObject({ in: 'querystring', pointer: '#/limit' });
    const unknownQuery = await server.json('GET', `/v1/organizations/${tenant.orgId}/projects?sort=name`);
    expect(unknownQuery.status).toBe(400);
  });

  it('answers a URL it cannot decode, and HTTP it cannot parse, with a problem too', async () => {
    const badUrl = await server.json('GET', '/v1/organizations/%');
    expect(badUrl.status).toBe(400);
    expect(badUrl.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(badUrl.body.type).toBe('urn:personachain:problem:validation-error');

    const { port } = new URL(server.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('POST /v1/organizations HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n');
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('Content-Type: application/problem+json');
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).type).toBe(
      'urn:personachain:problem:malformed-request',
    );
  });

  it('answers unknown routes with a 404 problem', async () => {
    const response = await server.json('GET', '/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.body.type).toBe('urn:personachain:problem:not-found');
  });
});

describe('request ids, headers, CORS', () => {
  it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
    const kept = await server.call('GET', '/healthz', { headers: { 'x-request-id': 'trace-123.abc' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-123.abc');
    const replaced = await server.call('GET', '/healthz', {
      headers: { 'x-request-id': 'evil\tinjected line' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const generated = await server.call('GET', '/healthz');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers', async () => {
    const response = await server.call('GET', `/v1/projects/${tenant.projectId}`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('allows only configured CORS origins', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/v1/organizations`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization',
        },
      });
    const allowed = await preflight('https://console.example');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://console.example');
    const denied = await preflight('https://evil.example');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('operations endpoints', () => {
  it('/healthz and /readyz answer without a key', async () => {
    expect(await (await server.call('GET', '/healthz', { key: null })).json()).toEqual({ status: 'ok' });
    expect(await (await server.call('GET', '/readyz', { key: null })).json()).toEqual({ status: 'ready' });
  });

  it('/metrics has request durations by route template and status, in-flight and process metrics', async () => {
    await server.call('GET', `/v1/projects/${tenant.projectId}`);
    const text = await (await server.call('GET', '/metrics', { key: null })).text();
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{[^}]*route="\/v1\/projects\/:projectId"[^}]*status_code="200"/,
    );
    expect(text).not.toContain(tenant.projectId);
    expect(text).toContain('http_requests_in_flight');
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('/openapi.json is an OpenAPI 3.1 document of every /v1 route, and docs/openapi.json matches it', async () => {
    const served = await (await server.call('GET', '/openapi.json', { key: null })).json();
    expect(served.openapi).toBe('3.1.0');
    expect(Object.keys(served.paths)).toContain('/v1/projects/{projectId}/api-keys/{keyId}');
    const checkedIn = JSON.parse(
      readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8'),
    );
    expect(checkedIn, 'docs/openapi.json is stale: run `npm run openapi` and commit it').toEqual(
      await openApiDocument(),
    );
  });
});

describe('metrics token', () => {
  it('protects /metrics when PERSONA_METRICS_TOKEN is set', async () => {
    const guarded = await startTestServer({ PERSONA_METRICS_TOKEN: 'scrape-secret' });
    try {
      expect((await guarded.call('GET', '/metrics', { key: null })).status).toBe(401);
      expect((await guarded.call('GET', '/metrics', { key: 'wrong' })).status).toBe(401);
      expect((await guarded.call('GET', '/metrics', { key: 'scrape-secret' })).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
