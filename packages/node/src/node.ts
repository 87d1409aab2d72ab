import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { SingleNodeCluster } from './cluster/single-node.js';
import type { NodeConfig } from './config.js';
import { buildNodeApp } from './http/app.js';
import { createNodeMetrics, type NodeMetrics } from './metrics.js';
import { MemoryStore } from './store/memory-store.js';
import type { Cluster } from './types.js';

/** What a cluster implementation gets to build itself from. */
export interface ClusterContext {
  readonly config: NodeConfig;
  readonly store: MemoryStore;
  readonly metrics: NodeMetrics;
  /** The node's client API base URL; known once the HTTP server listens (before `cluster.start()`). */
  readonly httpUrl: () => string | undefined;
}

export interface StartNodeOptions {
  /** Builds the cluster; default: a single node whose id is `nodeId` or random. */
  readonly cluster?: (context: ClusterContext) => Cluster | Promise<Cluster>;
  readonly nodeId?: string;
  /** Registers more routes on the app before it listens (e.g. attestations). */
  readonly extraRoutes?: (
    app: FastifyInstance,
    context: ClusterContext & { cluster: Cluster },
  ) => void | Promise<void>;
  /** Called after the store exists and before the app listens (e.g. to subscribe to removals). */
  readonly onStore?: (store: MemoryStore) => void;
}

export interface NodeHandle {
  /** Base URL of the client HTTP API. */
  readonly url: string;
  readonly port: number;
  readonly nodeId: string;
  readonly store: MemoryStore;
  readonly cluster: Cluster;
  readonly metrics: NodeMetrics;
  readonly app: FastifyInstance;
  /** Stops accepting requests, lets in-flight ones finish, then stops the cluster and the sweep. */
  close(): Promise<void>;
}

function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return manifest.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function urlHost(config: NodeConfig): string {
  if (config.advertisedAddress !== undefined) return config.advertisedAddress;
  if (config.host === '0.0.0.0' || config.host === '::') return '127.0.0.1';
  return config.host.includes(':') ? `[${config.host}]` : config.host;
}

/** Starts a node: store, cluster, HTTP API; resolves once it listens and the cluster has started. */
export async function startNode(config: NodeConfig, options: StartNodeOptions = {}): Promise<NodeHandle> {
  const store = new MemoryStore({ maxBytes: config.maxStorageBytes });
  options.onStore?.(store);
  const metrics = createNodeMetrics(store);
  let url: string | undefined;
  const context: ClusterContext = { config, store, metrics, httpUrl: () => url };
  const nodeId = options.nodeId ?? `node-${randomBytes(12).toString('base64url')}`;
  const cluster = options.cluster ? await options.cluster(context) : new SingleNodeCluster(nodeId, store);
  const app = await buildNodeApp({
    config,
    store,
    cluster,
    metrics,
    version: packageVersion(),
    ...(options.extraRoutes
      ? { extraRoutes: (instance) => options.extraRoutes?.(instance, { ...context, cluster }) }
      : {}),
  });
  let port: number;
  try {
    await app.listen({ host: config.host, port: config.httpPort });
    const address = app.server.address();
    port = typeof address === 'object' && address !== null ? address.port : config.httpPort;
    url = `http://${urlHost(config)}:${port}`;
    await cluster.start();
  } catch (error) {
    await app.close();
    store.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    nodeId: cluster.nodeId,
    store,
    cluster,
    metrics,
    app,
    close() {
      closing ??= (async () => {
        try {
          await app.close();
        } finally {
          await cluster.stop();
          store.close();
        }
      })();
      return closing;
    },
  };
}
