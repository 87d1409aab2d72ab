import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { EntryMeta, NodeSigner, RemovalListener } from '../src/types.js';

/** A NodeSigner over a fresh libp2p Ed25519 identity, as the node builds from its identity key. */
export async function testSigner(): Promise<NodeSigner> {
  const key = await generateKeyPair('Ed25519');
  return { nodeId: peerIdFromPrivateKey(key).toString(), sign: async (message) => key.sign(message) };
}

/** The store's removal side, for driving the service the way the store's sweep, delete and burn do. */
export class RemovalSource {
  private readonly listeners: RemovalListener[] = [];
  onRemoved(listener: RemovalListener): void {
    this.listeners.push(listener);
  }
  remove(entry: EntryMeta, reason: Parameters<RemovalListener>[1], at: number): void {
    for (const l of this.listeners) l(entry, reason, at);
  }
}

export function meta(key: string, keyCommitment?: string): EntryMeta {
  return {
    key,
    createdAt: 1_700_000_000_000,
    expiresAt: 1_700_000_300_000,
    ttlSeconds: 300,
    origin: 'node',
    ...(keyCommitment ? { keyCommitment } : {}),
  };
}
