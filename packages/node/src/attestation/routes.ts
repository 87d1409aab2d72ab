import type { FastifyInstance } from 'fastify';
import { checkpointVerifierKey } from './log.js';
import { isKeyCommitment } from './payload.js';
import type { AttestationService } from './service.js';

/**
 * `GET /v1/attestations/:commitment`: the deletion attestations this node signed for a key commitment,
 * each with an inclusion proof in the node's attestation log and a checkpoint of that log signed with
 * the node key. Public: a commitment reveals nothing without the owner's salt, and attestations are
 * meant to be shown. Always 200 (an empty list when the node holds none), so pollers need no special case.
 */
export function registerAttestationRoutes(app: FastifyInstance, service: AttestationService): void {
  app.get<{ Params: { commitment: string } }>('/v1/attestations/:commitment', async (request, reply) => {
    const { commitment } = request.params;
    if (!isKeyCommitment(commitment)) {
      return reply.code(400).send({
        error: 'bad request',
        detail: 'the key commitment must be base64url of 32 bytes (43 characters)',
      });
    }
    const { attestations: views, checkpoint } = await service.forCommitment(commitment);
    return reply.send({
      key_commitment: commitment,
      node_id: service.nodeId,
      attestations: views.map((v) => ({
        ...v.attestation,
        log_index: v.inclusion.index,
        tree_size: v.inclusion.treeSize,
        inclusion_proof: v.inclusion.proof,
        delivered_to_platform: v.delivered,
      })),
      checkpoint,
      checkpoint_key: checkpointVerifierKey(service.nodeId),
    });
  });
}
