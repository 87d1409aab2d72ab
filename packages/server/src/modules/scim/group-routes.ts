import type { FastifyInstance } from 'fastify';
import { parseFilter } from './filter.js';
import { groupCondition } from './group-filter.js';
import { applyGroupPatch } from './group-patch.js';
import { parseScimGroup, toScimGroup } from './group-resource.js';
import type { GroupsService } from './groups-service.js';
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

interface GroupParams extends ProjectParams {
  groupId: string;
}

type AttributeQuery = Pick<ListQuery, 'attributes' | 'excludedAttributes'>;

const hide = { schema: { hide: true } };

/** Whether the client wants members: not when it excludes them, or asks for attributes without them. */
function wantsMembers(query: AttributeQuery): boolean {
  const names = (list: string | undefined) =>
    list
      ?.toLowerCase()
      .split(',')
      .map((name) => name.trim());
  if (names(query.excludedAttributes)?.includes('members')) return false;
  const attributes = names(query.attributes);
  return attributes === undefined || attributes.includes('members');
}

/** /Groups (RFC 7644 section 3): groups of the project's users. */
export function groupRoutes(app: FastifyInstance, deps: { groups: GroupsService; publicUrl: string }): void {
  const { groups, publicUrl } = deps;

  app.post<{ Params: ProjectParams }>(`${BASE}/Groups`, hide, async (request, reply) => {
    const { fields, members } = parseScimGroup(request.body);
    const { projectId } = request.params;
    const group = await groups.create(request.principal, projectId, fields, members);
    const resource = toScimGroup(group, baseUrl(publicUrl, projectId));
    reply.header('location', resource.meta.location);
    return sendScim(reply, 201, resource, group.version);
  });

  app.get<{ Params: ProjectParams; Querystring: ListQuery }>(
    `${BASE}/Groups`,
    hide,
    async (request, reply) => {
      const { projectId } = request.params;
      const { startIndex, offset, limit } = pageOf(request.query);
      const filter = request.query.filter;
      const condition = filter === undefined ? undefined : groupCondition(parseFilter(filter));
      const found = await groups.search(
        request.principal,
        projectId,
        condition,
        { offset, limit },
        wantsMembers(request.query),
      );
      const base = baseUrl(publicUrl, projectId);
      return sendScim(
        reply,
        200,
        listResponse(
          found.total,
          startIndex,
          found.groups.map((group) => toScimGroup(group, base)),
        ),
      );
    },
  );

  app.get<{ Params: GroupParams; Querystring: AttributeQuery }>(
    `${BASE}/Groups/:groupId`,
    hide,
    async (request, reply) => {
      const { projectId, groupId } = request.params;
      const group = await groups.get(request.principal, projectId, groupId, wantsMembers(request.query));
      return sendScim(reply, 200, toScimGroup(group, baseUrl(publicUrl, projectId)), group.version);
    },
  );

  app.put<{ Params: GroupParams }>(`${BASE}/Groups/:groupId`, hide, async (request, reply) => {
    const { fields, members } = parseScimGroup(request.body);
    const { projectId, groupId } = request.params;
    const version = await versionFromIfMatch(
      request.headers['if-match'],
      async () => (await groups.get(request.principal, projectId, groupId, false)).version,
    );
    const changes = { reset: true, add: members, remove: [] };
    const group = await groups.update(request.principal, projectId, groupId, fields, changes, version);
    return sendScim(reply, 200, toScimGroup(group, baseUrl(publicUrl, projectId)), group.version);
  });

  app.patch<{ Params: GroupParams }>(`${BASE}/Groups/:groupId`, hide, async (request, reply) => {
    const { projectId, groupId } = request.params;
    const current = await groups.get(request.principal, projectId, groupId, false);
    await versionFromIfMatch(request.headers['if-match'], async () => current.version);
    const { fields, members } = applyGroupPatch(
      { displayName: current.displayName, externalId: current.externalId },
      request.body,
    );
    // Applied only to the version read above: a concurrent change answers 412 instead of being lost.
    const group = await groups.update(
      request.principal,
      projectId,
      groupId,
      fields,
      members,
      current.version,
    );
    return sendScim(reply, 200, toScimGroup(group, baseUrl(publicUrl, projectId)), group.version);
  });

  app.delete<{ Params: GroupParams }>(`${BASE}/Groups/:groupId`, hide, async (request, reply) => {
    const { projectId, groupId } = request.params;
    const version = await versionFromIfMatch(
      request.headers['if-match'],
      async () => (await groups.get(request.principal, projectId, groupId, false)).version,
    );
    await groups.delete(request.principal, projectId, groupId, version);
    return reply.code(204).send();
  });
}
