import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import type { NodeConfig } from '../config.js';
import type { NodeMetrics } from '../metrics.js';
import type { MemoryStore } from '../store/memory-store.js';
import type { Cluster } from '../types.js';
import { registerDataRoutes } from './data-routes.js';
import { registerKeysRoute } from './keys-route.js';
import { registerNodeRoutes } from './node-routes.js';
import { BadHeaderError, ReplayCache } from './ownership.js';
import { RateLimiter } from './rate-limit.js';
import { HttpError } from './request.js';

export interface NodeAppOptions {
  readonly config: NodeConfig;
  /** The node's store; key listings use its owner scan. */
  readonly store: MemoryStore;
  readonly cluster: Cluster;
  readonly metrics: NodeMetrics;
  /** Reported by /v1/status. */
  readonly version: string;
  /** Registers more routes (e.g. the attestation part's `GET /v1/attestations/:commitment`). */
  readonly extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
}

const PROOF_HEADERS =
  'X-Write-Capability, X-Write-Token, X-Write-Timestamp, X-Write-Signature, X-Write-Public-Key';
const EXPOSED_HEADERS =
  'X-Created-At, X-Original-TTL, X-Remaining-TTL, X-Expires-At, X-Read-Once, X-Replicas-Acknowledged, Retry-After';

/** Sent on every response: CORS for any origin (no cookies; capabilities travel in headers) and hardening. */
const COMMON_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': EXPOSED_HEADERS,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, HEAD, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': `Content-Type, X-TTL, X-Read-Once, X-Compliance-Salt, ${PROOF_HEADERS}`,
  'access-control-max-age': '600',
};

/**
 * Builds the node's client HTTP API (see docs/ephemeral-node.md). Logging stays off the hot path:
 * no per-request logs, pino at the configured level (warn by default) for errors only.
 */
export async function buildNodeApp(options: NodeAppOptions): Promise<FastifyInstance> {
  const { config, store, cluster, metrics } = options;
  const app = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxValueBytes,
    // REPRAM_TRUST_PROXY trusts the one proxy in front of the node: the address it appended to
    // X-Forwarded-For is the client; anything further left is client-supplied and ignored.
    trustProxy: config.trustProxy ? (_address: string, hop: number) => hop < 1 : false,
    // HEAD is its own route: an automatic one would run the GET handler, which may burn.
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: 1024 },
    // Malformed URLs (bad percent-encoding) are refused by the router before any hook runs.
    frameworkErrors: (error, _request, reply) => {
      (reply as FastifyReply)
        .code(400)
        .headers(COMMON_HEADERS)
        .send({ error: 'bad request', detail: error.message });
    },
  });
  const replays = new ReplayCache();
  const limiter =
    config.rateLimitPerSecond > 0 ? new RateLimiter(config.rateLimitPerSecond, config.rateBurst) : undefined;

  app.addHook('onClose', async () => limiter?.close());

  // Values are opaque bytes whatever the Content-Type says.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onRequest', async (request, reply) => {
    reply.headers(COMMON_HEADERS);
    if (limiter === undefined) return;
    const wait = limiter.take(request.ip);
    if (wait > 0) {
      metrics.rateLimited.inc();
      return reply
        .code(429)
        .header('retry-after', String(wait))
        .send({ error: 'rate limited', detail: `retry in ${wait} s` });
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.requestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).send({ error: error.title, detail: error.message });
    }
    if (error instanceof BadHeaderError)
      return reply.code(400).send({ error: 'bad request', detail: error.message });
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      metrics.oversized.inc();
      return reply
        .code(413)
        .send({ error: 'payload too large', detail: `values are limited to ${config.maxValueBytes} bytes` });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500)
      return reply.code(status).send({ error: 'bad request', detail: error.message });
    request.log.error({ err: error }, 'request failed');
    return reply
      .code(500)
      .send({ error: 'internal error', detail: 'the node could not complete the request' });
  });

  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ error: 'not found', detail: 'no such route' }),
  );

  app.options('/*', async (_request, reply) => reply.code(204).headers(PREFLIGHT_HEADERS).send());

  const context = { config, store, cluster, metrics, replays };
  registerDataRoutes(app, context);
  registerKeysRoute(app, context);
  registerNodeRoutes(app, context, options.version);
  if (options.extraRoutes) await options.extraRoutes(app);
  return app;
}
