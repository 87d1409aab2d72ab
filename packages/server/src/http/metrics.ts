import { constantTimeEqual } from '@personachain/crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { Problem } from './problem.js';

/**
 * Prometheus metrics: request durations by route template and status, requests in flight, and the
 * process's own metrics. Route templates (not raw URLs) keep ids out of label values.
 */
export function registerMetrics(app: FastifyInstance, token: string | null): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being processed',
    registers: [registry],
  });

  const counted = new WeakSet<object>();
  app.addHook('onRequest', async (request) => {
    inFlight.inc();
    counted.add(request.raw);
  });
  const done = async (request: { raw: object }) => {
    if (counted.delete(request.raw)) inFlight.dec();
  };
  app.addHook('onResponse', async (request, reply) => {
    await done(request);
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.addHook('onRequestAbort', done);

  const expected = token === null ? null : Buffer.from(`Bearer ${token}`);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (expected && !constantTimeEqual(Buffer.from(request.headers.authorization ?? ''), expected)) {
      throw new Problem(
        'unauthorized',
        'Send the metrics token as "Authorization: Bearer <PERSONA_METRICS_TOKEN>".',
      );
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
