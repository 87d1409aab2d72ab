import { createHash } from 'node:crypto';
import type { IdentityRepo } from './repo.js';

export interface ThrottleOptions {
  /** Failures of one identifier from one address before back-off starts. */
  accountFreeFailures: number;
  /** Failures from one address, over all identifiers of the project, before back-off starts. */
  addressFreeFailures: number;
  /** The first back-off; each further failure doubles it. */
  baseDelayMs: number;
  /** The longest back-off: a temporary lockout, never a permanent one. */
  maxDelayMs: number;
  /** A counter whose last failure is older than this starts over. */
  forgetAfterMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  accountFreeFailures: 5,
  addressFreeFailures: 50,
  baseDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
};

/** The counters one sign-in attempt is checked against. */
export interface ThrottleKeys {
  /** This identifier from this address: an attacker elsewhere cannot lock the account's owner out. */
  account: string;
  /** This address over all identifiers: password spraying. */
  address?: string;
}

function counterKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

export function throttleKeys(projectId: string, identifier: string, ip: string): Required<ThrottleKeys> {
  return {
    account: counterKey('account', projectId, identifier, ip),
    address: counterKey('address', projectId, ip),
  };
}

/** TOTP codes checked inside a session (confirm, disable, new recovery codes): one counter per user. */
export function sessionFactorKeys(projectId: string, userId: string): ThrottleKeys {
  return { account: counterKey('session-factor', projectId, userId) };
}

/**
 * Exponential back-off on failed sign-ins: after the free failures, each failure blocks the counter for
 * base × 2^(extra failures), up to the maximum. Counters live in the database, so replicas share them.
 * Unknown identifiers are counted exactly like known ones: the answers reveal nothing.
 */
export class LoginThrottle {
  constructor(
    private readonly repo: IdentityRepo,
    private readonly options: ThrottleOptions,
    private readonly now: () => Date,
  ) {}

  /** Seconds until an attempt is allowed, or 0 when it is allowed now. */
  async retryAfterSeconds(keys: ThrottleKeys): Promise<number> {
    const until = await this.repo.blockedUntil(keys.address ? [keys.account, keys.address] : [keys.account]);
    const now = this.now().getTime();
    const wait = Math.max(0, ...until.map((at) => Date.parse(at) - now));
    return Math.ceil(wait / 1000);
  }

  async recordFailure(keys: ThrottleKeys): Promise<void> {
    await this.count(keys.account, this.options.accountFreeFailures);
    if (keys.address) await this.count(keys.address, this.options.addressFreeFailures);
  }

  /** The counted failures of the account counter (an identifier from an address) not yet forgotten. */
  failures(key: string): Promise<number> {
    const forgetBefore = new Date(this.now().getTime() - this.options.forgetAfterMs).toISOString();
    return this.repo.failuresSince(key, forgetBefore);
  }

  /** A complete sign-in clears its account counter; the address counter only decays (spraying). */
  async recordSuccess(keys: Pick<ThrottleKeys, 'account'>): Promise<void> {
    await this.repo.clearFailures(keys.account);
  }

  private async count(key: string, freeFailures: number): Promise<void> {
    const now = this.now();
    const forgetBefore = new Date(now.getTime() - this.options.forgetAfterMs).toISOString();
    const failures = await this.repo.addFailure(key, now.toISOString(), forgetBefore);
    if (failures < freeFailures) return;
    const delay = Math.min(
      this.options.maxDelayMs,
      this.options.baseDelayMs * 2 ** (failures - freeFailures),
    );
    await this.repo.block(key, new Date(now.getTime() + delay).toISOString());
  }
}
