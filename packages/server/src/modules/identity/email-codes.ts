import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { hkdfSha256, randomBytes, toBase64Url } from '@personachain/crypto';
import { Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { EmailCodesRepo } from './email-codes-repo.js';
import { registrationAttemptMessage, signInMessage, verifyEmailMessage } from './email-messages.js';
import { normalizeIdentifier } from './identifiers.js';
import type { Mailer } from './mailer.js';
import type { IdentityRepo } from './repo.js';
import { hashToken } from './sessions.js';

export type EmailCodePurpose = 'sign_in' | 'verify_email';

const CODE_DIGITS = 8;
const CODE_TTL_MS = 10 * 60_000;
/** Wrong guesses a code survives; the next attempt finds it dead. */
const CODE_MAX_ATTEMPTS = 5;
const LINK_PREFIX = 'pml_';

/** Messages to one address: at most one a minute and five an hour. */
const ADDRESS_LIMITS = [
  { windowMs: 60_000, max: 1 },
  { windowMs: 60 * 60_000, max: 5 },
];
/** Sign-in code requests from one client address per project, whatever the email asked for. */
const IP_LIMIT = { windowMs: 60 * 60_000, max: 30 };

const encoder = new TextEncoder();

function counterKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

export function emailNotConfigured(): Problem {
  // 409 rather than 503: retrying will not help until an operator configures SMTP.
  return new Problem('conflict', 'Email is not configured on this server.', {
    extensions: { code: 'email_not_configured' },
  });
}

/** A magic link the confirm page may show: whose it is and what it is for. */
export interface LiveLink {
  userId: string;
  purpose: EmailCodePurpose;
}

/**
 * Emailed one-time codes and magic links. A code is 8 digits, kept only as an HMAC bound to the project,
 * user and purpose under a key derived from the master key; its link is a separate 256-bit token kept as
 * a SHA-256. Each lives 10 minutes, is used once, dies after 5 wrong guesses, and a new one replaces it.
 * Sends are limited per address (silently: the answers never tell whether an address has an account)
 * and per client address (openly, 429).
 */
export class EmailCodes {
  private readonly codeKey: Uint8Array;
  /** Sends in flight; close() waits for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly repo: EmailCodesRepo,
    private readonly users: IdentityRepo,
    private readonly mailer: Mailer | null,
    masterKey: Uint8Array,
    private readonly publicUrl: string,
    private readonly now: () => Date,
    private readonly onError: (error: Error) => void,
  ) {
    this.codeKey = hkdfSha256(
      masterKey,
      undefined,
      encoder.encode('personachain identity email code v1'),
      32,
    );
  }

  get enabled(): boolean {
    return this.mailer !== null;
  }

  requireEnabled(): void {
    if (!this.mailer) throw emailNotConfigured();
  }

  /**
   * Starts a sign-in by email: throws 429 when this client asked too often, else returns at once and,
   * in the background, mails a code and link only when the address belongs to an active user. Known and
   * unknown addresses take the same path up to the answer.
   */
  async requestSignIn(projectId: string, email: string, ip: string): Promise<void> {
    this.requireEnabled();
    const at = this.now();
    const ipKey = counterKey('email-ip', projectId, ip);
    const recent = await this.repo.countSends(
      ipKey,
      new Date(at.getTime() - IP_LIMIT.windowMs).toISOString(),
    );
    if (recent >= IP_LIMIT.max) {
      const retryAfterSeconds = Math.ceil(IP_LIMIT.windowMs / 1000);
      throw new Problem('rate-limited', 'Too many sign-in code requests from this address; retry later.', {
        headers: { 'retry-after': String(retryAfterSeconds) },
        extensions: { code: 'email_rate_limited', retryAfterSeconds },
      });
    }
    await this.repo.recordSend([ipKey], at.toISOString());
    this.background(async () => {
      const userId = await this.activeUserId(projectId, email);
      if (userId) await this.sendEmailCode(projectId, userId, 'sign_in');
    });
  }

  /**
   * Mails the user a new code (and link) for the purpose, replacing any previous one. Returns false,
   * sending nothing, when the user has no email, is not active, or the address's send limit is reached.
   * Reusable by other factors (e.g. an emailed step-up code).
   */
  async sendEmailCode(projectId: string, userId: string, purpose: EmailCodePurpose): Promise<boolean> {
    const mailer = this.mailer;
    if (!mailer) throw emailNotConfigured();
    const user = await this.users.getUser(projectId, userId);
    // A pending self-registration may only be sent the code that confirms it.
    const allowed = user?.status === 'active' || (user?.status === 'pending' && purpose === 'verify_email');
    if (!user?.email || !user.email_normalized || !allowed) return false;
    const at = this.now();
    if (!(await this.takeAddressSend(projectId, user.email_normalized, at))) return false;
    const code = String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
    const link = LINK_PREFIX + toBase64Url(randomBytes(32));
    await this.repo.replace({
      id: newId('emc'),
      project_id: projectId,
      user_id: userId,
      purpose,
      code_hash: this.codeHash(projectId, userId, purpose, code),
      link_hash: hashToken(link),
      attempts: 0,
      expires_at: new Date(at.getTime() + CODE_TTL_MS).toISOString(),
      created_at: at.toISOString(),
    });
    const url = `${this.publicUrl}/p/${encodeURIComponent(projectId)}/auth/email/link?token=${link}`;
    mailer.send(
      purpose === 'sign_in'
        ? signInMessage(user.email, code, url)
        : verifyEmailMessage(user.email, code, url),
    );
    return true;
  }

  /**
   * After a self-registration that verifies email (see IdentityService.registerPending), in the
   * background so both outcomes answer alike: the new (pending) user gets the confirming code, the owner
   * of a taken address a note that someone tried to register with it.
   */
  afterRegistration(projectId: string, registered: { userId: string; taken: boolean }): void {
    this.background(async () => {
      if (!registered.taken) {
        await this.sendEmailCode(projectId, registered.userId, 'verify_email');
        return;
      }
      const owner = await this.users.getUser(projectId, registered.userId);
      if (!owner?.email || !owner.email_normalized || !this.mailer) return;
      if (await this.takeAddressSend(projectId, owner.email_normalized, this.now())) {
        this.mailer.send(registrationAttemptMessage(owner.email, this.signInUrl(projectId)));
      }
    });
  }

  /** The id of the pending (self-registered, unconfirmed) user with this email, or null. */
  async pendingUserId(projectId: string, email: string): Promise<string | null> {
    const user = await this.users.findUserBy(projectId, 'email_normalized', normalizeIdentifier(email));
    return user?.status === 'pending' ? user.id : null;
  }

  /** Uses the user's code for the purpose when it matches; every call counts as an attempt. */
  async checkEmailCode(
    projectId: string,
    userId: string,
    purpose: EmailCodePurpose,
    code: string,
  ): Promise<boolean> {
    const row = await this.repo.attempt(projectId, userId, purpose, this.now().toISOString());
    if (!row) return false;
    if (row.attempts > CODE_MAX_ATTEMPTS) {
      await this.repo.consume(row.id);
      return false;
    }
    const expected = Buffer.from(row.code_hash, 'hex');
    const given = Buffer.from(this.codeHash(projectId, userId, purpose, code), 'hex');
    if (!timingSafeEqual(expected, given)) return false;
    return this.repo.consume(row.id);
  }

  /** What a live magic link of the project is for, without using it (mail scanners fetch links). */
  async peekLink(projectId: string, token: string): Promise<LiveLink | null> {
    if (!token.startsWith(LINK_PREFIX) || token.length > 100) return null;
    const row = await this.repo.findByLink(projectId, hashToken(token), this.now().toISOString());
    return row ? { userId: row.user_id, purpose: row.purpose as EmailCodePurpose } : null;
  }

  /** Uses a magic link up: its code dies with it. */
  async consumeLink(projectId: string, token: string): Promise<LiveLink | null> {
    if (!token.startsWith(LINK_PREFIX) || token.length > 100) return null;
    const row = await this.repo.findByLink(projectId, hashToken(token), this.now().toISOString());
    if (!row || !(await this.repo.consume(row.id))) return null;
    return { userId: row.user_id, purpose: row.purpose as EmailCodePurpose };
  }

  /** The id of the active user with this email, or null. */
  async activeUserId(projectId: string, email: string): Promise<string | null> {
    const user = await this.users.findUserBy(projectId, 'email_normalized', normalizeIdentifier(email));
    return user?.status === 'active' ? user.id : null;
  }

  purgeExpired(): Promise<void> {
    const at = this.now();
    const longest = Math.max(IP_LIMIT.windowMs, ...ADDRESS_LIMITS.map((limit) => limit.windowMs));
    return this.repo.purge(at.toISOString(), new Date(at.getTime() - longest).toISOString());
  }

  /** Waits for background sends, then closes the SMTP transport. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    this.mailer?.close();
  }

  /** Counts a message to the address and returns its counter, or null when a send limit is reached. */
  private async takeAddressSend(
    projectId: string,
    emailNormalized: string,
    at: Date,
  ): Promise<string | null> {
    const addressKey = counterKey('email-address', projectId, emailNormalized);
    for (const limit of ADDRESS_LIMITS) {
      const since = new Date(at.getTime() - limit.windowMs).toISOString();
      if ((await this.repo.countSends(addressKey, since)) >= limit.max) return null;
    }
    await this.repo.recordSend([addressKey], at.toISOString());
    return addressKey;
  }

  private signInUrl(projectId: string): string {
    return `${this.publicUrl}/p/${encodeURIComponent(projectId)}/pages/account/sign-in`;
  }

  private background(work: () => Promise<void>): void {
    const running = work().catch((error: Error) => this.onError(new Error(`email code: ${error.message}`)));
    this.pending.add(running);
    void running.finally(() => this.pending.delete(running));
  }

  private codeHash(projectId: string, userId: string, purpose: string, code: string): string {
    return createHmac('sha256', this.codeKey)
      .update([projectId, userId, purpose, code].join('\u0000'))
      .digest('hex');
  }
}
