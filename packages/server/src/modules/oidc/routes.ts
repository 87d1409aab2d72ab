import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProblemResponses } from '../../http/openapi.js';
import { PageQuery, pageOf } from '../../http/pagination.js';
import { ProjectParams } from '../tenancy/schemas.js';
import type { OidcClientService } from './clients.js';
import type { OidcKeyService } from './keys.js';
import {
  ClientParams,
  CreatedOidcClient,
  CreateOidcClient,
  IssuerKeys,
  OidcClient,
  RotateIssuerKeys,
  UpdateOidcClient,
} from './schemas.js';

const NoContent = Type.Null({ description: 'Done; no body.' });

/** Admin API of a project's OIDC clients and issuer keys. Thin: parse, call the service, reply. */
export const oidcRoutes: FastifyPluginAsyncTypebox<{
  clients: OidcClientService;
  keys: OidcKeyService;
}> = async (app, { clients, keys }) => {
  const tags = ['oidc'];

  app.post(
    '/v1/projects/:projectId/oidc-clients',
    {
      schema: {
        tags,
        summary: 'Register an OAuth/OIDC client (its secret is shown once)',
        params: ProjectParams,
        body: CreateOidcClient,
        response: { 201: CreatedOidcClient, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const created = await clients.create(request.principal, request.params.projectId, {
        name: body.name,
        role: body.role ?? 'viewer',
        scopes: body.scopes ?? [],
        resources: body.resources ?? [],
        grantTypes: body.grantTypes ?? ['client_credentials'],
        redirectUris: body.redirectUris ?? [],
        postLogoutRedirectUris: body.postLogoutRedirectUris ?? [],
        public: body.public ?? false,
        skipConsent: body.skipConsent ?? false,
        idTokenSignedResponseAlg: body.idTokenSignedResponseAlg ?? null,
      });
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/v1/projects/:projectId/oidc-clients',
    {
      schema: {
        tags,
        summary: 'List the project\u2019s OIDC clients',
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: pageOf(OidcClient), ...ProblemResponses },
      },
    },
    async (request) => clients.list(request.principal, request.params.projectId, request.query),
  );

  app.get(
    '/v1/projects/:projectId/oidc-clients/:clientId',
    {
      schema: {
        tags,
        summary: 'Get an OIDC client',
        params: ClientParams,
        response: { 200: OidcClient, ...ProblemResponses },
      },
    },
    async (request) => clients.get(request.principal, request.params.projectId, request.params.clientId),
  );

  app.patch(
    '/v1/projects/:projectId/oidc-clients/:clientId',
    {
      schema: {
        tags,
        summary: 'Change an OIDC client\u2019s name, role, scopes, resources, grants or redirect URIs',
        params: ClientParams,
        body: UpdateOidcClient,
        response: { 200: OidcClient, ...ProblemResponses },
      },
    },
    async (request) =>
      clients.update(request.principal, request.params.projectId, request.params.clientId, request.body),
  );

  app.post(
    '/v1/projects/:projectId/oidc-clients/:clientId/rotate-secret',
    {
      schema: {
        tags,
        summary:
          'Replace an OIDC client\u2019s secret (the new one is shown once; the old one stops working)',
        params: ClientParams,
        response: { 200: CreatedOidcClient, ...ProblemResponses },
      },
    },
    async (request) =>
      clients.rotateSecret(request.principal, request.params.projectId, request.params.clientId),
  );

  app.delete(
    '/v1/projects/:projectId/oidc-clients/:clientId',
    {
      schema: {
        tags,
        summary: 'Delete an OIDC client',
        params: ClientParams,
        response: { 204: NoContent, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await clients.delete(request.principal, request.params.projectId, request.params.clientId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/projects/:projectId/oidc-keys',
    {
      schema: {
        tags,
        summary: 'The signing keys the project\u2019s issuer publishes (next, active and recently retired)',
        params: ProjectParams,
        response: { 200: IssuerKeys, ...ProblemResponses },
      },
    },
    async (request) => keys.list(request.principal, request.params.projectId),
  );

  app.post(
    '/v1/projects/:projectId/oidc-keys/rotate',
    {
      schema: {
        tags,
        summary: 'Rotate the issuer\u2019s signing keys (staged by default; immediate revokes the old keys)',
        description:
          'The default changed from immediate to staged. Without a body, or with "immediate": false, a staged rotation: new keys are published now as next and sign after 24 h, when the current keys retire (they stay published until their tokens expire); 409 while one is pending. With "immediate": true, after a key compromise: the new keys sign at once and every other key is revoked, out of the JWKS at once, and the tokens it signed stop working on the platform API.',
        params: ProjectParams,
        body: RotateIssuerKeys,
        response: { 200: IssuerKeys, ...ProblemResponses },
      },
      // The body is optional: a bare POST is a staged rotation.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) =>
      keys.rotate(request.principal, request.params.projectId, request.body.immediate === true),
  );
};
