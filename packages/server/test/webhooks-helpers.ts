import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { WebhookService } from '../src/modules/webhooks/service.js';
import type { WebhookWorkerOptions } from '../src/modules/webhooks/worker.js';
import { migrate, openStore } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import {
  ADMIN_KEY,
  type CallOptions,
  freshPgSchema,
  PG_URL,
  type Tenant,
  type TestServer,
} from './helpers.js';

/** The real server as startTestServer starts it, plus the in-process webhook outbox and its database. */
export interface WebhookTestServer extends TestServer {
  webhooks: WebhookService;
  db: Kysely<Database>;
}

export async function startWebhookServer(
  env: Record<string, string>,
  engine: 'sqlite' | 'postgres',
  webhooks: Partial<WebhookWorkerOptions>,
): Promise<WebhookTestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'persona-webhooks-'));
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
  const store = openStore(config.databaseUrl);
  await migrate(store);
  const platform = await buildApp(config, store, { webhooks });
  await platform.tenancy.bootstrap(config.bootstrapKey);
  await platform.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(platform.app.server.address() as AddressInfo).port}`;

  const call = (method: string, path: string, options: CallOptions = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    return fetch(url + path, { method, headers, body });
  };
  return {
    url,
    dataDir,
    webhooks: platform.webhooks,
    db: store.db,
    call,
    async json(method, path, options) {
      const response = await call(method, path, options);
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
    },
    async close() {
      await platform.app.close();
      await pgSchema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One request as a receiver saw it. */
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
  /** The status answered; null while hanging. */
  status: number | null;
}

export type Answer = { status: number; headers?: Record<string, string> } | 'hang';

/**
 * A webhook receiver on 127.0.0.1: records every request and answers what `answer` says for it (200 by
 * default); 'hang' never answers.
 */
export class Receiver {
  readonly received: Received[] = [];
  answer: (request: Received) => Answer = () => ({ status: 200 });
  private readonly server: Server;
  private readonly waiters: { test: () => boolean; resolve: () => void }[] = [];

  constructor() {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const seen: Received = {
          path: request.url ?? '/',
          headers: request.headers as Record<string, string>,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
          status: null,
        };
        this.received.push(seen);
        const answer = this.answer(seen);
        if (answer !== 'hang') {
          seen.status = answer.status;
          response.writeHead(answer.status, answer.headers ?? {});
          response.end('ok');
        }
        for (const waiter of [...this.waiters]) {
          if (waiter.test()) {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      });
    });
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${this.port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  on(path: string): Received[] {
    return this.received.filter((request) => request.path === path);
  }

  /** Resolves once `test` holds after a request (or at once if it holds now); fails after `ms`. */
  until(test: () => boolean, ms = 5_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`receiver: condition not met in ${ms} ms`)), ms);
      this.waiters.push({
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `test` accepts its value; fails after `ms`. */
export async function eventually<T>(
  read: () => Promise<T>,
  test: (value: T) => boolean,
  ms = 5_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (test(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

/** A fast schedule for tests: 10 attempts, 50 ms apart, no jitter; low project limits to see them work. */
export const FAST_WORKER: Partial<WebhookWorkerOptions> = {
  retryScheduleMs: [0, 50, 50, 50, 50, 50, 50, 50, 50, 50],
  jitter: 0,
  pollIntervalMs: 20,
  timeoutMs: 500,
  projectRateLimit: { perSecond: 20, burst: 5 },
};

export const idOf = (request: Received) => request.headers['webhook-id'] as string;

/** The three Standard Webhooks headers of a received request, for `Webhook.verify`. */
export const headersOf = (request: Received) => ({
  'webhook-id': request.headers['webhook-id'] as string,
  'webhook-timestamp': request.headers['webhook-timestamp'] as string,
  'webhook-signature': request.headers['webhook-signature'] as string,
});

/** The webhook API of a test server, as a developer (writes) and an auditor (reads) of a tenant call it. */
export class WebhookApi {
  constructor(
    private readonly server: WebhookTestServer,
    /** The receiver's URL: endpoint paths are appended to it. */
    private readonly base: string,
  ) {}

  hooks(tenant: Tenant): string {
    return `/v1/projects/${tenant.projectId}/webhooks`;
  }

  create(tenant: Tenant, body: Record<string, unknown>, key = tenant.keys.developer) {
    return this.server.json('POST', this.hooks(tenant), { key, body });
  }

  /** Creates an endpoint at the receiver's `path`; answers the created endpoint (with its secret). */
  async endpoint(tenant: Tenant, path: string, extra: Record<string, unknown> = {}): Promise<any> {
    const made = await this.create(tenant, { url: `${this.base}${path}`, ...extra });
    if (made.status !== 201) throw new Error(`endpoint: ${JSON.stringify(made.body)}`);
    return made.body;
  }

  /** Enqueues one event in its own transaction, as a module would, and wakes the worker. */
  async enqueue(tenant: Tenant, type: string, data: Record<string, unknown> = {}): Promise<string> {
    const id = await this.server.db
      .transaction()
      .execute((trx) => this.server.webhooks.enqueue(trx, { projectId: tenant.projectId, type, data }));
    this.server.webhooks.notify();
    return id;
  }

  /** Enqueues events of one type in one transaction: all are queued before the worker delivers any. */
  async enqueueTogether(tenant: Tenant, type: string, datas: Record<string, unknown>[]): Promise<string[]> {
    const ids = await this.server.db.transaction().execute(async (trx) => {
      const queued: string[] = [];
      for (const data of datas) {
        queued.push(await this.server.webhooks.enqueue(trx, { projectId: tenant.projectId, type, data }));
      }
      return queued;
    });
    this.server.webhooks.notify();
    return ids;
  }

  async messages(tenant: Tenant, endpointId: string, query = ''): Promise<any> {
    const path = `${this.hooks(tenant)}/${endpointId}/messages${query}`;
    return (await this.server.json('GET', path, { key: tenant.keys.auditor })).body;
  }

  async message(tenant: Tenant, endpointId: string, messageId: string): Promise<any> {
    const path = `${this.hooks(tenant)}/${endpointId}/messages/${messageId}`;
    return (await this.server.json('GET', path, { key: tenant.keys.auditor })).body;
  }
}
