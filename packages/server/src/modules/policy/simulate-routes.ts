import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProblemResponses } from '../../http/openapi.js';
import { ProjectId } from '../tenancy/schemas.js';
import { AccessDecisionSchema, SimulateBody } from './access/schemas.js';
import { AccessSimulator, type SimulatorOptions } from './access/simulator.js';

/** POST /v1/projects/{projectId}/policy/simulate: a vault access decision without effect, for tuning. */
export const policySimulateRoutes: FastifyPluginAsyncTypebox<SimulatorOptions> = async (app, options) => {
  const simulator = new AccessSimulator(options);

  app.post(
    '/v1/projects/:projectId/policy/simulate',
    {
      schema: {
        tags: ['policy'],
        summary: 'Simulate a vault access decision (policy:simulate; no effect, nothing logged)',
        description:
          'Scores `request` under a trust template (the vault\u2019s with `vaultId`, the one sent as ' +
          '`template`, or the default), asks the four evaluators and applies the template\u2019s rule, as ' +
          'a vault access would, and answers the decision. See docs/vault-policy.md.',
        params: Type.Object({ projectId: ProjectId }),
        body: SimulateBody,
        response: { 200: AccessDecisionSchema, ...ProblemResponses },
      },
    },
    async (request) => simulator.simulate(request.principal, request.params.projectId, request.body),
  );
};
