import type { FastifyInstance } from 'fastify';
import type { IdentityService } from '../identity/service.js';
import { ScimError } from './errors.js';
import { parseFilter } from './filter.js';
import {
  BASE,
  baseUrl,
  type ListQuery,
  listResponse,
  type ProjectParams,
  pageOf,
  sendScim,
  versionFromIfMatch,
} from './http.js';
import { userCondition } from './user-filter.js';
import { applyUserPatch } from './user-patch.js';
import { parseScimUser, toScimUser } from './user-resource.js';

interface UserParams extends ProjectParams {
  userId: string;
}

const hide = { schema: { hide: true } };

/** /Users (RFC 7644 section 3), mapped onto the project's identity users. */
export function userRoutes(
  app: FastifyInstance,
  deps: { identity: IdentityService; publicUrl: string },
): void {
  const { identity, publicUrl } = deps;

  app.post<{ Params: ProjectParams }>(`${BASE}/Users`, hide, async (request, reply) => {
    const { fields, password } = parseScimUser(request.body);
    const { projectId } = request.params;
    const user = await identity.provisionUser(request.principal, projectId, fields, password);
    const resource = toScimUser(user, baseUrl(publicUrl, projectId));
    reply.header('location', resource.meta.location);
    return sendScim(reply, 201, resource, user.version);
  });

  app.get<{ Params: ProjectParams; Querystring: ListQuery }>(
    `${BASE}/Users`,
    hide,
    async (request, reply) => {
      const { projectId } = request.params;
      const { startIndex, offset, limit } = pageOf(request.query);
      const filter = request.query.filter;
      const condition = filter === undefined ? undefined : userCondition(parseFilter(filter));
      const found = await identity.searchProvisionedUsers(request.principal, projectId, condition, {
        offset,
        limit,
      });
      const base = baseUrl(publicUrl, projectId);
      return sendScim(
        reply,
        200,
        listResponse(
          found.total,
          startIndex,
          found.users.map((user) => toScimUser(user, base)),
        ),
      );
    },
  );

  app.get<{ Params: UserParams }>(`${BASE}/Users/:userId`, hide, async (request, reply) => {
    const { projectId, userId } = request.params;
    const user = await identity.getProvisionedUser(request.principal, projectId, userId);
    return sendScim(reply, 200, toScimUser(user, baseUrl(publicUrl, projectId)), user.version);
  });

  app.put<{ Params: UserParams }>(`${BASE}/Users/:userId`, hide, async (request, reply) => {
    const { fields, password } = parseScimUser(request.body);
    if (password !== undefined) {
      throw new ScimError(400, 'Passwords are set on creation only; SCIM cannot change them.', 'mutability');
    }
    const { projectId, userId } = request.params;
    const version = await versionFromIfMatch(
      request.headers['if-match'],
      async () => (await identity.getProvisionedUser(request.principal, projectId, userId)).version,
    );
    const user = await identity.reprovisionUser(request.principal, projectId, userId, fields, version);
    return sendScim(reply, 200, toScimUser(user, baseUrl(publicUrl, projectId)), user.version);
  });

  app.patch<{ Params: UserParams }>(`${BASE}/Users/:userId`, hide, async (request, reply) => {
    const { projectId, userId } = request.params;
    const current = await identity.getProvisionedUser(request.principal, projectId, userId);
    await versionFromIfMatch(request.headers['if-match'], async () => current.version);
    const fields = applyUserPatch(
      {
        username: current.username ?? current.email ?? current.id,
        email: current.email,
        displayName: current.displayName,
        externalId: current.externalId,
        active: current.status === 'active',
      },
      request.body,
    );
    // Applied only to the version read above: a concurrent change answers 412 instead of being lost.
    const user = await identity.reprovisionUser(
      request.principal,
      projectId,
      userId,
      fields,
      current.version,
    );
    return sendScim(reply, 200, toScimUser(user, baseUrl(publicUrl, projectId)), user.version);
  });

  app.delete<{ Params: UserParams }>(`${BASE}/Users/:userId`, hide, async (request, reply) => {
    const { projectId, userId } = request.params;
    const version = await versionFromIfMatch(
      request.headers['if-match'],
      async () => (await identity.getProvisionedUser(request.principal, projectId, userId)).version,
    );
    await identity.deleteUser(request.principal, projectId, userId, {
      scope: 'scim:write',
      expectedVersion: version,
    });
    return reply.code(204).send();
  });
}
