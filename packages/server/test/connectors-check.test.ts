import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Platform } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { Problem } from '../src/http/problem.js';
import { migrate, openStore } from '../src/store/database.js';
import { type FakeApi, RAPIDAPI_HOST, RAPIDAPI_KEY, startFakeApi } from './connectors-fake-api.js';
import { ADMIN_KEY, createTenant, type Tenant, type TestServer } from './helpers.js';

/**
 * The interface the verification (KYC) module calls: runCheck and exists, without an API key. Connectors
 * are configured through the API as a project would; the checks run in process, as sessions run them.
 */
describe('connectors as verification checks', () => {
  let platform: Platform;
  let server: TestServer;
  let api: FakeApi;
  let dataDir: string;
  let a: Tenant;
  let b: Tenant;
  let phone: string;
  let hangs: string;
  let limited: string;

  const create = async (tenant: Tenant, body: unknown) => {
    const made = await server.json('POST', `/v1/projects/${tenant.projectId}/connectors`, {
      key: tenant.keys.developer,
      body,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    return made.body.id as string;
  };

  beforeAll(async () => {
    api = await startFakeApi();
    dataDir = mkdtempSync(join(tmpdir(), 'persona-connectors-'));
    const config = loadConfig({
      PERSONA_HOST: '127.0.0.1',
      PERSONA_PORT: '0',
      PERSONA_DATA_DIR: dataDir,
      PERSONA_LOG_LEVEL: 'silent',
      PERSONA_BOOTSTRAP_KEY: ADMIN_KEY,
      PERSONA_OUTBOUND_TRUSTED_HOSTS: '127.0.0.1',
    });
    const store = openStore(config.databaseUrl);
    await migrate(store);
    platform = await buildApp(config, store);
    await platform.tenancy.bootstrap(config.bootstrapKey);
    await platform.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(platform.app.server.address() as AddressInfo).port}`;
    const call = (method: string, path: string, options: { key?: string; body?: unknown } = {}) =>
      fetch(url + path, {
        method,
        headers: {
          authorization: `Bearer ${options.key ?? ADMIN_KEY}`,
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    server = {
      url,
      dataDir,
      call,
      async json(method, path, options) {
        const response = await call(method, path, options as { key?: string; body?: unknown });
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
      },
      close: async () => {},
    };
    a = await createTenant(server, 'Checks A');
    b = await createTenant(server, 'Checks B');
    phone = await create(a, {
      name: 'phone',
      urlTemplate: `${api.origin}/verify?phone={{input.phone}}`,
      headers: [
        { name: 'X-RapidAPI-Key', value: '{{secrets.key}}' },
        { name: 'X-RapidAPI-Host', value: RAPIDAPI_HOST },
      ],
      secrets: { key: RAPIDAPI_KEY },
      successRule: 'body.phone_valid',
      mapping: '{ "phoneNumber": body.e164, "carrier": body.carrier }',
    });
    hangs = await create(a, { name: 'hangs', urlTemplate: `${api.origin}/hang`, timeoutMs: 200 });
    limited = await create(a, {
      name: 'limited',
      urlTemplate: `${api.origin}/health`,
      rateLimit: { perSecond: 0.01, burst: 1 },
    });
  });
  afterAll(async () => {
    await platform.app.close();
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says whether a connector exists in the project', async () => {
    expect(await platform.connectors.exists(a.projectId, phone)).toBe(true);
    expect(await platform.connectors.exists(b.projectId, phone)).toBe(false);
    expect(await platform.connectors.exists(a.projectId, 'con_00000000000000000000000000000000')).toBe(false);
    expect(await platform.connectors.exists(a.projectId, 'not an id')).toBe(false);
  });

  it('passes with the mapped claims, and fails with a reason instead of throwing', async () => {
    expect(await platform.connectors.runCheck(a.projectId, phone, { phone: '+1 212 555 0100' })).toEqual({
      success: true,
      claims: { phoneNumber: '+12125550100', carrier: 'Acme Mobile' },
    });
    expect(await platform.connectors.runCheck(a.projectId, phone, { phone: '1' })).toEqual({
      success: false,
      claims: {},
      reason: 'rule_failed',
      detail: 'the success rule gave false (HTTP 200)',
    });
    expect(await platform.connectors.runCheck(a.projectId, phone, {})).toEqual({
      success: false,
      claims: {},
      reason: 'input_invalid',
      detail: 'input.phone is required',
    });
    expect(await platform.connectors.runCheck(a.projectId, hangs, {})).toMatchObject({
      success: false,
      reason: 'connector_timeout',
    });
    expect((await platform.connectors.runCheck(a.projectId, limited, {})).success).toBe(true);
    expect(await platform.connectors.runCheck(a.projectId, limited, {})).toMatchObject({
      success: false,
      reason: 'rate_limited',
    });
  });

  it('throws not-found for a connector of another project or none', async () => {
    for (const [projectId, id] of [
      [b.projectId, phone],
      [a.projectId, 'con_00000000000000000000000000000000'],
    ] as const) {
      const error = await platform.connectors
        .runCheck(projectId, id, { phone: '1' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Problem);
      expect((error as Problem).slug).toBe('not-found');
    }
  });

  it('records check runs in the log (input that did not fit sent nothing and is not one)', async () => {
    const runs = await server.json('GET', `/v1/projects/${a.projectId}/connectors/${phone}/runs`, {
      key: a.keys.auditor,
    });
    expect(runs.body.data.map((run: { kind: string; success: boolean }) => [run.kind, run.success])).toEqual([
      ['check', false],
      ['check', true],
    ]);
  });
});
