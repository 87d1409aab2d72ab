import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { PlatformOptions } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { type RunningServer, startServer } from '../src/server.js';
import { openStore, type Store } from '../src/store/database.js';

export const PG_URL = process.env.PERSONA_TEST_PG_URL;
export const REDIS_URL = process.env.PERSONA_TEST_REDIS_URL;

/** Says once, in the test output, why a service-backed suite is skipped. */
export function skipReason(variable: string, service: string): string {
  const reason = `${variable} is not set: ${service} tests skipped (CI sets it when ${service} answers on 127.0.0.1)`;
  process.stdout.write(`[skip] ${reason}\n`);
  return reason;
}

export const ADMIN_KEY = `sk_${'A'.repeat(20)}${Buffer.from('persona-test-admin-key-1234').toString('base64url')}`;

/** A PostgreSQL schema of its own per test server, dropped afterwards, so runs never collide. */
export async function freshPgSchema(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.end();
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

/** An empty store on the engine (a fresh schema, or a SQLite file in a temporary directory), and its removal. */
export async function openFreshStore(
  engine: 'sqlite' | 'postgres',
): Promise<{ store: Store; cleanup(): Promise<void> }> {
  if (engine === 'postgres' && PG_URL) {
    const schema = await freshPgSchema(PG_URL);
    const store = openStore(schema.url);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await schema.drop();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'persona-store-'));
  const store = openStore(`sqlite:${join(dir, 'db.sqlite')}`);
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every node of a PostgreSQL plan (`explain (format json)`). */
export function planNodes(node: Record<string, unknown>): Record<string, unknown>[] {
  const children = (node.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [node, ...children.flatMap(planNodes)];
}

export interface TestServer {
  url: string;
  dataDir: string;
  call(method: string, path: string, options?: CallOptions): Promise<Response>;
  json<T = any>(
    method: string,
    path: string,
    options?: CallOptions,
  ): Promise<{ status: number; body: T; headers: Headers }>;
  /** Stops the server; `keepData` leaves the SQLite file for inspection (the caller removes it). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/**
 * Starts the real server on an ephemeral port with a fresh database (SQLite in a temp dir, or a fresh
 * PostgreSQL schema when `engine` is postgres) and the given PERSONA_* overrides.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  engine: 'sqlite' | 'postgres' = 'sqlite',
  options: PlatformOptions = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'persona-test-'));
  const pgSchema = engine === 'postgres' && PG_URL ? await freshPgSchema(PG_URL) : null;
  const config = loadConfig({
    PERSONA_HOST: '127.0.0.1',
    PERSONA_PORT: '0',
    PERSONA_DATA_DIR: dataDir,
    PERSONA_LOG_LEVEL: 'silent',
    PERSONA_BOOTSTRAP_KEY: ADMIN_KEY,
    ...(pgSchema ? { PERSONA_DATABASE_URL: pgSchema.url } : {}),
    ...env,
  });
  const server: RunningServer = await startServer(config, options);

  const call = (method: string, path: string, options: CallOptions = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    return fetch(server.url + path, { method, headers, body });
  };

  return {
    url: server.url,
    dataDir,
    call,
    async json(method, path, options) {
      const response = await call(method, path, options);
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
    },
    async close(options = {}) {
      await server.close();
      await pgSchema?.drop();
      if (!options.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Tenant {
  orgId: string;
  projectId: string;
  /** One key per role in this tenant's project, all with scope `*`. */
  keys: Record<'owner' | 'admin' | 'developer' | 'reviewer' | 'auditor' | 'viewer', string>;
  keyIds: Record<'owner' | 'admin' | 'developer' | 'reviewer' | 'auditor' | 'viewer', string>;
}

/** An organization with one project and a key of every role, made through the API as a user would. */
export async function createTenant(server: TestServer, name: string): Promise<Tenant> {
  const org = await server.json('POST', '/v1/organizations', { body: { name } });
  if (org.status !== 201) throw new Error(`org: ${JSON.stringify(org.body)}`);
  const project = await server.json('POST', `/v1/organizations/${org.body.id}/projects`, {
    body: { name: `${name} app` },
  });
  const keys = {} as Tenant['keys'];
  const keyIds = {} as Tenant['keyIds'];
  for (const role of ['owner', 'admin', 'developer', 'reviewer', 'auditor', 'viewer'] as const) {
    const key = await server.json('POST', `/v1/projects/${project.body.id}/api-keys`, {
      body: { name: role, role },
    });
    if (key.status !== 201) throw new Error(`key: ${JSON.stringify(key.body)}`);
    keys[role] = key.body.secret;
    keyIds[role] = key.body.id;
  }
  return { orgId: org.body.id, projectId: project.body.id, keys, keyIds };
}

/**
 * The DIDs of the issuers a test created, by issuer id: credentials sent to be issued must name their
 * issuer, and tests build them before knowing which issuer will sign.
 */
export class IssuerDids {
  private readonly dids = new Map<string, string>();

  /** Remembers an issuer from its creation answer (any other answer is ignored) and passes it through. */
  remember<T extends { body: any }>(created: T): T {
    if (typeof created.body?.id === 'string' && typeof created.body?.did === 'string') {
      this.dids.set(created.body.id, created.body.did);
    }
    return created;
  }

  /** The issue request with `credential.issuer` set to the issuer's DID, unless it names one already. */
  naming(issuerId: string, body: unknown): unknown {
    const credential = (body as { credential?: unknown })?.credential;
    const did = this.dids.get(issuerId);
    if (
      did === undefined ||
      typeof credential !== 'object' ||
      credential === null ||
      'issuer' in credential
    ) {
      return body;
    }
    return { ...(body as object), credential: { ...credential, issuer: did } };
  }
}
