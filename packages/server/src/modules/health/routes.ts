import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import { ProblemResponses } from '../../http/openapi.js';
import { Problem } from '../../http/problem.js';
import { ping } from '../../store/database.js';
import type { Database } from '../../store/schema.js';

const Status = Type.Object({ status: Type.String() });

/** Liveness and readiness probes: public, cheap, and free of any tenant data. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<Database> }> = async (app, { db }) => {
  app.get(
    '/healthz',
    {
      schema: { tags: ['operations'], summary: 'The process is up', security: [], response: { 200: Status } },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'The database answers',
        security: [],
        response: { 200: Status, ...ProblemResponses },
      },
    },
    async () => {
      if (!(await ping(db))) throw new Problem('unavailable', 'The database does not answer.');
      return { status: 'ready' };
    },
  );
};
