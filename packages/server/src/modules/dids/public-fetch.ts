import { type LookupAddress, lookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';

/**
 * Addresses a server-side fetch must never reach on a caller's behalf: loopback, private, link-local
 * (cloud metadata services live there), carrier-grade NAT, multicast and reserved ranges.
 */
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address is on the public internet (an IPv4-mapped IPv6 address is judged as IPv4). */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return !NON_PUBLIC.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return false;
  return !NON_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class NonPublicAddressError extends Error {
  override readonly name = 'NonPublicAddressError';
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * DNS lookup that fails when any address of the host is not public. The check runs at connect time on the
 * addresses actually used, so a name that resolves differently a second time (DNS rebinding) cannot slip
 * through between a check and the connection.
 */
function publicLookup(hostname: string, options: { all?: boolean }, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const blocked = addresses.find((entry) => !isPublicAddress(entry.address));
    if (blocked) {
      return callback(
        new NonPublicAddressError(
          `refusing to connect to ${hostname}: ${blocked.address} is not a public address`,
        ),
        [],
      );
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0] as LookupAddress;
    return callback(null, first.address, first.family);
  });
}

/**
 * A fetch for URLs that callers choose (did:web documents): HTTPS only, to public addresses only. Hosts in
 * `trustedHosts` (host or host:port, e.g. an intranet's did:web server) skip the address check.
 */
export function publicFetch(options: { trustedHosts?: readonly string[] } = {}): typeof globalThis.fetch {
  const trusted = new Set(options.trustedHosts ?? []);
  const guarded = new Agent({ connect: { lookup: publicLookup } });
  const open = new Agent();
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.protocol !== 'https:')
      throw new NonPublicAddressError(`only https URLs are fetched (got ${url.protocol})`);
    const isTrusted = trusted.has(url.host) || trusted.has(url.hostname);
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (!isTrusted && isIP(literal) !== 0 && !isPublicAddress(literal)) {
      throw new NonPublicAddressError(`refusing to connect to ${literal}: not a public address`);
    }
    return undiciFetch(url, { ...(init as object), dispatcher: isTrusted ? open : guarded });
  }) as unknown as typeof globalThis.fetch;
}
