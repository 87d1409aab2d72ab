import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';

const HOST_PORT = /^(?<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(?<port>\d{1,5})$/;

/** A bootstrap peer as configured: a libp2p multiaddr, or REPRAM's `host:httpPort`. */
export type BootstrapTarget = { kind: 'multiaddr'; addr: Multiaddr } | { kind: 'http'; url: string };

/** Parses one `REPRAM_PEERS` item; throws with the offending value when it is neither form. */
export function parseBootstrapPeer(value: string): BootstrapTarget {
  const v = value.trim();
  if (v.startsWith('/')) {
    const addr = multiaddr(v);
    if (addr.getComponents().find((c) => c.name === 'p2p') === undefined) {
      throw new Error(`bootstrap multiaddr ${v} must end with /p2p/<peer id>`);
    }
    return { kind: 'multiaddr', addr };
  }
  const m = HOST_PORT.exec(v);
  const port = Number(m?.groups?.port);
  if (!m?.groups || port < 1 || port > 65535) {
    throw new Error(`bootstrap peer "${v}" is neither a multiaddr nor host:port`);
  }
  return { kind: 'http', url: `http://${m.groups.host}:${port}` };
}

/**
 * Resolves a REPRAM-style `host:httpPort` peer to its libp2p addresses by asking its
 * `/v1/topology`. Only addresses carrying a peer id are returned; the noise handshake then proves the
 * peer holds that id, so a lying HTTP endpoint can at worst make us dial somewhere that fails.
 */
export async function resolveHttpPeer(url: string, timeoutMs: number): Promise<Multiaddr[]> {
  const res = await fetch(`${url}/v1/topology`, {
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  if (!res.ok) throw new Error(`${url}/v1/topology answered ${res.status}`);
  const text = await res.text();
  if (text.length > 1_000_000) throw new Error(`${url}/v1/topology answer too large`);
  const body = JSON.parse(text) as { addresses?: unknown };
  if (!Array.isArray(body.addresses)) throw new Error(`${url}/v1/topology has no addresses`);
  const addrs: Multiaddr[] = [];
  for (const a of body.addresses.slice(0, 16)) {
    if (typeof a !== 'string') continue;
    try {
      const ma = multiaddr(a);
      if (ma.getComponents().some((c) => c.name === 'p2p')) addrs.push(ma);
    } catch {
      // skip addresses this node cannot parse
    }
  }
  return addrs;
}
