import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, RAPIDAPI_HOST, RAPIDAPI_KEY, startFakeApi } from './connectors-fake-api.js';
import {
  createTenant,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';

/**
 * HTTP connectors through the API, against a local fake RapidAPI phone-validation API. The server trusts
 * 127.0.0.1 (PERSONA_OUTBOUND_TRUSTED_HOSTS), as an operator would trust an intranet gateway; the SSRF
 * cases check what is refused without that trust. JSONata runs in the built evaluator (`npx tsc -b`).
 */
const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

describe.each(engines)('connectors on %s', (engine) => {
  let server: TestServer;
  let api: FakeApi;
  let a: Tenant;
  let b: Tenant;
  let issuerId: string;

  const base = (tenant: Tenant) => `/v1/projects/${tenant.projectId}/connectors`;
  const create = (body: unknown, tenant = a, key = tenant.keys.developer) =>
    server.json('POST', base(tenant), { key, body });
  const run = (id: string, input: unknown, tenant = a, key = tenant.keys.developer) =>
    server.json('POST', `${base(tenant)}/${id}/test`, { key, body: { input } });

  /** The RapidAPI phone connector: valid numbers succeed and map to claims. */
  const phoneConnector = (extra: Record<string, unknown> = {}) => ({
    name: 'Phone validation (RapidAPI)',
    urlTemplate: `${api.origin}/verify?phone={{input.phone}}`,
    headers: [
      { name: 'X-RapidAPI-Key', value: '{{secrets.rapidApiKey}}' },
      { name: 'X-RapidAPI-Host', value: RAPIDAPI_HOST },
    ],
    secrets: { rapidApiKey: RAPIDAPI_KEY },
    successRule: 'status = 200 and body.phone_valid = true',
    mapping:
      '{ "phoneNumber": body.e164, "phoneType": body.phone_type, "carrier": body.carrier, "country": body.country_code }',
    credential: { type: 'PhoneVerificationCredential' },
    ...extra,
  });

  const made = async (body: unknown, tenant = a) => {
    const response = await create(body, tenant);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body;
  };

  beforeAll(async () => {
    api = await startFakeApi();
    server = await startTestServer({ PERSONA_OUTBOUND_TRUSTED_HOSTS: '127.0.0.1' }, engine);
    a = await createTenant(server, 'Connectors A');
    b = await createTenant(server, 'Connectors B');
    const issuer = await server.json('POST', `/v1/projects/${a.projectId}/issuers`, {
      key: a.keys.developer,
      body: { name: 'Phone issuer', didMethod: 'did:key', suites: ['eddsa-rdfc-2022'] },
    });
    expect(issuer.status).toBe(201);
    issuerId = issuer.body.id;
  });
  afterAll(async () => {
    await server.close();
    await api.close();
  });

  describe('configuration', () => {
    it('creates, lists, reads, updates and deletes; secrets are write-only', async () => {
      const connector = await made(phoneConnector());
      expect(connector).toMatchObject({
        id: expect.stringMatching(/^con_[0-9a-f]{32}$/),
        projectId: a.projectId,
        method: 'GET',
        secrets: ['rapidApiKey'],
        timeoutMs: 10_000,
        rateLimit: { perSecond: 10, burst: 20 },
        quota: {},
        health: { status: 'unknown', consecutiveFailures: 0 },
        usage: { today: 0, thisMonth: 0 },
      });
      expect(JSON.stringify(connector)).not.toContain(RAPIDAPI_KEY);

      const read = await server.json('GET', `${base(a)}/${connector.id}`, { key: a.keys.auditor });
      expect(read.status).toBe(200);
      expect(read.body).toEqual(connector);

      await made({ ...phoneConnector(), name: 'second' });
      const first = await server.json('GET', `${base(a)}?limit=1`, { key: a.keys.auditor });
      expect(first.body.data).toHaveLength(1);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await server.json('GET', `${base(a)}?limit=1&cursor=${first.body.nextCursor}`, {
        key: a.keys.auditor,
      });
      expect(second.body.data[0].id).not.toBe(first.body.data[0].id);

      const patched = await server.json('PATCH', `${base(a)}/${connector.id}`, {
        key: a.keys.developer,
        body: {
          name: 'Renamed',
          secrets: { spare: 'another-secret-value' },
          timeoutMs: 5000,
          successRule: null,
        },
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      expect(patched.body).toMatchObject({
        name: 'Renamed',
        secrets: ['rapidApiKey', 'spare'],
        timeoutMs: 5000,
      });
      expect(patched.body.successRule).toBeUndefined();
      expect(patched.body.mapping).toBe(connector.mapping);

      // Removing a secret that a header still references leaves the connector as it was.
      const orphaning = await server.json('PATCH', `${base(a)}/${connector.id}`, {
        key: a.keys.developer,
        body: { secrets: { rapidApiKey: null } },
      });
      expect(orphaning.status).toBe(400);
      expect(orphaning.body.errors).toEqual([
        { in: 'body', pointer: '#/headers/0/value', detail: 'references the unknown secret rapidApiKey' },
      ]);

      const deleted = await server.call('DELETE', `${base(a)}/${connector.id}`, { key: a.keys.developer });
      expect(deleted.status).toBe(204);
      expect((await server.json('GET', `${base(a)}/${connector.id}`, { key: a.keys.auditor })).status).toBe(
        404,
      );

      const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`, {
        key: a.keys.owner,
      });
      const types = audit.body.data.map((entry: { type: string }) => entry.type);
      expect(types).toEqual(
        expect.arrayContaining(['connector.created', 'connector.updated', 'connector.deleted']),
      );
      expect(JSON.stringify(audit.body)).not.toContain(RAPIDAPI_KEY);
    });

    it.runIf(engine === 'sqlite')('stores secrets encrypted (absent from the database files)', async () => {
      const secret = 'plaintext-secret-canary-7f3a9c';
      const connector = await made(phoneConnector({ secrets: { rapidApiKey: secret } }));
      expect(connector.secrets).toEqual(['rapidApiKey']);
      // The WAL holds recent writes until a checkpoint, so both files are read.
      const files = readdirSync(server.dataDir).filter((name) => name.startsWith('persona.db'));
      expect(files).toContain('persona.db');
      for (const file of files) {
        expect(readFileSync(join(server.dataDir, file)).includes(Buffer.from(secret)), file).toBe(false);
      }
      // And yet the server can read it back: the fake API accepts only the real key.
      const sealed = await made(phoneConnector());
      expect((await run(sealed.id, { phone: '+1 212 555 0100' })).body.success).toBe(true);
    });

    it('checks templates, JSONata and limits when configured, naming the field', async () => {
      const unknownSecret = await create(
        phoneConnector({ headers: [{ name: 'X-RapidAPI-Key', value: '{{secrets.nope}}' }] }),
      );
      expect(unknownSecret.status).toBe(400);
      expect(unknownSecret.body.errors).toEqual([
        { in: 'body', pointer: '#/headers/0/value', detail: 'references the unknown secret nope' },
      ]);
      const syntax = await create(phoneConnector({ mapping: '{ "a": body.x ' }));
      expect(syntax.status).toBe(400);
      expect(syntax.body.errors[0].pointer).toBe('#/mapping');
      expect(syntax.body.errors[0].detail).toMatch(/at character \d+/);
      const placeholder = await create(
        phoneConnector({ urlTemplate: `${api.origin}/verify?phone={{input.phone}` }),
      );
      expect(placeholder.body.errors[0]).toMatchObject({ pointer: '#/urlTemplate' });
      const timeout = await create(phoneConnector({ timeoutMs: 60_000 }));
      expect(timeout.status).toBe(400);
      expect(timeout.body.errors[0].pointer).toBe('#/timeoutMs');
      const body = await create(phoneConnector({ bodyTemplate: { phone: '{{input.phone}}' } }));
      expect(body.body.errors).toEqual([
        { in: 'body', pointer: '#/bodyTemplate', detail: 'needs a method with a body (POST, PUT or PATCH)' },
      ]);
      const secretName = await create(phoneConnector({ secrets: { 'bad name': 'x' } }));
      expect(secretName.status).toBe(400);
      expect(secretName.body.errors[0].pointer).toMatch(/^#\/secrets/);
      const foreignIssuer = await create(
        phoneConnector({ credential: { type: 'X', issuerId: 'iss_00000000000000000000000000000000' } }),
      );
      expect(foreignIssuer.body.errors).toEqual([
        { in: 'body', pointer: '#/credential/issuerId', detail: 'is not an issuer of this project' },
      ]);
    });
  });

  describe('runs', () => {
    it('calls the API with the secret headers, applies the success rule and maps the claims', async () => {
      const connector = await made(phoneConnector());
      const before = api.requests.length;
      const ok = await run(connector.id, { phone: '+1 212 555 0100' });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toEqual({
        success: true,
        statusCode: 200,
        durationMs: expect.any(Number),
        claims: { phoneNumber: '+12125550100', phoneType: 'mobile', carrier: 'Acme Mobile', country: 'US' },
      });
      const seen = api.requests[before];
      expect(seen?.path).toBe('/verify?phone=%2B1%20212%20555%200100');
      expect(seen?.headers['x-rapidapi-key']).toBe(RAPIDAPI_KEY);
      expect(seen?.headers['x-rapidapi-host']).toBe(RAPIDAPI_HOST);

      const invalid = await run(connector.id, { phone: '12' });
      expect(invalid.body).toMatchObject({
        success: false,
        statusCode: 200,
        reason: 'rule_failed',
        claims: {},
      });
      expect(invalid.body.detail).toBe('the success rule gave false (HTTP 200)');

      const missing = await run(connector.id, { number: '1' });
      expect(missing.status).toBe(400);
      expect(missing.body.errors).toEqual([
        { in: 'body', pointer: '#/input/phone', detail: 'input.phone is required' },
      ]);

      // A wrong key: the API says 403 and the default rule (2xx) fails.
      const wrongKey = await made(
        phoneConnector({ secrets: { rapidApiKey: 'wrong' }, successRule: undefined }),
      );
      const refused = await run(wrongKey.id, { phone: '+1 212 555 0100' });
      expect(refused.body).toMatchObject({
        success: false,
        statusCode: 403,
        reason: 'rule_failed',
        detail: 'the API answered HTTP 403',
      });
    });

    it('renders JSON bodies and reads text answers', async () => {
      const echo = await made({
        name: 'echo',
        method: 'POST',
        urlTemplate: `${api.origin}/echo`,
        bodyTemplate: { person: '{{input.person}}', note: 'age {{input.person.age}}', fixed: [1, true] },
        mapping: '{ "sent": body.body, "method": body.method }',
      });
      const result = await run(echo.id, { person: { name: 'Ann', age: 41 } });
      expect(result.body.claims).toEqual({
        sent: { person: { name: 'Ann', age: 41 }, note: 'age 41', fixed: [1, true] },
        method: 'POST',
      });
      const text = await made({
        name: 'text',
        urlTemplate: `${api.origin}/text`,
        mapping: '{ "answer": body }',
      });
      expect((await run(text.id, {})).body.claims).toEqual({ answer: 'OK 42' });
    });

    it('fails a run whose mapping is not a claims object', async () => {
      const connector = await made(phoneConnector({ mapping: 'body.carrier' }));
      const result = await run(connector.id, { phone: '+1 212 555 0100' });
      expect(result.body).toMatchObject({
        success: false,
        reason: 'mapping_failed',
        detail: 'the mapping must produce a JSON object of claims',
      });
    });

    it('stops runaway JSONata without harming the server', async () => {
      const backtracking = await made({
        name: 'backtracking',
        urlTemplate: `${api.origin}/backtrack`,
        mapping: '{ "m": $match(body.s, /^(a+)+$/) }',
      });
      const started = Date.now();
      const stuck = await run(backtracking.id, {});
      expect(stuck.status).toBe(200);
      expect(stuck.body).toMatchObject({ success: false, reason: 'mapping_failed' });
      expect(stuck.body.detail).toMatch(/ran out of time/);
      expect(Date.now() - started).toBeLessThan(5000);

      const recursive = await made({
        name: 'recursive',
        urlTemplate: `${api.origin}/health`,
        successRule: '( $f := function($x){ $f($x + 1) }; $f(1) )',
      });
      const loop = await run(recursive.id, {});
      expect(loop.body).toMatchObject({ success: false, reason: 'rule_failed' });

      const heap = await made({
        name: 'heap',
        urlTemplate: `${api.origin}/health`,
        mapping: '{ "x": [1..10].($pad("", 100000000)) }',
      });
      expect((await run(heap.id, {})).body).toMatchObject({ success: false, reason: 'mapping_failed' });

      // The server and the evaluator carry on.
      const fine = await made(phoneConnector());
      expect((await run(fine.id, { phone: '+1 212 555 0100' })).body.success).toBe(true);
    });

    it('times out a hanging API', async () => {
      const connector = await made({ name: 'hangs', urlTemplate: `${api.origin}/hang`, timeoutMs: 300 });
      const started = Date.now();
      const result = await run(connector.id, {});
      expect(result.body).toMatchObject({ success: false, reason: 'connector_timeout', statusCode: null });
      expect(result.body.detail).toBe('the API did not answer within 300 ms');
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('rate limits per connector with 429 and Retry-After', async () => {
      const connector = await made(phoneConnector({ rateLimit: { perSecond: 0.01, burst: 2 } }));
      expect((await run(connector.id, { phone: '+1 212 555 0100' })).status).toBe(200);
      expect((await run(connector.id, { phone: '+1 212 555 0100' })).status).toBe(200);
      const limited = await run(connector.id, { phone: '+1 212 555 0100' });
      expect(limited.status).toBe(429);
      expect(limited.body.reason).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another connector has its own bucket.
      const other = await made(phoneConnector());
      expect((await run(other.id, { phone: '+1 212 555 0100' })).status).toBe(200);
    });

    it('enforces daily quotas exactly, also under concurrency', async () => {
      const connector = await made(phoneConnector({ quota: { perDay: 5, perMonth: 100 } }));
      const before = api.requests.length;
      const results = await Promise.all(
        Array.from({ length: 12 }, () => run(connector.id, { phone: '+1 212 555 0100' })),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(7);
      expect(api.requests.length - before).toBe(5);
      const refused = results.find((r) => r.status === 429);
      expect(refused?.body.reason).toBe('quota_exceeded');
      expect(refused?.body.detail).toMatch(/daily quota of 5 requests/);
      expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
      const read = await server.json('GET', `${base(a)}/${connector.id}`, { key: a.keys.auditor });
      expect(read.body.usage).toEqual({ today: 5, thisMonth: 5 });
      // Raising the quota lets requests through again.
      await server.json('PATCH', `${base(a)}/${connector.id}`, {
        key: a.keys.developer,
        body: { quota: { perDay: 6 } },
      });
      expect((await run(connector.id, { phone: '+1 212 555 0100' })).status).toBe(200);
      expect((await run(connector.id, { phone: '+1 212 555 0100' })).status).toBe(429);
    });

    it('logs runs without input values or response bodies', async () => {
      const connector = await made(phoneConnector());
      await run(connector.id, { phone: '+1 212 555 0100' });
      await run(connector.id, { phone: '12' });
      const runs = await server.json('GET', `${base(a)}/${connector.id}/runs?limit=1`, {
        key: a.keys.auditor,
      });
      expect(runs.status).toBe(200);
      expect(runs.body.data).toEqual([
        {
          at: expect.any(String),
          kind: 'test',
          success: false,
          statusCode: 200,
          durationMs: expect.any(Number),
          reason: 'rule_failed',
          detail: 'the success rule gave false (HTTP 200)',
        },
      ]);
      const older = await server.json(
        'GET',
        `${base(a)}/${connector.id}/runs?cursor=${runs.body.nextCursor}`,
        { key: a.keys.auditor },
      );
      expect(older.body.data).toHaveLength(1);
      expect(older.body.data[0]).toMatchObject({ success: true, reason: null });
      expect(older.body.nextCursor).toBeNull();
      const all = JSON.stringify([runs.body, older.body]);
      expect(all).not.toContain('212');
      expect(all).not.toContain('Acme');
    });
  });

  describe('health', () => {
    it('runs the health request or the sample input and keeps the result', async () => {
      const none = await made(phoneConnector());
      const refused = await server.json('POST', `${base(a)}/${none.id}/health`, { key: a.keys.developer });
      expect(refused.status).toBe(400);
      expect(refused.body.detail).toMatch(/healthCheck .* or sampleInput/);

      const checked = await made(phoneConnector({ healthCheck: { urlTemplate: `${api.origin}/health` } }));
      const healthy = await server.json('POST', `${base(a)}/${checked.id}/health`, { key: a.keys.developer });
      expect(healthy.body).toMatchObject({
        status: 'healthy',
        statusCode: 200,
        consecutiveFailures: 0,
        reason: null,
      });

      const failing = await made(
        phoneConnector({ healthCheck: { urlTemplate: `${api.origin}/health`, expectStatus: 204 } }),
      );
      await server.json('POST', `${base(a)}/${failing.id}/health`, { key: a.keys.developer });
      const twice = await server.json('POST', `${base(a)}/${failing.id}/health`, { key: a.keys.developer });
      expect(twice.body).toMatchObject({ status: 'unhealthy', statusCode: 200, consecutiveFailures: 2 });
      expect(twice.body.reason).toMatch(/not 204/);
      const read = await server.json('GET', `${base(a)}/${failing.id}`, { key: a.keys.auditor });
      expect(read.body.health).toEqual(twice.body);

      const sampled = await made(phoneConnector({ sampleInput: { phone: '+1 212 555 0100' } }));
      const viaSample = await server.json('POST', `${base(a)}/${sampled.id}/health`, {
        key: a.keys.developer,
      });
      expect(viaSample.body).toMatchObject({ status: 'healthy', consecutiveFailures: 0 });
      const runs = await server.json('GET', `${base(a)}/${sampled.id}/runs`, { key: a.keys.auditor });
      expect(runs.body.data[0].kind).toBe('health');
    });
  });

  describe('issuing', () => {
    it('issues a credential with the mapped claims that the verifier accepts', async () => {
      const connector = await made(
        phoneConnector({ credential: { type: 'PhoneVerificationCredential', issuerId } }),
      );
      const issued = await server.json('POST', `${base(a)}/${connector.id}/issue`, {
        key: a.keys.developer,
        body: { input: { phone: '+1 212 555 0100' }, subjectId: 'did:example:holder-1' },
      });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      const vc = issued.body.verifiableCredential;
      expect(vc.type).toEqual(['VerifiableCredential', 'PhoneVerificationCredential']);
      expect(vc.issuer).toMatch(/^did:key:/);
      expect(vc.credentialSubject).toEqual({ id: 'did:example:holder-1', ...issued.body.claims });
      expect(issued.body.claims.phoneNumber).toBe('+12125550100');
      expect(vc.proof.cryptosuite).toBe('eddsa-rdfc-2022');

      const verified = await server.json('POST', `/v1/projects/${a.projectId}/verifier/credentials/verify`, {
        key: a.keys.viewer,
        body: { verifiableCredential: vc },
      });
      expect(verified.status, JSON.stringify(verified.body)).toBe(200);
      expect(verified.body.verified).toBe(true);

      const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`, {
        key: a.keys.owner,
      });
      const entry = audit.body.data.find((e: { type: string }) => e.type === 'connector.issued');
      expect(entry).toMatchObject({
        subject: connector.id,
        details: { issuerId, credentialType: 'PhoneVerificationCredential' },
      });
      expect(JSON.stringify(audit.body)).not.toContain('+12125550100');
    });

    it('refuses to issue when the success rule fails or the API fails, without echoing secrets', async () => {
      const connector = await made(
        phoneConnector({ credential: { type: 'PhoneVerificationCredential', issuerId } }),
      );
      const rejected = await server.json('POST', `${base(a)}/${connector.id}/issue`, {
        key: a.keys.developer,
        body: { input: { phone: '12' } },
      });
      expect(rejected.status).toBe(400);
      expect(rejected.body).toMatchObject({
        type: 'urn:personachain:problem:credential-rejected',
        reason: 'rule_failed',
        upstreamStatus: 200,
      });
      expect(JSON.stringify(rejected.body)).not.toContain(RAPIDAPI_KEY);

      const hangs = await made({
        name: 'hangs',
        urlTemplate: `${api.origin}/hang`,
        timeoutMs: 200,
        headers: [{ name: 'Authorization', value: 'Bearer {{secrets.token}}' }],
        secrets: { token: 'tok_secret_value_1234' },
        credential: { type: 'X', issuerId },
      });
      const unavailable = await server.json('POST', `${base(a)}/${hangs.id}/issue`, {
        key: a.keys.developer,
        body: { input: {} },
      });
      expect(unavailable.status).toBe(503);
      expect(unavailable.body.reason).toBe('connector_timeout');
      expect(JSON.stringify(unavailable.body)).not.toContain('tok_secret_value_1234');
    });

    it('needs an issuer of the project and credentials:issue on it', async () => {
      const noIssuer = await made(phoneConnector());
      const missing = await server.json('POST', `${base(a)}/${noIssuer.id}/issue`, {
        key: a.keys.developer,
        body: { input: { phone: '+1 212 555 0100' } },
      });
      expect(missing.status).toBe(400);
      expect(missing.body.errors[0].pointer).toBe('#/issuerId');

      const otherIssuer = await server.json('POST', `/v1/projects/${b.projectId}/issuers`, {
        key: b.keys.developer,
        body: { name: 'B', didMethod: 'did:key', suites: ['eddsa-rdfc-2022'] },
      });
      const foreign = await server.json('POST', `${base(a)}/${noIssuer.id}/issue`, {
        key: a.keys.developer,
        body: { input: { phone: '+1 212 555 0100' }, issuerId: otherIssuer.body.id },
      });
      expect(foreign.status).toBe(404);

      const before = api.requests.length;
      const auditor = await server.json('POST', `${base(a)}/${noIssuer.id}/issue`, {
        key: a.keys.auditor,
        body: { input: { phone: '+1 212 555 0100' }, issuerId },
      });
      expect(auditor.status).toBe(403);
      expect(api.requests.length).toBe(before);
    });
  });

  describe('access', () => {
    it('keeps projects apart and follows roles', async () => {
      const connector = await made(phoneConnector());
      for (const [method, path, body] of [
        ['GET', `${base(a)}/${connector.id}`, undefined],
        ['PATCH', `${base(a)}/${connector.id}`, { name: 'mine' }],
        ['DELETE', `${base(a)}/${connector.id}`, undefined],
        ['POST', `${base(a)}/${connector.id}/test`, { input: { phone: '1' } }],
        ['GET', `${base(a)}/${connector.id}/runs`, undefined],
      ] as const) {
        const response = await server.json(method, path, { key: b.keys.owner, body });
        expect(response.status, `${method} ${path}`).toBe(404);
      }
      // B's own path with A's connector id: not found either.
      expect((await server.json('GET', `${base(b)}/${connector.id}`, { key: b.keys.owner })).status).toBe(
        404,
      );
      const listed = await server.json('GET', base(b), { key: b.keys.owner });
      expect(listed.body.data).toEqual([]);

      expect((await server.json('GET', `${base(a)}/${connector.id}`, { key: a.keys.viewer })).status).toBe(
        403,
      );
      expect((await server.json('GET', `${base(a)}/${connector.id}`, { key: a.keys.auditor })).status).toBe(
        200,
      );
      expect((await create(phoneConnector(), a, a.keys.auditor)).status).toBe(403);
      expect((await create(phoneConnector(), a, a.keys.reviewer)).status).toBe(403);
      expect((await run(connector.id, { phone: '1' }, a, a.keys.auditor)).status).toBe(403);
      expect(
        (await server.json('DELETE', `${base(a)}/${connector.id}`, { key: a.keys.auditor })).status,
      ).toBe(403);
    });
  });

  describe('SSRF', () => {
    it.each([
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'https://169.254.169.254/latest/meta-data/',
      'https://10.0.0.5/',
      'https://[::1]/',
      'http://example.com/',
    ])('refuses %s at creation', async (url) => {
      const response = await create({ name: 'ssrf', urlTemplate: url });
      expect(response.status).toBe(400);
      expect(response.body.errors[0].pointer).toBe('#/urlTemplate');
      expect(response.body.errors[0].detail).toMatch(/https|not a public address/);
    });

    it('does not follow redirects and refuses oversized answers', async () => {
      const redirect = await made({ name: 'redirect', urlTemplate: `${api.origin}/redirect` });
      expect((await run(redirect.id, {})).body).toMatchObject({
        success: false,
        reason: 'connector_error',
        statusCode: 302,
        detail: 'the API redirected (HTTP 302); connectors do not follow redirects',
      });
      const big = await made({ name: 'big', urlTemplate: `${api.origin}/big` });
      expect((await run(big.id, {})).body).toMatchObject({
        success: false,
        reason: 'connector_error',
        detail: expect.stringMatching(/more than 1048576 bytes/),
      });
    });

    it('refuses a name resolving to loopback unless the operator trusts it', async () => {
      const strict = await startTestServer({}, engine);
      try {
        const tenant = await createTenant(strict, 'Strict');
        const literal = await strict.json('POST', `/v1/projects/${tenant.projectId}/connectors`, {
          key: tenant.keys.developer,
          body: { name: 'loopback literal', urlTemplate: `${api.origin}/health` },
        });
        expect(literal.status).toBe(400);
        const named = await strict.json('POST', `/v1/projects/${tenant.projectId}/connectors`, {
          key: tenant.keys.developer,
          body: { name: 'localhost', urlTemplate: `https://localhost:${api.port}/health` },
        });
        expect(named.status, JSON.stringify(named.body)).toBe(201);
        const before = api.requests.length;
        const result = await strict.json(
          'POST',
          `/v1/projects/${tenant.projectId}/connectors/${named.body.id}/test`,
          {
            key: tenant.keys.developer,
            body: { input: {} },
          },
        );
        expect(result.status).toBe(200);
        expect(result.body).toMatchObject({ success: false, reason: 'connector_error', statusCode: null });
        expect(result.body.detail).toMatch(/^refusing to connect to localhost: .* is not a public address/);
        expect(api.requests.length).toBe(before);
      } finally {
        await strict.close();
      }
    });
  });
});
