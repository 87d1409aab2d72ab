import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProblemResponses } from '../../http/openapi.js';
import { PageQuery, pageOf } from '../../http/pagination.js';
import {
  ApiKey,
  CreateApiKey,
  CreatedApiKey,
  CreatedPlatformKey,
  CreateMember,
  CreateOrganization,
  CreatePlatformKey,
  CreateProject,
  KeyParams,
  Member,
  MemberParams,
  Organization,
  OrgParams,
  PlatformKey,
  PlatformKeyParams,
  Project,
  ProjectParams,
  UpdateMember,
} from './schemas.js';
import type { TenancyService } from './service.js';

const NoContent = Type.Null({ description: 'Done; no body.' });

/** HTTP routes of organizations, projects, members and API keys. Thin: parse, call the service, reply. */
export const tenancyRoutes: FastifyPluginAsyncTypebox<{ tenancy: TenancyService }> = async (
  app,
  { tenancy },
) => {
  const tags = ['tenancy'];

  app.post(
    '/v1/organizations',
    {
      schema: {
        tags,
        summary: 'Create an organization (platform admin)',
        body: CreateOrganization,
        response: { 201: Organization, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await tenancy.createOrganization(request.principal, request.body)),
  );

  app.get(
    '/v1/organizations',
    {
      schema: {
        tags,
        summary: 'List the organizations the caller can see',
        querystring: PageQuery,
        response: { 200: pageOf(Organization), ...ProblemResponses },
      },
    },
    async (request) => tenancy.listOrganizations(request.principal, request.query),
  );

  app.get(
    '/v1/organizations/:orgId',
    {
      schema: {
        tags,
        summary: 'Get an organization',
        params: OrgParams,
        response: { 200: Organization, ...ProblemResponses },
      },
    },
    async (request) => tenancy.getOrganization(request.principal, request.params.orgId),
  );

  app.delete(
    '/v1/organizations/:orgId',
    {
      schema: {
        tags,
        summary: 'Delete an organization with its projects, their keys, and its members (owner)',
        params: OrgParams,
        response: { 204: NoContent, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await tenancy.deleteOrganization(request.principal, request.params.orgId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/organizations/:orgId/projects',
    {
      schema: {
        tags,
        summary: 'Create a project (owner, admin)',
        params: OrgParams,
        body: CreateProject,
        response: { 201: Project, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await tenancy.createProject(request.principal, request.params.orgId, request.body)),
  );

  app.get(
    '/v1/organizations/:orgId/projects',
    {
      schema: {
        tags,
        summary: "List an organization's projects",
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: pageOf(Project), ...ProblemResponses },
      },
    },
    async (request) => tenancy.listProjects(request.principal, request.params.orgId, request.query),
  );

  app.get(
    '/v1/projects/:projectId',
    {
      schema: {
        tags,
        summary: 'Get a project',
        params: ProjectParams,
        response: { 200: Project, ...ProblemResponses },
      },
    },
    async (request) => tenancy.getProject(request.principal, request.params.projectId),
  );

  app.delete(
    '/v1/projects/:projectId',
    {
      schema: {
        tags,
        summary: 'Delete a project and its API keys (owner, admin)',
        params: ProjectParams,
        response: { 204: NoContent, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await tenancy.deleteProject(request.principal, request.params.projectId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/organizations/:orgId/members',
    {
      schema: {
        tags,
        summary: 'Add a member (owner, admin)',
        params: OrgParams,
        body: CreateMember,
        response: { 201: Member, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await tenancy.addMember(request.principal, request.params.orgId, request.body)),
  );

  app.get(
    '/v1/organizations/:orgId/members',
    {
      schema: {
        tags,
        summary: 'List members',
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: pageOf(Member), ...ProblemResponses },
      },
    },
    async (request) => tenancy.listMembers(request.principal, request.params.orgId, request.query),
  );

  app.get(
    '/v1/organizations/:orgId/members/:memberId',
    {
      schema: {
        tags,
        summary: 'Get a member',
        params: MemberParams,
        response: { 200: Member, ...ProblemResponses },
      },
    },
    async (request) => tenancy.getMember(request.principal, request.params.orgId, request.params.memberId),
  );

  app.patch(
    '/v1/organizations/:orgId/members/:memberId',
    {
      schema: {
        tags,
        summary: "Change a member's role (owner, admin)",
        params: MemberParams,
        body: UpdateMember,
        response: { 200: Member, ...ProblemResponses },
      },
    },
    async (request) =>
      tenancy.updateMember(request.principal, request.params.orgId, request.params.memberId, request.body),
  );

  app.delete(
    '/v1/organizations/:orgId/members/:memberId',
    {
      schema: {
        tags,
        summary: 'Remove a member (owner, admin)',
        params: MemberParams,
        response: { 204: NoContent, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await tenancy.removeMember(request.principal, request.params.orgId, request.params.memberId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/projects/:projectId/api-keys',
    {
      schema: {
        tags,
        summary: 'Create an API key; the secret is returned only here',
        params: ProjectParams,
        body: CreateApiKey,
        response: { 201: CreatedApiKey, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await tenancy.createApiKey(request.principal, request.params.projectId, request.body)),
  );

  app.get(
    '/v1/projects/:projectId/api-keys',
    {
      schema: {
        tags,
        summary: "List a project's API keys (never their secrets)",
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: pageOf(ApiKey), ...ProblemResponses },
      },
    },
    async (request) => tenancy.listApiKeys(request.principal, request.params.projectId, request.query),
  );

  app.get(
    '/v1/projects/:projectId/api-keys/:keyId',
    {
      schema: {
        tags,
        summary: 'Get an API key',
        params: KeyParams,
        response: { 200: ApiKey, ...ProblemResponses },
      },
    },
    async (request) => tenancy.getApiKey(request.principal, request.params.projectId, request.params.keyId),
  );

  app.delete(
    '/v1/projects/:projectId/api-keys/:keyId',
    {
      schema: {
        tags,
        summary: 'Revoke an API key; it stops working on the next request',
        params: KeyParams,
        response: { 204: NoContent, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await tenancy.revokeApiKey(request.principal, request.params.projectId, request.params.keyId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/platform/api-keys',
    {
      schema: {
        tags: ['platform'],
        summary: 'List platform admin keys (platform admin)',
        querystring: PageQuery,
        response: { 200: pageOf(PlatformKey), ...ProblemResponses },
      },
    },
    async (request) => tenancy.listPlatformKeys(request.principal, request.query),
  );

  app.post(
    '/v1/platform/api-keys',
    {
      schema: {
        tags: ['platform'],
        summary: 'Create a platform admin key, e.g. to rotate the bootstrap key (platform admin)',
        body: CreatePlatformKey,
        response: { 201: CreatedPlatformKey, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await tenancy.createPlatformKey(request.principal, request.body)),
  );

  app.delete(
    '/v1/platform/api-keys/:keyId',
    {
      schema: {
        tags: ['platform'],
        summary: 'Revoke a platform admin key; the last working one cannot be revoked (platform admin)',
        params: PlatformKeyParams,
        response: { 204: NoContent, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await tenancy.revokePlatformKey(request.principal, request.params.keyId);
      return reply.code(204).send(null);
    },
  );
};
