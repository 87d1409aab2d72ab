import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
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
    if (isIP(ip) === 0) throw invalidField('The session context', '#/context/ip', 'is not an IP address');
    const { methods, authenticatedAt } = this.authentication(
      input.authentication,
      '#/context/authentication',
    );
    const country = (await locate(ip))?.country ?? null;
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
