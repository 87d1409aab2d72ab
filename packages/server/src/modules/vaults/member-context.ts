import { createHmac } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { hkdfSha256 } from '@personachain/crypto';
import { locate } from '../../http/geo.js';
import { invalidField } from '../../http/problem.js';

/** The context the application asserts for a member when it opens a session (contract §2.2). */
export interface SessionContextInput {
  ip?: string | undefined;
  deviceFingerprint?: string | undefined;
  authentication: { methods: string[]; authenticatedAt: string };
  proofs?: unknown[] | undefined;
}

/** What the server keeps of that context: no raw IP, only its keyed hash and its country. */
export interface MemberContext {
  ipHash: string | null;
  country: string | null;
  fingerprintHash: string | null;
  methods: string[];
  authenticatedAt: number;
  proofs: number;
}

/** Clocks drift: an authentication this far in the future still counts as now. */
const CLOCK_SKEW_MS = 60_000;

/**
 * Addresses no geolocation database places: loopback, private, link-local, carrier-grade NAT, unique
 * local. Looking them up would load the ~110 MB GeoLite data for nothing.
 */
const UNLOCATABLE = new BlockList();
UNLOCATABLE.addSubnet('0.0.0.0', 8, 'ipv4');
UNLOCATABLE.addSubnet('10.0.0.0', 8, 'ipv4');
UNLOCATABLE.addSubnet('100.64.0.0', 10, 'ipv4');
UNLOCATABLE.addSubnet('127.0.0.0', 8, 'ipv4');
UNLOCATABLE.addSubnet('169.254.0.0', 16, 'ipv4');
UNLOCATABLE.addSubnet('172.16.0.0', 12, 'ipv4');
UNLOCATABLE.addSubnet('192.168.0.0', 16, 'ipv4');
UNLOCATABLE.addAddress('::', 'ipv6');
UNLOCATABLE.addAddress('::1', 'ipv6');
UNLOCATABLE.addSubnet('fc00::', 7, 'ipv6');
UNLOCATABLE.addSubnet('fe80::', 10, 'ipv6');

const encoder = new TextEncoder();

/**
 * Turns an asserted session context into what the access decisions use. The IP is reduced to its
 * country and to an HMAC-SHA256 under a key derived from the master key for each project (first 16 bytes,
 * base64url): the same address hashes alike within a project, so the access log can show "same network"
 * without ever holding the address, and hashes of two projects cannot be joined.
 */
export class MemberContexts {
  private readonly projectKeys = new Map<string, Uint8Array>();

  constructor(
    private readonly masterKey: Uint8Array,
    private readonly now: () => Date,
  ) {}

  async derive(projectId: string, input: SessionContextInput, requestIp: string): Promise<MemberContext> {
    const ip = input.ip ?? requestIp;
    const family = isIP(ip);
    if (family === 0) throw invalidField('The session context', '#/context/ip', 'is not an IP address');
    const { methods, authenticatedAt } = this.authentication(
      input.authentication,
      '#/context/authentication',
    );
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const country = UNLOCATABLE.check(ip, type) ? null : ((await locate(ip))?.country ?? null);
    return {
      ipHash: this.ipHash(projectId, ip),
      country,
      fingerprintHash: input.deviceFingerprint ?? null,
      methods,
      authenticatedAt,
      proofs: input.proofs?.length ?? 0,
    };
  }

  /** How the member authenticated: its amr values (deduplicated) and when (not in the future). */
  authentication(
    input: SessionContextInput['authentication'],
    pointer: string,
  ): { methods: string[]; authenticatedAt: number } {
    const authenticatedAt = Date.parse(input.authenticatedAt);
    if (Number.isNaN(authenticatedAt)) {
      throw invalidField('The session context', `${pointer}/authenticatedAt`, 'is not a valid time');
    }
    if (authenticatedAt > this.now().getTime() + CLOCK_SKEW_MS) {
      throw invalidField('The session context', `${pointer}/authenticatedAt`, 'is in the future');
    }
    return { methods: [...new Set(input.methods)], authenticatedAt };
  }

  private ipHash(projectId: string, ip: string): string {
    let key = this.projectKeys.get(projectId);
    if (!key) {
      key = hkdfSha256(
        this.masterKey,
        undefined,
        encoder.encode(`personachain vault access ip v1 ${projectId}`),
        32,
      );
      if (this.projectKeys.size >= 10_000) this.projectKeys.clear();
      this.projectKeys.set(projectId, key);
    }
    return createHmac('sha256', key).update(ip).digest().subarray(0, 16).toString('base64url');
  }
}
