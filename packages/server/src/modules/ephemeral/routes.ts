import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponses } from '../../http/openapi.js';
import {
  AttestationList,
  AttestationQuery,
  DeletionAttestation,
  ProjectParams,
  RecordedAttestation,
} from './schemas.js';
import type { EphemeralService } from './service.js';

/** An attestation is about 400 bytes of JSON; anything much larger is not one. */
const BODY_LIMIT = 4096;

/**
 * Deletion attestations of ephemeral-store nodes: nodes submit them (API key with `ephemeral:attest`),
 * owners fetch them by key commitment with ledger inclusion proofs. Thin: the service authorizes.
 */
export const ephemeralRoutes: FastifyPluginAsyncTypebox<{ ephemeral: EphemeralService }> = async (
  app,
  { ephemeral },
) => {
  const tags = ['ephemeral'];

  app.post(
    '/v1/projects/:projectId/ephemeral/attestations',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        tags,
        summary:
          'Record a node-signed deletion attestation on the ledger (ephemeral:attest; developer and above)',
        description:
          'Verifies the Ed25519 signature against the key in `nodeId` and appends a ledger entry. Idempotent: ' +
          'the same attestation again answers 200 with the first entry. 201 once a new entry is in the ledger, ' +
          '202 if committed but not integrated yet; 400 when the signature does not verify.',
        params: ProjectParams,
        body: DeletionAttestation,
        response: {
          200: RecordedAttestation,
          201: RecordedAttestation,
          202: RecordedAttestation,
          ...ProblemResponses,
        },
      },
    },
    async (request, reply) => {
      const { created, recorded } = await ephemeral.submit(
        request.principal,
        request.params.projectId,
        request.body,
      );
      const status = recorded.ledgerIndex === null ? 202 : created ? 201 : 200;
      return reply.code(status).send(recorded);
    },
  );

  app.get(
    '/v1/projects/:projectId/ephemeral/attestations',
    {
      schema: {
        tags,
        summary: "A key commitment's deletion attestations with ledger inclusion proofs (ephemeral:read)",
        description:
          'At most 100, oldest deletion first (one per replica and removal; a commitment never has more).',
        params: ProjectParams,
        querystring: AttestationQuery,
        response: { 200: AttestationList, ...ProblemResponses },
      },
    },
    async (request) => {
      const { keyCommitment } = request.query;
      const data = await ephemeral.list(request.principal, request.params.projectId, keyCommitment);
      return { keyCommitment, data };
    },
  );
};
