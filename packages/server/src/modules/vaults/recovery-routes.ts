import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProblemResponses } from '../../http/openapi.js';
import {
  CreateRequestBody,
  MAX_GUARDIANS,
  RecoveryApprovalBody,
  RecoveryRequest,
  RequestParams,
  RequestQuery,
  Setup,
  SetupBody,
} from './recovery-schemas.js';
import type { VaultRecovery } from './recovery-service.js';
import { MemberHeaders, VaultParams, VaultProblemResponses } from './schemas.js';

/*
 * Bodies here are a few kilobytes (a guardian's public keys and an envelope are about 6 KB), so each route
 * takes only what its largest valid body needs, well under the server-wide limit meant for vault items.
 */
const SETUP_BODY_LIMIT = MAX_GUARDIANS * 8 * 1024;
const SMALL_BODY_LIMIT = 16 * 1024;

/** The member headers alone (the session and a guardian approval), as the vaults service reads them. */
const memberHeaders = (headers: {
  'persona-vault-session'?: string | undefined;
  'persona-vault-approval'?: string | undefined;
}) => ({
  'persona-vault-session': headers['persona-vault-session'],
  'persona-vault-approval': headers['persona-vault-approval'],
});

/** Guardian recovery (contract §2.4): the server relays sealed shares; it never opens one. */
export const recoveryRoutes: FastifyPluginAsyncTypebox<{ recovery: VaultRecovery }> = async (
  app,
  { recovery },
) => {
  const tags = ['vaults'];
  const base = '/v1/projects/:projectId/vaults/:vaultId/recovery';

  app.put(
    base,
    {
      bodyLimit: SETUP_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Set up guardian recovery, replacing the previous setup (vaults:write; owner’s session)',
        description:
          'The owner’s client splits its key seed M-of-N with Shamir and seals each share to a guardian ' +
          '(splitSecretToRecipients with recoveryShareAad(vaultId, setupId)). The server checks that each share ' +
          'is an envelope addressed to its guardian’s key and stores it as given. An open recovery request is ' +
          'canceled. Audited (`vault.recovery_configured`).',
        params: VaultParams,
        headers: MemberHeaders,
        body: SetupBody,
        response: { 200: Setup, ...VaultProblemResponses },
      },
    },
    async (request) =>
      recovery.configure(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        memberHeaders(request.headers),
        request.body,
      ),
  );

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'The vault’s recovery setup: threshold and guardians, without their shares (vaults:read)',
        params: VaultParams,
        response: { 200: Setup, ...ProblemResponses },
      },
    },
    async (request) => recovery.getSetup(request.principal, request.params.projectId, request.params.vaultId),
  );

  app.post(
    `${base}/requests`,
    {
      bodyLimit: SMALL_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Request recovery of the owner’s keys (vaults:write; no session: the owner lost its keys)',
        description:
          'Carries a fresh X-Wing public key; guardians re-seal their shares to it. One open request per vault; ' +
          'it expires after 24 hours, and the owner can cancel it with its session. Audited.',
        params: VaultParams,
        body: CreateRequestBody,
        response: { 201: RecoveryRequest, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await recovery.request(
            request.principal,
            request.params.projectId,
            request.params.vaultId,
            request.body,
          ),
        ),
  );

  app.get(
    `${base}/requests/:requestId`,
    {
      schema: {
        tags,
        summary: 'A recovery request and its approvals (vaults:read)',
        description:
          'With `?guardian=<subject>`, also that guardian’s sealed share and the ephemeral key, so the guardian’s ' +
          'client can open its share and re-seal it to the requester.',
        params: RequestParams,
        querystring: RequestQuery,
        response: { 200: RecoveryRequest, ...ProblemResponses },
      },
    },
    async (request) =>
      recovery.getRequest(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        request.params.requestId,
        request.query.guardian,
      ),
  );

  app.post(
    `${base}/requests/:requestId/approvals`,
    {
      bodyLimit: SMALL_BODY_LIMIT,
      schema: {
        tags,
        summary: 'A guardian releases its share, re-sealed to the requester (vaults:write)',
        description:
          'The signature (domain `recovery-approval`, over recoveryApprovalInput with the SHA-256 of the re-sealed ' +
          'share) must verify with the guardian’s keys from the setup. One approval per guardian; the request is ' +
          '`ready` once `threshold` guardians approved. Audited.',
        params: RequestParams,
        body: RecoveryApprovalBody,
        response: { 201: RecoveryRequest, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await recovery.approve(
            request.principal,
            request.params.projectId,
            request.params.vaultId,
            request.params.requestId,
            request.body,
          ),
        ),
  );

  app.post(
    `${base}/requests/:requestId/complete`,
    {
      schema: {
        tags,
        summary: 'Complete a ready recovery request once the keys are rebuilt (vaults:write)',
        description: 'The re-sealed shares are deleted. Audited (`vault.recovery_completed`).',
        params: RequestParams,
        response: { 200: RecoveryRequest, ...ProblemResponses },
      },
    },
    async (request) =>
      recovery.complete(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        request.params.requestId,
      ),
  );

  app.delete(
    `${base}/requests/:requestId`,
    {
      schema: {
        tags,
        summary: 'Cancel an open recovery request (vaults:write; owner’s session)',
        description:
          'The real owner, who still has its keys, stops a request someone else made. Audited ' +
          '(`vault.recovery_canceled`).',
        params: RequestParams,
        headers: MemberHeaders,
        response: { 204: Type.Null({ description: 'Canceled.' }), ...VaultProblemResponses },
      },
    },
    async (request, reply) => {
      await recovery.cancel(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        request.params.requestId,
        memberHeaders(request.headers),
      );
      return reply.code(204).send(null);
    },
  );
};
