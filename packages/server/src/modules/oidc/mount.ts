import type { IncomingMessage, ServerResponse } from 'node:http';
import middie from '@fastify/middie';
import type { FastifyInstance } from 'fastify';
import { Problem } from '../../http/problem.js';
import type { TenancyService } from '../tenancy/service.js';
import type { ProviderRegistry } from './registry.js';

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

const ISSUER_PATH = /^\/(prj_[0-9a-f]{32})\/oidc(?=\/|\?|$)/;

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
  deps: { registry: ProviderRegistry; tenancy: TenancyService; onError: (error: unknown) => void },
): Promise<void> {
  // Koa composes its middleware in callback(): once per provider, not per request.
  const handlers = new WeakMap<object, NodeHandler>();
  await app.register(async (scope) => {
    await scope.register(middie);
    scope.use('/p', (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => {
      const match = ISSUER_PATH.exec(req.url ?? '');
      if (!match?.[1]) return next();
      const projectId = match[1];
      void (async () => {
        if (!(await deps.tenancy.projectExists(projectId))) return next();
        const provider = await deps.registry.get(projectId);
        req.url = req.url?.slice(match[0].length) || '/';
        let handler = handlers.get(provider);
        if (!handler) {
          handler = provider.callback();
          handlers.set(provider, handler);
        }
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
