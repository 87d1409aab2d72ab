import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import {
  AttestationLog,
  AttestationService,
  loadNodeConfig,
  type NodeSigner,
  registerAttestationRoutes,
  startNode,
} from '@personachain/node';

/** A real ephemeral-store node on 127.0.0.1 (ephemeral ports), with its data directory in a temp dir. */
export interface TestNode {
  url: string;
  close(): Promise<void>;
}

/** The value limit the test node runs with, small so the 413 path is cheap to reach. */
export const NODE_MAX_VALUE_BYTES = 256 * 1024;

/**
 * Starts a single node with deletion attestations wired in (signed by a fresh libp2p Ed25519
 * identity, logged in the temp data dir, served at /v1/attestations/…).
 */
export async function startTestNode(env: Record<string, string> = {}): Promise<TestNode> {
  const dataDir = await mkdtemp(join(tmpdir(), 'persona-sdk-node-'));
  const config = loadNodeConfig({
    PERSONA_NODE_HOST: '127.0.0.1',
    REPRAM_HTTP_PORT: '0',
    REPRAM_GOSSIP_PORT: '0',
    REPRAM_RATE_LIMIT: '0',
    REPRAM_MIN_TTL: '60',
    REPRAM_MAX_TTL: '3600',
    PERSONA_NODE_DEFAULT_TTL: '600',
    PERSONA_NODE_MAX_VALUE_BYTES: String(NODE_MAX_VALUE_BYTES),
    PERSONA_NODE_DATA_DIR: dataDir,
    PERSONA_NODE_LOG_LEVEL: 'silent',
    ...env,
  });
  const identity = await generateKeyPair('Ed25519');
  const nodeId = peerIdFromPrivateKey(identity).toString();
  const signer: NodeSigner = { nodeId, sign: async (message) => identity.sign(message) };
  const attestations = new AttestationService({
    signer,
    log: await AttestationLog.open(join(dataDir, 'log')),
  });
  const node = await startNode(config, {
    nodeId,
    onStore: (store) => attestations.attach(store),
    extraRoutes: (app) => registerAttestationRoutes(app, attestations),
  });
  attestations.start();
  return {
    url: node.url,
    async close() {
      await node.close();
      await attestations.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
