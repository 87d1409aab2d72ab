import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponses } from '../../http/openapi.js';
import type { AccessApprovals } from './approvals-service.js';
import { AccessApproval, AccessApprovalBody, ApprovalParams } from './recovery-schemas.js';

const APPROVAL_BODY_LIMIT = 16 * 1024;

/**
 * Guardian access approvals: an access the policy answered `guardian_approval_required` names a `vap_…`
 * in the refusal's `access.approvalId`; the vault's recovery guardians approve it here.
 */
export const accessApprovalRoutes: FastifyPluginAsyncTypebox<{ approvals: AccessApprovals }> = async (
  app,
  { approvals },
) => {
  const tags = ['vaults'];
  const base = '/v1/projects/:projectId/vaults/:vaultId/access-approvals/:approvalId';

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'A guardian access approval: who asks for what, and which guardians approved (vaults:read)',
        params: ApprovalParams,
        response: { 200: AccessApproval, ...ProblemResponses },
      },
    },
    async (request) =>
      approvals.get(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        request.params.approvalId,
      ),
  );

  app.post(
    `${base}/approvals`,
    {
      bodyLimit: APPROVAL_BODY_LIMIT,
      schema: {
        tags,
        summary: 'A guardian approves a denied access (vaults:write)',
        description:
          'The signature (domain `access-approval`, over accessApprovalInput) must verify with the guardian’s keys ' +
          'from the recovery setup. Once `threshold` guardians approved, the member may retry the same action with ' +
          '`Persona-Vault-Approval: vap_…` for 10 minutes. Audited (`vault.access_approved`).',
        params: ApprovalParams,
        body: AccessApprovalBody,
        response: { 201: AccessApproval, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await approvals.approve(
            request.principal,
            request.params.projectId,
            request.params.vaultId,
            request.params.approvalId,
            request.body,
          ),
        ),
  );
};
