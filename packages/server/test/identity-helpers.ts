import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { Secret, TOTP } from 'otpauth';
import { buildApp, type PlatformOptions } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { IdentityService } from '../src/modules/identity/service.js';
import { migrate, openStore } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import {
  ADMIN_KEY,
  type CallOptions,
  createTenant,
  freshPgSchema,
  PG_URL,
  type Tenant,
  type TestServer,
} from './helpers.js';

/** Argon2id at a cost tests can afford; one test proves the production defaults are OWASP's. */
export const CHEAP_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

export const ENGINES = PG_URL ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

/** A clock the identity module reads; tests move it forward. */
export class TestClock {
  at = Date.now();
  now = (): Date => new Date(this.at);
  advance(ms: number): void {
    this.at += ms;
  }
}

export interface IdentityTestServer extends TestServer {
  db: Kysely<Database>;
  identity: IdentityService;
  clock: TestClock;
}

/**
 * The real server, built like startServer does, with cheap Argon2 and an injectable clock for the
 * identity module. X-Forwarded-For is trusted so tests can speak from several client addresses.
 */
export async function startIdentityServer(
  engine: 'sqlite' | 'postgres' = 'sqlite',
  env: Record<string, string> = {},
  platform: Omit<PlatformOptions, 'identity'> = {},
): Promise<IdentityTestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'persona-identity-'));
  const pgSchema = engine === 'postgres' && PG_URL ? await freshPgSchema(PG_URL) : null;
  const config = loadConfig({
    PERSONA_HOST: '127.0.0.1',
    PERSONA_PORT: '0',
    PERSONA_DATA_DIR: dataDir,
    PERSONA_LOG_LEVEL: 'silent',
    PERSONA_BOOTSTRAP_KEY: ADMIN_KEY,
    PERSONA_TRUST_PROXY: 'true',
    ...(pgSchema ? { PERSONA_DATABASE_URL: pgSchema.url } : {}),
    ...env,
  });
  const store = openStore(config.databaseUrl);
  await migrate(store);
  const clock = new TestClock();
  const { app, tenancy, identity } = await buildApp(config, store, {
    ...platform,
    identity: { argon2: CHEAP_ARGON2, now: clock.now },
  });
  await tenancy.bootstrap(config.bootstrapKey);
  await app.listen({ host: '127.0.0.1', port: config.port });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const call = (method: string, path: string, options: CallOptions = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const body = options.body === undefined ? options.rawBody : JSON.stringify(options.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    return fetch(url + path, { method, headers, body });
  };
  return {
    url,
    dataDir,
    db: store.db,
    identity,
    clock,
    call,
    async json(method, path, options) {
      const response = await call(method, path, options);
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
    },
    async close() {
      await app.close();
      await pgSchema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { createTenant, type Tenant };

/** End-user calls: no API key; the session, when given, as a bearer token. */
export function asUser(token?: string, ip?: string): Pick<CallOptions, 'key' | 'headers'> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (ip) headers['x-forwarded-for'] = ip;
  return { key: null, headers };
}

export const GOOD_PASSWORD = 'correct-lantern-meadow-42';

/** A user created through the admin API with GOOD_PASSWORD. */
export async function createUser(
  server: TestServer,
  tenant: Tenant,
  fields: Record<string, unknown> = {},
): Promise<{ id: string; username: string }> {
  const username = `user${Math.random().toString(36).slice(2, 10)}`;
  const created = await server.json('POST', `/v1/projects/${tenant.projectId}/users`, {
    key: tenant.keys.developer,
    body: { username, password: GOOD_PASSWORD, ...fields },
  });
  if (created.status !== 201) throw new Error(`user: ${JSON.stringify(created.body)}`);
  return { id: created.body.id, username };
}

/** The TOTP code of a base32 `secret` at the time `at` (ms). */
export function codeAt(secret: string, at: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at });
}

/** Sets `changes` in the project's identity policy, keeping the rest of it; fails unless the change is taken. */
export async function updateIdentityPolicy(
  server: TestServer,
  tenant: Tenant,
  changes: Record<string, unknown>,
) {
  const path = `/v1/projects/${tenant.projectId}/identity-policy`;
  const current = await server.json('GET', path, { key: tenant.keys.admin });
  const put = await server.json('PUT', path, {
    key: tenant.keys.admin,
    body: { ...current.body, ...changes },
  });
  if (put.status !== 200) throw new Error(`policy: ${JSON.stringify(put.body)}`);
  return put;
}

export async function login(
  server: TestServer,
  projectId: string,
  identifier: string,
  password: string,
  ip?: string,
) {
  return server.json('POST', `/p/${projectId}/auth/login`, {
    ...asUser(undefined, ip),
    body: { identifier, password },
  });
}
