#!/usr/bin/env node
// Not a benchmark: one ephemeral-store node with the libp2p cluster, configured by the REPRAM_* /
// PERSONA_NODE_* environment, in its own process (used by ephemeral-quorum.mjs). Prints one JSON line
// `{"url","nodeId"}` on stdout once it listens; stops on SIGTERM.

import { importBuilt } from './lib.mjs';

const { createLibp2pCluster, loadNodeConfig, startNode } = await importBuilt(
  'packages/node/dist/index.js',
  'run `npx tsc -b packages/node` first',
);
const node = await startNode(loadNodeConfig(process.env), {
  cluster: (context) => createLibp2pCluster(context, { pingIntervalMs: 1_000, maxMissedPings: 3 }),
});
process.stdout.write(`${JSON.stringify({ url: node.url, nodeId: node.nodeId })}\n`);
process.on('SIGTERM', () => {
  node.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
