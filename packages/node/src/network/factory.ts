import type { Ed25519PrivateKey } from '@libp2p/interface';
import type { ClusterContext } from '../node.js';
import { LibP2PCluster, type LibP2PClusterOptions } from './cluster.js';
import { loadOrCreateNodeKey } from './identity.js';
import { loadSwarmKey } from './swarm-key.js';

/** Failure-detection and repair timings; defaults suit a LAN cluster (eviction within ~6 s). */
export type NetworkTimings = Pick<
  LibP2PClusterOptions,
  'pingIntervalMs' | 'pingTimeoutMs' | 'maxMissedPings' | 'antiEntropyIntervalMs' | 'requestTimeoutMs'
>;

/**
 * Builds the libp2p cluster from the node's configuration: identity from the data directory, the
 * swarm key file and allow-list for the enclave, REPRAM_PEERS as bootstrap, REPRAM_GOSSIP_PORT as the
 * TCP port. Pass it to `startNode(config, { cluster: (ctx) => createLibp2pCluster(ctx) })`.
 */
export async function createLibp2pCluster(
  context: ClusterContext,
  timings: NetworkTimings = {},
  /** The node key when the caller has loaded it already (it signs attestations with it too). */
  nodeKey?: Ed25519PrivateKey,
): Promise<LibP2PCluster> {
  const { config } = context;
  const privateKey = nodeKey ?? (await loadOrCreateNodeKey(config.dataDir));
  const swarmKey = config.enclaveKeyFile ? await loadSwarmKey(config.enclaveKeyFile) : undefined;
  return new LibP2PCluster({
    store: context.store,
    privateKey,
    enclave: config.enclave,
    listenHost: config.host,
    listenPort: config.gossipPort,
    ...(config.advertisedAddress ? { announceHost: config.advertisedAddress } : {}),
    bootstrap: config.peers,
    replication: config.replication,
    ...(swarmKey ? { swarmKey } : {}),
    ...(config.allowedPeers.length > 0 ? { allowedPeers: config.allowedPeers } : {}),
    httpUrl: context.httpUrl,
    requestTimeoutMs: Math.min(config.writeTimeoutMs, 2_000),
    metrics: context.metrics,
    ...timings,
  });
}
