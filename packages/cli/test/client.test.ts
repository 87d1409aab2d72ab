import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiClient, MAX_PAGE_SIZE } from '../src/client.js';
import { CliError } from '../src/errors.js';
import type { Organization } from '../src/types.js';
import { FakeApi, problem } from './fake-api.js';

const SECRET = 'sk_test';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let api: FakeApi;
let client: ApiClient;

beforeEach(async () => {
  api = new FakeApi(SECRET);
  await api.start();
  client = new ApiClient(api.url, SECRET);
});

afterEach(async () => {
  await api.close();
});

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`);
  return error;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('requests', () => {
  it('sends the bearer key, JSON, and a fresh Idempotency-Key on each POST only', async () => {
    await client.post('v1/organizations', { name: 'Acme' });
    await client.post('v1/organizations', { name: 'Acme' });
    await client.get('v1/organizations');
    const [first, second, list] = api.requests;
    expect(first?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(first?.headers['content-type']).toBe('application/json');
    expect(first?.body).toEqual({ name: 'Acme' });
    expect(first?.headers['idempotency-key']).toMatch(UUID);
    expect(second?.headers['idempotency-key']).toMatch(UUID);
    expect(second?.headers['idempotency-key']).not.toBe(first?.headers['idempotency-key']);
    expect(list?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(list?.headers['idempotency-key']).toBeUndefined();
  });

  it('resolves API paths under a base URL with a path prefix', async () => {
    const proxied = new FakeApi(SECRET, '/persona');
    await proxied.start();
    try {
      const org = await new ApiClient(proxied.url, SECRET).post<Organization>('v1/organizations', {
        name: 'A',
      });
      expect(org.name).toBe('A');
      expect(proxied.requests[0]?.path).toBe('/persona/v1/organizations');
    } finally {
      await proxied.close();
    }
  });

  it('returns undefined for 204 responses', async () => {
    const org = api.addOrg('Gone');
    await expect(client.delete(`v1/organizations/${org.id}`)).resolves.toBeUndefined();
    expect(api.orgs).toEqual([]);
  });
});

describe('pagination', () => {
  beforeEach(() => {
    for (let i = 0; i < 250; i++) api.addOrg(`org ${i}`);
  });

  it('follows nextCursor through every page, asking for full pages', async () => {
    const page = await client.list<Organization>('v1/organizations');
    expect(page.data.map((org) => org.name)).toEqual(api.orgs.map((org) => org.name));
    expect(page.nextCursor).toBeNull();
    expect(api.requests.map((r) => r.query.get('limit'))).toEqual(['100', '100', '100']);
    expect(api.requests[0]?.query.has('cursor')).toBe(false);
  });

  it('stops at --limit and returns the cursor to continue from', async () => {
    const first = await client.list<Organization>('v1/organizations', { limit: 130 });
    expect(first.data).toHaveLength(130);
    expect(api.requests.map((r) => r.query.get('limit'))).toEqual([String(MAX_PAGE_SIZE), '30']);
    expect(first.nextCursor).not.toBeNull();

    const rest = await client.list<Organization>('v1/organizations', { cursor: first.nextCursor ?? '' });
    expect([...first.data, ...rest.data].map((org) => org.id)).toEqual(api.orgs.map((org) => org.id));
  });

  it('gives up when the server hands back the cursor it was given', async () => {
    api.replaceReplies = () => ({ status: 200, body: { data: [], nextCursor: 'same' } });
    const error = await failure(client.list('v1/organizations'));
    expect(error.message).toBe('the server returned the same cursor twice for v1/organizations');
    expect(api.requests).toHaveLength(2);
  });
});

describe('errors', () => {
  it('turns a problem into "title: detail" with field errors, status and request id', async () => {
    api.replaceReplies = () =>
      problem(400, 'validation-error', 'Invalid request', 'The request is not valid', [
        { in: 'body', pointer: '#/name', detail: 'must NOT have fewer than 1 characters' },
        { in: 'body', pointer: '#/role', detail: 'must be equal to one of the allowed values' },
      ]);
    const error = await failure(client.post('v1/organizations', { name: '' }));
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('Invalid request: The request is not valid');
    expect(error.details).toEqual([
      'body /name: must NOT have fewer than 1 characters',
      'body /role: must be equal to one of the allowed values',
      'HTTP 400, request id req-1',
    ]);
  });

  it('names the HTTP status when the error body is not a problem', async () => {
    api.replaceReplies = () => ({ status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' });
    const error = await failure(client.get('v1/organizations'));
    expect(error.message).toBe('HTTP 502 Bad Gateway');
    expect(error.details).toEqual(['HTTP 502']);
  });

  it('refuses a successful response that is not JSON', async () => {
    api.replaceReplies = () => ({ status: 200, body: '<html>login page</html>', contentType: 'text/html' });
    const error = await failure(client.get('v1/organizations'));
    expect(error.message).toBe(
      `unexpected response from ${api.url}/v1/organizations: expected JSON, got text/html`,
    );
  });

  it('names the URL when nothing listens there', async () => {
    const port = await closedPort();
    const error = await failure(new ApiClient(`http://127.0.0.1:${port}`, SECRET).get('v1/organizations'));
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(
      `cannot reach http://127.0.0.1:${port}/: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it('gives up on a server that does not answer', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const error = await failure(
        new ApiClient(`http://127.0.0.1:${port}`, SECRET, 200).get('v1/organizations'),
      );
      expect(error.message).toBe(`no response from http://127.0.0.1:${port}/ within 0.2 s`);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
