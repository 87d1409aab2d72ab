export {
  keyCommitment,
  MAX_COMMITMENT_SALT_BYTES,
  MIN_COMMITMENT_SALT_BYTES,
} from './attestation/commitment.js';
export {
  AttestationLog,
  attestationLeafHash,
  checkpointOrigin,
  checkpointVerifierKey,
} from './attestation/log.js';
export { signAttestation, verifyAttestation } from './attestation/payload.js';
export { type PlatformTarget, platformPublisher } from './attestation/publisher.js';
export { registerAttestationRoutes } from './attestation/routes.js';
export { AttestationService, type AttestationServiceOptions } from './attestation/service.js';
export { SingleNodeCluster } from './cluster/single-node.js';
export { loadNodeConfig, type NodeConfig, NodeConfigError, parseDuration } from './config.js';
export { buildNodeApp, type NodeAppOptions } from './http/app.js';
export { hashWriteToken, SIGNATURE_CONTEXT, SIGNATURE_WINDOW_MS, signedMessage } from './http/ownership.js';
export { createNodeMetrics, type NodeMetrics } from './metrics.js';
export { LibP2PCluster, type LibP2PClusterOptions } from './network/cluster.js';
export { createLibp2pCluster, type NetworkTimings } from './network/factory.js';
export { loadOrCreateNodeKey, NODE_KEY_FILE, nodeSigner } from './network/identity.js';
export { createSwarmKey, loadSwarmKey } from './network/swarm-key.js';
export { type ClusterContext, type NodeHandle, type StartNodeOptions, startNode } from './node.js';
export { type RunNodeOptions, runNode } from './run.js';
export { isNewer, MemoryStore, type MemoryStoreOptions } from './store/memory-store.js';
export * from './types.js';
