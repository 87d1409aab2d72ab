import type { FastifyInstance } from 'fastify';
import type { IdentityService } from '../identity/service.js';
import type { TenancyService } from '../tenancy/service.js';
import { listOf, resourceTypes, schemas, serviceProviderConfig } from './discovery.js';
import { ScimError, scimErrorBody, scimErrorOfProblem } from './errors.js';
import { groupRoutes } from './group-routes.js';
import type { GroupsService } from './groups-service.js';
import { BASE, baseUrl, type ProjectParams, SCIM_MEDIA_TYPE, sendScim } from './http.js';
import { userRoutes } from './user-routes.js';

/**
 * SCIM 2.0 (RFC 7643/7644) provisioning of a project's users and groups, for IdPs such as Okta and
 * Entra ID, under /p/{projectId}/scim/v2. Registered in a scope of its own: `authenticate` installs
 * API-key authentication there, and every error (ours, the platform's problems, authentication's) is
 * answered in the SCIM error format.
 */
export async function scimRoutes(
  app: FastifyInstance,
  deps: {
    identity: IdentityService;
    groups: GroupsService;
    tenancy: TenancyService;
    publicUrl: string;
    authenticate: (scope: FastifyInstance) => void;
  },
): Promise<void> {
  const { tenancy, publicUrl } = deps;
  // SCIM bodies come as application/scim+json or application/json; an empty one (a DELETE with a
  // content type) is no body rather than malformed JSON.
  const json = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', SCIM_MEDIA_TYPE],
    { parseAs: 'string' },
    (request, body, done) => (body === '' ? done(null, undefined) : json(request, String(body), done)),
  );
  deps.authenticate(app);

  app.setErrorHandler(async (error, _request, reply) => {
    if (!(error instanceof ScimError)) throw error;
    return sendScim(reply, error.status, scimErrorBody(error.status, error.message, error.scimType));
  });
  // Problems rendered by the platform (authentication, authorization, validation, conflicts) become SCIM errors.
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('application/problem+json') || typeof payload !== 'string') return payload;
    reply.type(SCIM_MEDIA_TYPE);
    return JSON.stringify(scimErrorOfProblem(JSON.parse(payload)));
  });

  const hide = { schema: { hide: true } };
  const readable = async (
    projectId: string,
    principal: Parameters<TenancyService['authorizeProject']>[0],
  ) => {
    await tenancy.authorizeProject(principal, projectId, 'scim:read');
    return baseUrl(publicUrl, projectId);
  };

  // ---- discovery (RFC 7644 section 4) ----
  app.get<{ Params: ProjectParams }>(`${BASE}/ServiceProviderConfig`, hide, async (request, reply) => {
    const base = await readable(request.params.projectId, request.principal);
    return sendScim(reply, 200, serviceProviderConfig(base, `${publicUrl}/docs/api.md#scim-20`));
  });
  app.get<{ Params: ProjectParams }>(`${BASE}/ResourceTypes`, hide, async (request, reply) => {
    const base = await readable(request.params.projectId, request.principal);
    return sendScim(reply, 200, listOf(Object.values(resourceTypes(base))));
  });
  app.get<{ Params: ProjectParams & { name: string } }>(
    `${BASE}/ResourceTypes/:name`,
    hide,
    async (request, reply) => {
      const base = await readable(request.params.projectId, request.principal);
      const found = Object.entries(resourceTypes(base)).find(([id]) => id === request.params.name)?.[1];
      if (!found) throw new ScimError(404, 'No such resource type.');
      return sendScim(reply, 200, found);
    },
  );
  app.get<{ Params: ProjectParams }>(`${BASE}/Schemas`, hide, async (request, reply) => {
    const base = await readable(request.params.projectId, request.principal);
    return sendScim(reply, 200, listOf(Object.values(schemas(base))));
  });
  app.get<{ Params: ProjectParams & { id: string } }>(`${BASE}/Schemas/:id`, hide, async (request, reply) => {
    const base = await readable(request.params.projectId, request.principal);
    const found = Object.entries(schemas(base)).find(([id]) => id === request.params.id)?.[1];
    if (!found) throw new ScimError(404, 'No such schema.');
    return sendScim(reply, 200, found);
  });

  userRoutes(app, { identity: deps.identity, publicUrl });
  groupRoutes(app, { groups: deps.groups, publicUrl });
}
