import type { IncomingMessage, ServerResponse } from 'node:http';
import middie from '@fastify/middie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Problem } from '../../http/problem.js';
import type { TenancyService } from '../tenancy/service.js';
import type { IntrospectionFastPath } from './introspection-fast.js';
import type { ProviderRegistry } from './registry.js';

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

const ISSUER_PATH = /^\/(prj_[0-9a-f]{32})\/oidc(?=\/|\?|$)/;
const PROJECT_ID = /^prj_[0-9a-f]{32}$/;
/** oidc-provider's own limit on request bodies: larger ones are left to it to refuse. */
const ENGINE_BODY_LIMIT = 56 * 1024;

export interface IntrospectionMount {
  fastPath: IntrospectionFastPath;
  /** Read on every request; tests turn it off to get the engine's answer to the same request. */
  enabled: { fastPath: boolean };
}

/**
 * Serves every project's issuer under `/p/{projectId}/oidc/…` (discovery, JWKS, authorization, token,
 * userinfo, introspection, revocation, PAR, device and logout pages) with that project's oidc-provider,
 * mounted through middie: the provider (a Koa app) answers the request itself, with the issuer path
 * stripped as it expects of a mounted app. Middie lives in a scope of its own with only the issuer routes,
 * so no other request pays for its hook. The sign-in pages it redirects to are outside this path
 * (interaction-routes.ts).
 */
export async function mountProviders(
  app: FastifyInstance,
  deps: {
    registry: ProviderRegistry;
    tenancy: TenancyService;
    onError: (error: unknown) => void;
    introspection?: IntrospectionMount | undefined;
  },
): Promise<void> {
  // Koa composes its middleware in callback(): once per provider, not per request.
  const handlers = new WeakMap<object, NodeHandler>();
  const engineHandler = async (projectId: string): Promise<NodeHandler> => {
    const provider = await deps.registry.get(projectId);
    let handler = handlers.get(provider);
    if (!handler) {
      handler = provider.callback();
      handlers.set(provider, handler);
    }
    return handler;
  };
  if (deps.introspection) await mountFastIntrospection(app, deps.introspection, deps.tenancy, engineHandler);
  await app.register(async (scope) => {
    await scope.register(middie);
    scope.use('/p', (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => {
      const match = ISSUER_PATH.exec(req.url ?? '');
      if (!match?.[1]) return next();
      const projectId = match[1];
      void (async () => {
        if (!(await deps.tenancy.projectExists(projectId))) return next();
        const handler = await engineHandler(projectId);
        req.url = req.url?.slice(match[0].length) || '/';
        handler(req, res);
      })().catch((error) => {
        deps.onError(error);
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end();
        }
      });
    });
    // The routes only make middie's hook run for these paths; the provider ends every response itself.
    // What reaches them names no issuer: its body (any type) is left unread, and the answer is 404.
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const unknownIssuer = async () => {
      throw new Problem('not-found', 'No such issuer.');
    };
    scope.all('/p/:projectId/oidc', { schema: { hide: true } }, unknownIssuer);
    scope.all('/p/:projectId/oidc/*', { schema: { hide: true } }, unknownIssuer);
  });
}

/**
 * `POST {issuer}/token/introspection` as a Fastify route outside middie's scope (its static path wins over
 * the issuer wildcard): the common case is answered by the fast path, anything else is handed to the
 * engine unchanged; a form body already read goes with it as `req.body`, where oidc-provider takes it
 * from (it decodes it as it would the stream: UTF-8 only is read here).
 */
async function mountFastIntrospection(
  app: FastifyInstance,
  introspection: IntrospectionMount,
  tenancy: TenancyService,
  engineHandler: (projectId: string) => Promise<NodeHandler>,
): Promise<void> {
  await app.register(async (scope) => {
    // Only a form body the fast path decodes exactly as the engine would is read here (UTF-8, announced
    // length within the engine's limit); any other body stays unread for the engine, which answers it.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      async (request: FastifyRequest, payload: IncomingMessage) => {
        const length = Number(request.headers['content-length']);
        if (!plainFormBody(request.headers['content-type'])) return undefined;
        if (!Number.isSafeInteger(length) || length > ENGINE_BODY_LIMIT) return undefined;
        const chunks: Buffer[] = [];
        for await (const chunk of payload) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      },
    );
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.post<{ Params: { projectId: string } }>(
      '/p/:projectId/oidc/token/introspection',
      { schema: { hide: true } },
      async (request, reply) => {
        const { projectId } = request.params;
        if (!PROJECT_ID.test(projectId) || !(await tenancy.projectExists(projectId))) {
          throw new Problem('not-found', 'No such issuer.');
        }
        const body = request.body instanceof Buffer ? request.body : undefined;
        const answer =
          body && introspection.enabled.fastPath
            ? await introspection.fastPath.answer(projectId, request.headers, body)
            : undefined;
        if (answer !== undefined) {
          reply.hijack();
          // The engine's headers for this answer: its CORS headers for a request without Origin (DPoP and
          // client attestation nonces are not exposed at this endpoint), no-store, Koa's JSON type and length.
          reply.raw.writeHead(200, {
            vary: 'Origin',
            'access-control-allow-origin': '*',
            'access-control-expose-headers': 'WWW-Authenticate',
            'cache-control': 'no-store',
            'content-type': 'application/json; charset=utf-8',
            'content-length': Buffer.byteLength(answer),
          });
          reply.raw.end(answer);
          return;
        }
        const engine = await engineHandler(projectId);
        reply.hijack();
        const req = request.raw as IncomingMessage & { body?: Buffer };
        if (body) req.body = body;
        req.url = req.url?.slice(`/p/${projectId}/oidc`.length) || '/';
        engine(req, reply.raw);
      },
    );
  });
}

/** Form bodies the fast path decodes as the engine would: no charset, or UTF-8. */
function plainFormBody(contentType: string | undefined): boolean {
  const charset = /;\s*charset=([^;\s]+)/i.exec(contentType ?? '')?.[1];
  return charset === undefined || /^"?utf-8"?$/i.test(charset);
}
