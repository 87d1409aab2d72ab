import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { PROBLEM_TYPE_BASE } from './problem.js';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: `A stable URI, ${PROBLEM_TYPE_BASE}<name>; see docs/api.md#errors.` }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          in: Type.String({ description: 'body, querystring, params or headers' }),
          pointer: Type.String({ description: 'JSON Pointer (as a URI fragment) to the failing field' }),
          detail: Type.String(),
        }),
      ),
    ),
  },
  { description: 'RFC 9457 problem details (application/problem+json)' },
);

/** Every route answers errors as problem+json; declared once so the OpenAPI document says so. */
export const ProblemResponses = { '4xx': ProblemSchema, '5xx': ProblemSchema };

export async function registerOpenApi(app: FastifyInstance, publicUrl: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'PersonaChain API',
        version: '0.1.0',
        description: 'Identity and trust platform. Authenticate with `Authorization: Bearer sk_…`.',
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A project or platform API key (sk_…)' },
          clientToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'A verification session’s client token (vct_…), for the end user’s capture client',
          },
        },
      },
      security: [{ apiKey: [] }],
    },
  });
}
