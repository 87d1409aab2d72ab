import { AttestationLog } from './attestation/log.js';
import { platformPublisher } from './attestation/publisher.js';
import { registerAttestationRoutes } from './attestation/routes.js';
import { AttestationService } from './attestation/service.js';
import type { NodeConfig } from './config.js';
import { createLibp2pCluster, type NetworkTimings } from './network/factory.js';
import { loadOrCreateNodeKey, nodeSigner } from './network/identity.js';
import { type NodeHandle, startNode } from './node.js';

export interface RunNodeOptions {
  /** Failure-detection and repair timings of the network (defaults suit a LAN). */
  readonly timings?: NetworkTimings;
  /** Where failures no request answers go (attestation delivery); never given secrets or values. */
  readonly onError?: (message: string, error?: unknown) => void;
}

/**
 * A node as `persona node start` runs it: its persistent libp2p identity, the libp2p cluster (a cluster
 * of one until peers join), and deletion attestations signed with that identity, kept in the node's log
 * in the data directory and delivered to the platform ledger when one is configured.
 */
export async function runNode(config: NodeConfig, options: RunNodeOptions = {}): Promise<NodeHandle> {
  const nodeKey = await loadOrCreateNodeKey(config.dataDir);
  // Opened before the store exists: the service subscribes to the store's removals synchronously.
  const log = await AttestationLog.open(config.dataDir);
  const attestations = new AttestationService({
    signer: nodeSigner(nodeKey),
    log,
    ...(config.platform ? { publish: platformPublisher(config.platform) } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  let handle: NodeHandle;
  try {
    handle = await startNode(config, {
      cluster: (context) => createLibp2pCluster(context, options.timings, nodeKey),
      onStore: (store) => attestations.attach(store),
      extraRoutes: (app) => registerAttestationRoutes(app, attestations),
    });
  } catch (error) {
    await log.close();
    throw error;
  }
  attestations.start();
  return {
    ...handle,
    async close() {
      try {
        await handle.close();
      } finally {
        await attestations.stop();
        await log.close();
      }
    },
  };
}
