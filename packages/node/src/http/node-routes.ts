import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { iso, type RouteContext } from './request.js';

/** `/v1/health`, `/v1/status`, `/v1/topology` and the Prometheus metrics. */
export function registerNodeRoutes(app: FastifyInstance, context: RouteContext, version: string): void {
  const { config, store, cluster, metrics } = context;
  const startedAt = Date.now();
  const network =
    config.enclaveKeyFile !== undefined || config.allowedPeers.length > 0 ? 'private' : 'public';

  app.get('/v1/health', async () => ({
    status: 'healthy',
    node_id: cluster.nodeId,
    network,
    enclave: config.enclave,
  }));

  app.get('/v1/status', async () => {
    const memory = process.memoryUsage();
    return {
      node_id: cluster.nodeId,
      version: version,
      uptime_seconds: Math.floor((Date.now() - startedAt) / 1000),
      items: store.itemCount,
      bytes: store.byteCount,
      max_bytes: config.maxStorageBytes,
      peers: cluster.peers().filter((peer) => peer.status === 'alive').length,
      memory: { rss: memory.rss, heap_used: memory.heapUsed, external: memory.external },
    };
  });

  app.get('/v1/topology', async () => ({
    node_id: cluster.nodeId,
    enclave: config.enclave,
    addresses: cluster.listenAddresses(),
    peers: cluster.peers().map((peer) => ({
      node_id: peer.peerId,
      addresses: peer.addresses,
      enclave: peer.enclave,
      http_url: peer.httpUrl ?? null,
      last_seen: iso(peer.lastSeenAt),
      status: peer.status,
    })),
  }));

  const sendMetrics = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  app.get('/v1/metrics', sendMetrics);
  app.get('/metrics', sendMetrics);
}
