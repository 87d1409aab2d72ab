import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance } from 'fastify';

/**
 * `Server-Timing: hash;dur=<ms>` on responses whose request verified or hashed a password, so a load test
 * can subtract Argon2 time from the latency it sees (bench/oidc-login.mjs). Off by default
 * (PERSONA_SERVER_TIMING): the header tells any client how long the server spent hashing, which helps
 * nobody but a benchmark or an attacker calibrating a timing attack, and it costs an async context per
 * request.
 */
interface RequestTimings {
  hashMs: number;
}

const current = new AsyncLocalStorage<RequestTimings>();

/** Adds `ms` of password hashing to the request being served, if timings are on (a no-op otherwise). */
export function recordHashTime(ms: number): void {
  const timings = current.getStore();
  if (timings) timings.hashMs += ms;
}

export function registerServerTiming(app: FastifyInstance): void {
  const byRequest = new WeakMap<object, RequestTimings>();
  app.addHook('onRequest', (request, _reply, done) => {
    const timings: RequestTimings = { hashMs: 0 };
    byRequest.set(request, timings);
    current.run(timings, done);
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const timings = byRequest.get(request);
    if (timings && timings.hashMs > 0) reply.header('server-timing', `hash;dur=${timings.hashMs.toFixed(3)}`);
    return payload;
  });
}
