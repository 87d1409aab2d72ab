import type { ConnectionGater, PeerId } from '@libp2p/interface';

/**
 * Decides which peers may connect: an optional allow-list of peer ids (an enclave defined by
 * identities, with or without a swarm key) and a run-time deny set. The deny set is how an operator
 * quarantines a misbehaving node without restarting, and how tests cut a partition between live nodes
 * (the cluster closes existing connections when it changes).
 */
export class PeerGate {
  private readonly denied = new Set<string>();

  constructor(private readonly allowed?: ReadonlySet<string>) {}

  permits(peer: PeerId | string): boolean {
    const id = peer.toString();
    if (this.denied.has(id)) return false;
    return this.allowed === undefined || this.allowed.has(id);
  }

  deny(peers: Iterable<string>): void {
    for (const p of peers) this.denied.add(p);
  }

  allow(peers: Iterable<string>): void {
    for (const p of peers) this.denied.delete(p);
  }

  /** libp2p's gater hooks: checked before dialing and again once the remote identity is authenticated. */
  gater(): ConnectionGater {
    const deny = (peer: PeerId): boolean => !this.permits(peer);
    return {
      // Loopback and private addresses are normal for self-hosted clusters.
      denyDialMultiaddr: () => false,
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
      denyInboundUpgradedConnection: deny,
      denyOutboundUpgradedConnection: deny,
    };
  }
}
