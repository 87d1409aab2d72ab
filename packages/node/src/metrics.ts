import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The node's Prometheus metrics, one registry per node instance (several nodes can share a process in
 * tests and benchmarks). REPRAM's metric names are kept so existing dashboards keep working; the network
 * part updates the peer, quorum and replication metrics through these objects.
 */
export interface NodeMetrics {
  readonly registry: Registry;
  readonly peersActive: Gauge;
  readonly peerEvictions: Counter;
  readonly peerJoins: Counter;
  readonly pingFailures: Counter;
  readonly rateLimited: Counter;
  readonly oversized: Counter;
  /** Seconds per request, by method, route and status code. */
  readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly storedBytes: Gauge;
  readonly storedItems: Gauge;
  readonly expirations: Counter;
  readonly quorumSuccesses: Counter;
  readonly quorumTimeouts: Counter;
  /** Seconds from a write's createdAt until a replica applied it. */
  readonly replicationLag: Histogram;
}

export interface StoreGauges {
  readonly itemCount: number;
  readonly byteCount: number;
  readonly expiredCount?: number;
}

/** Creates the metrics; stored bytes/items and expirations are read from `store` at scrape time. */
export function createNodeMetrics(store?: StoreGauges): NodeMetrics {
  const registry = new Registry();
  const registers = [registry];
  let expirationsSeen = 0;
  const expirations = new Counter({
    name: 'persona_node_expirations_total',
    help: 'Entries removed because their TTL ran out',
    registers,
    collect() {
      const total = store?.expiredCount;
      if (total !== undefined && total > expirationsSeen) {
        this.inc(total - expirationsSeen);
        expirationsSeen = total;
      }
    },
  });
  return {
    registry,
    peersActive: new Gauge({
      name: 'repram_peers_active',
      help: 'Peers currently considered alive',
      registers,
    }),
    peerEvictions: new Counter({
      name: 'repram_peer_evictions_total',
      help: 'Peers evicted after missed pings',
      registers,
    }),
    peerJoins: new Counter({
      name: 'repram_peer_joins_total',
      help: 'Peers that joined or rejoined',
      registers,
    }),
    pingFailures: new Counter({ name: 'repram_ping_failures_total', help: 'Failed peer pings', registers }),
    rateLimited: new Counter({
      name: 'repram_rate_limited_requests_total',
      help: 'Client requests refused by the per-IP rate limit',
      registers,
    }),
    oversized: new Counter({
      name: 'repram_oversized_requests_total',
      help: 'Client requests refused for a body over the size limit',
      registers,
    }),
    requestDuration: new Histogram({
      name: 'persona_node_http_request_duration_seconds',
      help: 'Client HTTP request latency',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    storedBytes: new Gauge({
      name: 'persona_node_stored_bytes',
      help: 'Bytes of keys and values held',
      registers,
      collect() {
        if (store) this.set(store.byteCount);
      },
    }),
    storedItems: new Gauge({
      name: 'persona_node_stored_items',
      help: 'Entries held',
      registers,
      collect() {
        if (store) this.set(store.itemCount);
      },
    }),
    expirations,
    quorumSuccesses: new Counter({
      name: 'persona_node_quorum_successes_total',
      help: 'Writes acknowledged by a majority of their replica set in time',
      registers,
    }),
    quorumTimeouts: new Counter({
      name: 'persona_node_quorum_timeouts_total',
      help: 'Writes stored locally whose quorum timed out',
      registers,
    }),
    replicationLag: new Histogram({
      name: 'persona_node_replication_lag_seconds',
      help: 'Time from a write being accepted until a replica applied it',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
  };
}
