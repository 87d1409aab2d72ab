import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponses } from '../../http/openapi.js';
import type { LedgerService } from '../ledger/service.js';
import type { TenancyService } from '../tenancy/service.js';
import { AuditPage, AuditParams, AuditQuery } from './schemas.js';
import type { AuditService } from './service.js';

/** A project's audit trail, each entry with its ledger index and, on request, its inclusion proof. */
export const auditRoutes: FastifyPluginAsyncTypebox<{
  audit: AuditService;
  tenancy: TenancyService;
  ledger: LedgerService;
}> = async (app, { audit, tenancy, ledger }) => {
  app.get(
    '/v1/projects/:projectId/audit',
    {
      schema: {
        tags: ['audit'],
        summary: "List a project's audit entries, oldest first",
        params: AuditParams,
        querystring: AuditQuery,
        response: { 200: AuditPage, ...ProblemResponses },
      },
    },
    async (request) => {
      const project = await tenancy.authorizeProject(
        request.principal,
        request.params.projectId,
        'audit:read',
      );
      const page = await audit.listForProject(project.id, request.query);
      if (!request.query.proof) return page;
      const { size, checkpoint } = await ledger.state();
      const data = await Promise.all(
        page.data.map(async (entry) => {
          if (entry.ledgerIndex === null || entry.ledgerIndex >= size) return entry;
          const proof = await ledger.inclusionProof(entry.ledgerIndex, size);
          return {
            ...entry,
            proof: { size, hashes: proof.hashes.map((h) => Buffer.from(h).toString('base64')) },
          };
        }),
      );
      return { ...page, data, checkpoint };
    },
  );
};
