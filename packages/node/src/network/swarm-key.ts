import { readFile } from 'node:fs/promises';
import { generateKey } from '@libp2p/pnet';

const HEADER = '/key/swarm/psk/1.0.0/';

/**
 * Reads a libp2p private-network swarm key file (the IPFS format: `/key/swarm/psk/1.0.0/`, `/base16/`,
 * 64 hex digits). Only nodes holding the same key can complete a connection handshake; the file is
 * validated here so a typo fails start instead of silently isolating the node.
 */
export async function loadSwarmKey(path: string): Promise<Uint8Array> {
  const bytes = await readFile(path);
  const lines = bytes.toString('utf8').trim().split(/\r?\n/);
  if (
    lines.length !== 3 ||
    lines[0] !== HEADER ||
    lines[1] !== '/base16/' ||
    !/^[0-9a-fA-F]{64}$/.test(lines[2] ?? '')
  ) {
    throw new Error(`${path} is not a libp2p swarm key (expected ${HEADER}, /base16/, 64 hex digits)`);
  }
  return new Uint8Array(bytes);
}

/** Creates a new swarm key in the file format `loadSwarmKey` reads. */
export function createSwarmKey(): Uint8Array {
  const key = new Uint8Array(95);
  generateKey(key);
  return key;
}
