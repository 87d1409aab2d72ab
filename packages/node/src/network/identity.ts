import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { NodeSigner } from '../types.js';

/** File name of the node's identity key inside the data directory. */
export const NODE_KEY_FILE = 'node-key';

/**
 * Loads the node's libp2p Ed25519 identity from `<dataDir>/node-key` (protobuf-marshalled, as libp2p
 * tools write it), creating it with mode 0600 on first start. The key is the node's peer id, its noise
 * transport identity and its attestation signing key, so it must survive restarts.
 */
export async function loadOrCreateNodeKey(dataDir: string): Promise<Ed25519PrivateKey> {
  const path = join(dataDir, NODE_KEY_FILE);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (bytes !== undefined) {
    const key = privateKeyFromProtobuf(bytes);
    if (key.type !== 'Ed25519')
      throw new Error(`${path} holds a ${key.type} key; the node needs an Ed25519 key`);
    return key;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = await generateKeyPair('Ed25519');
  // `wx` refuses to overwrite a key another process created meanwhile.
  await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  return key;
}

/** A `NodeSigner` over the node's identity key (its signatures verify against the peer id's public key). */
export function nodeSigner(key: Ed25519PrivateKey): NodeSigner {
  const nodeId = peerIdFromPrivateKey(key).toString();
  return {
    nodeId,
    sign: async (message) => key.sign(message),
  };
}
