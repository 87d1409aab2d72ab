import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { HolderService } from './holder.js';
import {
  CredentialProblemResponses,
  DeriveRequest,
  DeriveResponse,
  HolderParams,
  IssueRequest,
  IssueResponse,
  IssuerParams,
  ProveRequest,
  ProveResponse,
  VerifierParams,
  VerifyCredentialRequest,
  VerifyCredentialResponse,
  VerifyPresentationRequest,
  VerifyPresentationResponse,
} from './schemas.js';
import type { CredentialsService } from './service.js';

/**
 * The VC-API endpoints: `{issuerBase}/credentials/issue` with `issuerBase = /v1/issuers/{issuerId}`;
 * `{verifierBase}/credentials/verify`, `{verifierBase}/presentations/verify` with
 * `verifierBase = /v1/projects/{projectId}/verifier`; `{holderBase}/credentials/derive`,
 * `{holderBase}/presentations` with `holderBase = /v1/projects/{projectId}/holder`.
 * Thin: parse, call the service (it authorizes), reply.
 */
export const credentialRoutes: FastifyPluginAsyncTypebox<{
  credentials: CredentialsService;
  holder: HolderService;
}> = async (app, { credentials, holder }) => {
  const tags = ['credentials'];

  app.post(
    '/v1/issuers/:issuerId/credentials/issue',
    {
      schema: {
        tags,
        summary: "Issue a credential with one of the issuer's suites (VC-API; developer and above)",
        params: IssuerParams,
        body: IssueRequest,
        response: { 201: IssueResponse, ...CredentialProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await credentials.issue(request.principal, request.params.issuerId, request.body)),
  );

  app.post(
    '/v1/projects/:projectId/verifier/credentials/verify',
    {
      schema: {
        tags,
        summary: 'Verify a credential (VC-API): 200 when verified, else 400 with `verified: false`',
        params: VerifierParams,
        body: VerifyCredentialRequest,
        response: { 200: VerifyCredentialResponse, ...CredentialProblemResponses },
      },
    },
    async (request) =>
      credentials.verifyCredential(request.principal, request.params.projectId, request.body),
  );

  app.post(
    '/v1/projects/:projectId/verifier/presentations/verify',
    {
      schema: {
        tags,
        summary: 'Verify a presentation with its challenge and domain (VC-API): 200, else 400',
        params: VerifierParams,
        body: VerifyPresentationRequest,
        response: { 200: VerifyPresentationResponse, ...CredentialProblemResponses },
      },
    },
    async (request) =>
      credentials.verifyPresentation(request.principal, request.params.projectId, request.body),
  );

  app.post(
    '/v1/projects/:projectId/holder/credentials/derive',
    {
      schema: {
        tags,
        summary:
          'Derive a selective disclosure from an ecdsa-sd-2023 or bbs-2023 base proof (VC-API; every role)',
        params: HolderParams,
        body: DeriveRequest,
        response: { 201: DeriveResponse, ...CredentialProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await holder.derive(request.principal, request.params.projectId, request.body)),
  );

  app.post(
    '/v1/projects/:projectId/holder/presentations',
    {
      schema: {
        tags,
        summary:
          "Sign a presentation as one of the project's issuer DIDs (VC-API prove; developer and above)",
        params: HolderParams,
        body: ProveRequest,
        response: { 201: ProveResponse, ...CredentialProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await holder.prove(request.principal, request.params.projectId, request.body)),
  );
};
