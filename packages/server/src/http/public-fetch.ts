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

export interface PublicFetchOptions {
  /**
   * Hosts (`host` or `host:port`) an operator allows although they resolve to non-public addresses, e.g.
   * an intranet's did:web server or a KYC vendor's on-premises gateway.
   */
  trustedHosts?: readonly string[];
  /** Whether a trusted host may be reached over plain HTTP (never an untrusted one); default false. */
  httpForTrustedHosts?: boolean;
}

/**
 * A fetch for URLs that callers choose (did:web documents, webhook endpoints, connector and provider
 * APIs): HTTPS only, to public addresses only; every redirect hop is checked again at connect time. Hosts
 * in `trustedHosts` skip the address check.
 */
export function publicFetch(options: PublicFetchOptions = {}): typeof globalThis.fetch {
  const trusted = new Set(options.trustedHosts ?? []);
  const guarded = new Agent({ connect: { lookup: publicLookup } });
  const open = new Agent();
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const isTrusted = trusted.has(url.host) || trusted.has(url.hostname);
    const plainAllowed = isTrusted && options.httpForTrustedHosts === true && url.protocol === 'http:';
    if (url.protocol !== 'https:' && !plainAllowed)
      throw new NonPublicAddressError(`only https URLs are fetched (got ${url.protocol})`);
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (!isTrusted && isIP(literal) !== 0 && !isPublicAddress(literal)) {
      throw new NonPublicAddressError(`refusing to connect to ${literal}: not a public address`);
    }
    return undiciFetch(url, { ...(init as object), dispatcher: isTrusted ? open : guarded });
  }) as unknown as typeof globalThis.fetch;
}

/**
 * Why a URL a tenant configures (a webhook endpoint, a connector's API, a provider's API) will not be
 * fetched, or null when it may be: an absolute HTTPS URL without credentials or fragment, to a host that
 * is not a non-public address literal; a host the operator trusts may also be reached over plain HTTP and
 * at any address. Names are not resolved here: they are checked at connect time (`publicFetch`).
 */
export function outboundUrlProblem(raw: string, trustedHosts: readonly string[]): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not an absolute URL';
  }
  const trusted = trustedHosts.includes(url.host) || trustedHosts.includes(url.hostname);
  if (url.protocol !== 'https:' && !(trusted && url.protocol === 'http:')) {
    return `must use https (got ${url.protocol.slice(0, -1)})`;
  }
  if (url.username || url.password) return 'must not carry credentials; send them in a header';
  if (url.hash) return 'must not have a fragment';
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (!trusted && isIP(literal) !== 0 && !isPublicAddress(literal)) {
    return (
      `must not point to a non-public address (${literal} is not a public address; an operator can ` +
      'trust the host in PERSONA_OUTBOUND_TRUSTED_HOSTS)'
    );
  }
  return null;
}
