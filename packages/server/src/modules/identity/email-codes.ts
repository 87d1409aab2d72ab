import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { hkdfSha256, randomBytes, toBase64Url } from '@personachain/crypto';
import { Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { EmailCodesRepo, SendLimit } from './email-codes-repo.js';
import {
  confirmRegistrationMessage,
  registrationAttemptMessage,
  secondFactorMessage,
  signInMessage,
  verifyEmailMessage,
} from './email-messages.js';
import { normalizeIdentifier } from './identifiers.js';
import type { Mailer, MailMessage } from './mailer.js';
import type { IdentityRepo } from './repo.js';
import { SecretBox } from './secret-box.js';
import { hashToken } from './sessions.js';

/** `second_factor`: adaptive MFA's emailed code after a password; it is sent without a link. */
export type EmailCodePurpose = 'sign_in' | 'verify_email' | 'second_factor';

const CODE_DIGITS = 8;
const CODE_TTL_MS = 10 * 60_000;
/** Wrong guesses a code survives; the next attempt finds it dead. */
const CODE_MAX_ATTEMPTS = 5;
const LINK_PREFIX = 'pml_';

/** Messages to one address asked for from one client address: at most one a minute and five an hour. */
const ADDRESS_CLIENT_LIMITS = [
  { windowMs: 60_000, max: 1 },
  { windowMs: 60 * 60_000, max: 5 },
];
/**
 * Messages to one address from all clients together: higher, so that requests from elsewhere (an
 * attacker's) use up the victim's own allowance only at this cap. A live code is re-sent, never
 * replaced, so such requests cannot take the victim's code away either.
 */
const ADDRESS_LIMITS = [
  { windowMs: 60_000, max: 3 },
  { windowMs: 60 * 60_000, max: 20 },
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

/** The cookie marking the browser that asked for a sign-in link: there, the link alone signs in. */
export const EMAIL_BROWSER_COOKIE = 'persona_email_browser';

/**
 * A Set-Cookie sent only to the magic link's page (`/p/{projectId}/auth/email/link`) and living as long
 * as the code: what the browser that asked for a link leaves for the link opened there.
 */
export function linkPageCookie(projectId: string, name: string, value: string, publicUrl: string): string {
  const secure = publicUrl.startsWith('https:') ? '; Secure' : '';
  const path = `/p/${projectId}/auth/email/link`;
  return `${name}=${value}; Path=${path}; Max-Age=${CODE_TTL_MS / 1000}; HttpOnly; SameSite=Lax${secure}`;
}

/** A magic link the confirm page may show: whose it is and what it is for. */
export interface LiveLink {
  userId: string;
  purpose: EmailCodePurpose;
  /** A self-registration's confirming link: using it also asks for the password chosen then. */
  pendingRegistration: boolean;
  /** The address the link was sent to, masked (`a***@example.com`): the confirm page names the account. */
  maskedEmail: string;
  /** Whether the browser holding the link is the one that asked for it (its cookie matches). */
  sameBrowser: boolean;
}

/** Where a code request came from: the client address, and the browser's cookie value when it has one. */
export interface SendContext {
  ip?: string;
  browser?: string;
}

/** `alice@example.com` → `a***@example.com`: enough to recognize one's own account, not to learn one. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

/**
 * Emailed one-time codes and magic links. A code is 8 digits, kept as an HMAC bound to the project, user,
 * purpose and the address it was sent to, under a key derived from the master key; its link is a separate
 * 256-bit token kept as a SHA-256; both are also sealed (SecretBox) so that a repeated request re-sends
 * the live pair rather than replacing it (replacing would let anyone's requests take a user's code away).
 * Each lives 10 minutes, is used once, dies after 5 wrong guesses or when the address changes. Sends are
 * limited per address and client, and per address (silently: the answers never tell whether an address
 * has an account), and requests per client address (openly, 429).
 */
export class EmailCodes {
  private readonly codeKey: Uint8Array;
  /** Seals a live code and link so that a repeated request can re-send them. */
  private readonly box: SecretBox;
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
    this.box = new SecretBox(masterKey, 'identity email code box');
  }

  get enabled(): boolean {
    return this.mailer !== null;
  }

  requireEnabled(): void {
    if (!this.mailer) throw emailNotConfigured();
  }

  /**
   * Starts a sign-in by email: throws 429 when this client asked too often, else returns at once and,
   * in the background, mails a code and link only when the address belongs to an active user with a
   * verified email. Known and unknown addresses take the same path up to the answer. `browser` is the
   * token of the cookie the caller leaves in the asking browser (see browserCookie): the link opened
   * in that browser signs in with one click, in any other it asks for the code as well.
   */
  async requestSignIn(projectId: string, email: string, ip: string, browser?: string): Promise<void> {
    this.requireEnabled();
    const at = this.now();
    const ipKey = counterKey('email-ip', projectId, ip);
    const since = new Date(at.getTime() - IP_LIMIT.windowMs).toISOString();
    const allowed = await this.repo.transaction(async (tx) => {
      await tx.lockProject(projectId);
      return tx.takeSend([{ keyHash: ipKey, since, max: IP_LIMIT.max }], at.toISOString());
    });
    if (!allowed) {
      const retryAfterSeconds = Math.ceil(IP_LIMIT.windowMs / 1000);
      throw new Problem('rate-limited', 'Too many sign-in code requests from this address; retry later.', {
        headers: { 'retry-after': String(retryAfterSeconds) },
        extensions: { code: 'email_rate_limited', retryAfterSeconds },
      });
    }
    const context: SendContext = browser ? { ip, browser } : { ip };
    this.background(async () => {
      const userId = await this.signInUserId(projectId, email);
      if (userId) await this.sendEmailCode(projectId, userId, 'sign_in', context);
    });
  }

  /**
   * A new token for the browser asking for a sign-in link, and the Set-Cookie that leaves it there
   * (10 minutes, like the code, sent only to the link's page). Pass the token to requestSignIn.
   */
  browserCookie(projectId: string): { token: string; setCookie: string } {
    const token = toBase64Url(randomBytes(32));
    return { token, setCookie: linkPageCookie(projectId, EMAIL_BROWSER_COOKIE, token, this.publicUrl) };
  }

  /**
   * Mails the user a code (and link) for the purpose: the live one again when there is one, else a new
   * one. Returns false, sending nothing, when the user has no email, is not active, or a send limit for
   * the address is reached. `context.ip` counts the send against that client's own allowance for the
   * address. Reusable by other factors (e.g. an emailed step-up code).
   */
  async sendEmailCode(
    projectId: string,
    userId: string,
    purpose: EmailCodePurpose,
    context: SendContext = {},
  ): Promise<boolean> {
    const mailer = this.mailer;
    if (!mailer) throw emailNotConfigured();
    const user = await this.users.getUser(projectId, userId);
    // A pending self-registration may only be sent the code that confirms it.
    const allowed = user?.status === 'active' || (user?.status === 'pending' && purpose === 'verify_email');
    if (!user?.email || !user.email_normalized || !allowed) return false;
    const at = this.now();
    const emailHash = this.addressHash(projectId, user.email_normalized);
    const browserHash = context.browser ? hashToken(context.browser) : null;
    const limits = this.addressLimits(projectId, user.email_normalized, context.ip ?? '', at);
    const issued = await this.repo.transaction(async (tx) => {
      await tx.lockUser(projectId, userId);
      if (!(await tx.takeSend(limits, at.toISOString()))) return null;
      const live = await tx.live(projectId, userId, purpose, at.toISOString());
      if (live?.code_box && live.email_hash === emailHash && live.attempts < CODE_MAX_ATTEMPTS) {
        if (browserHash) await tx.setBrowser(live.id, browserHash);
        return this.openBox(live.code_box, live.id);
      }
      const code = String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
      const link = LINK_PREFIX + toBase64Url(randomBytes(32));
      const id = newId('emc');
      await tx.replace({
        id,
        project_id: projectId,
        user_id: userId,
        purpose,
        code_hash: this.codeHash(projectId, userId, purpose, emailHash, code),
        link_hash: hashToken(link),
        attempts: 0,
        expires_at: new Date(at.getTime() + CODE_TTL_MS).toISOString(),
        created_at: at.toISOString(),
        email_hash: emailHash,
        browser_hash: browserHash,
        code_box: await this.box.seal(encoder.encode(`${code} ${link}`), id),
      });
      return { code, link };
    });
    if (!issued) return false;
    const url = `${this.publicUrl}/p/${encodeURIComponent(projectId)}/auth/email/link?token=${issued.link}`;
    mailer.send(this.message(purpose, user.email, user.status === 'pending', issued.code, url));
    return true;
  }

  /** The message carrying a code: what it says depends on what the code is for. */
  private message(
    purpose: EmailCodePurpose,
    to: string,
    pending: boolean,
    code: string,
    url: string,
  ): MailMessage {
    if (purpose === 'second_factor') return secondFactorMessage(to, code);
    if (purpose === 'sign_in') return signInMessage(to, code, url);
    // A pending user is a self-registration: its mail warns whoever did not register.
    return pending ? confirmRegistrationMessage(to, code, url) : verifyEmailMessage(to, code, url);
  }

  /**
   * After a self-registration that verifies email (see IdentityService.registerPending), in the
   * background so both outcomes answer alike: the new (pending) user gets the confirming code, the owner
   * of a taken address a note that someone tried to register with it.
   */
  afterRegistration(projectId: string, registered: { userId: string; taken: boolean }, ip?: string): void {
    const context: SendContext = ip === undefined ? {} : { ip };
    this.background(async () => {
      if (!registered.taken) {
        await this.sendEmailCode(projectId, registered.userId, 'verify_email', context);
        return;
      }
      const owner = await this.users.getUser(projectId, registered.userId);
      const mailer = this.mailer;
      if (!owner?.email || !owner.email_normalized || !mailer) return;
      const at = this.now();
      const limits = this.addressLimits(projectId, owner.email_normalized, context.ip ?? '', at);
      const allowed = await this.repo.transaction(async (tx) => {
        await tx.lockUser(projectId, owner.id);
        return tx.takeSend(limits, at.toISOString());
      });
      if (allowed) mailer.send(registrationAttemptMessage(owner.email, this.signInUrl(projectId)));
    });
  }

  /** The id of the pending (self-registered, unconfirmed) user with this email, or null. */
  async pendingUserId(projectId: string, email: string): Promise<string | null> {
    const user = await this.users.findUserBy(projectId, 'email_normalized', normalizeIdentifier(email));
    return user?.status === 'pending' ? user.id : null;
  }

  /**
   * Uses the user's code for the purpose when it matches; every call counts as an attempt. A code works
   * only while the user still has the address it was sent to.
   */
  async checkEmailCode(
    projectId: string,
    userId: string,
    purpose: EmailCodePurpose,
    code: string,
  ): Promise<boolean> {
    const row = await this.repo.attempt(projectId, userId, purpose, this.now().toISOString());
    if (!row) return false;
    const emailHash = await this.currentAddressHash(projectId, userId);
    if (row.attempts > CODE_MAX_ATTEMPTS || !emailHash || row.email_hash !== emailHash) {
      await this.repo.consume(row.id);
      return false;
    }
    const expected = Buffer.from(row.code_hash, 'hex');
    const given = Buffer.from(this.codeHash(projectId, userId, purpose, emailHash, code), 'hex');
    if (!timingSafeEqual(expected, given)) return false;
    return this.repo.consume(row.id);
  }

  /**
   * Counts a failed attempt on the user's live code without using it: a wrong password next to a
   * confirming code or link, so that the password cannot be guessed more often than the code.
   */
  async spendAttempt(projectId: string, userId: string, purpose: EmailCodePurpose): Promise<void> {
    const row = await this.repo.attempt(projectId, userId, purpose, this.now().toISOString());
    if (row && row.attempts >= CODE_MAX_ATTEMPTS) await this.repo.consume(row.id);
  }

  /**
   * What a live magic link of the project is for, without using it (mail scanners fetch links).
   * `browser` is the asking-browser cookie of the request opening it, when it has one.
   */
  async peekLink(projectId: string, token: string, browser?: string): Promise<LiveLink | null> {
    return (await this.findLink(projectId, token, browser))?.live ?? null;
  }

  /** Uses a magic link up: its code dies with it. */
  async consumeLink(projectId: string, token: string, browser?: string): Promise<LiveLink | null> {
    const found = await this.findLink(projectId, token, browser);
    return found && (await this.repo.consume(found.id)) ? found.live : null;
  }

  /**
   * Email sign-in by code: the id of the user with this email (see signInUserId) when `code` is their
   * live sign-in code, which it uses up; null otherwise. An empty code is not tried.
   */
  async checkSignInCode(projectId: string, email: string, code: string): Promise<string | null> {
    const userId = code ? await this.signInUserId(projectId, email) : null;
    return userId !== null && (await this.checkEmailCode(projectId, userId, 'sign_in', code)) ? userId : null;
  }

  /** The id of the active user with this email and whose email is verified (email sign-in), or null. */
  async signInUserId(projectId: string, email: string): Promise<string | null> {
    const user = await this.users.findUserBy(projectId, 'email_normalized', normalizeIdentifier(email));
    return user?.status === 'active' && user.email_verified === 1 ? user.id : null;
  }

  purgeExpired(): Promise<void> {
    const at = this.now();
    const windows = [IP_LIMIT, ...ADDRESS_LIMITS, ...ADDRESS_CLIENT_LIMITS].map((limit) => limit.windowMs);
    const longest = Math.max(...windows);
    return this.repo.purge(at.toISOString(), new Date(at.getTime() - longest).toISOString());
  }

  /** Waits for background sends, then closes the SMTP transport. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    this.mailer?.close();
  }

  /** The limits one more message to the address must pass: this client's share, and all clients'. */
  private addressLimits(projectId: string, emailNormalized: string, ip: string, at: Date): SendLimit[] {
    const limit = (keyHash: string) => (window: { windowMs: number; max: number }) => ({
      keyHash,
      since: new Date(at.getTime() - window.windowMs).toISOString(),
      max: window.max,
    });
    const addressKey = counterKey('email-address', projectId, emailNormalized);
    const clientKey = counterKey('email-address-ip', projectId, emailNormalized, ip);
    return [...ADDRESS_CLIENT_LIMITS.map(limit(clientKey)), ...ADDRESS_LIMITS.map(limit(addressKey))];
  }

  /**
   * The live code behind a link (its row id) and what the confirm page may show of it, while its user
   * still has the address it was sent to. `browser` is the asking-browser cookie of the request.
   */
  private async findLink(
    projectId: string,
    token: string,
    browser: string | undefined,
  ): Promise<{ id: string; live: LiveLink } | null> {
    if (!token.startsWith(LINK_PREFIX) || token.length > 100) return null;
    const row = await this.repo.findByLink(projectId, hashToken(token), this.now().toISOString());
    // A second factor's code is never sent with a link: a link must not stand in for it.
    if (!row || row.purpose === 'second_factor') return null;
    const user = await this.users.getUser(projectId, row.user_id);
    if (!user?.email || !user.email_normalized) return null;
    if (row.email_hash !== this.addressHash(projectId, user.email_normalized)) return null;
    const purpose = row.purpose as EmailCodePurpose;
    const sameBrowser =
      browser !== undefined &&
      row.browser_hash !== null &&
      timingSafeEqual(Buffer.from(hashToken(browser)), Buffer.from(row.browser_hash));
    const live: LiveLink = {
      userId: row.user_id,
      purpose,
      pendingRegistration: purpose === 'verify_email' && user.status === 'pending',
      maskedEmail: maskEmail(user.email),
      sameBrowser,
    };
    return { id: row.id, live };
  }

  /** The keyed hash of the user's current normalized address, or null when they have none. */
  private async currentAddressHash(projectId: string, userId: string): Promise<string | null> {
    const user = await this.users.getUser(projectId, userId);
    return user?.email_normalized ? this.addressHash(projectId, user.email_normalized) : null;
  }

  private addressHash(projectId: string, emailNormalized: string): string {
    return createHmac('sha256', this.codeKey)
      .update(['address', projectId, emailNormalized].join('\u0000'))
      .digest('hex');
  }

  private async openBox(sealed: string, id: string): Promise<{ code: string; link: string }> {
    const [code = '', link = ''] = new TextDecoder().decode(await this.box.open(sealed, id)).split(' ');
    return { code, link };
  }

  private signInUrl(projectId: string): string {
    return `${this.publicUrl}/p/${encodeURIComponent(projectId)}/pages/account/sign-in`;
  }

  private background(work: () => Promise<void>): void {
    const running = work().catch((error: Error) => this.onError(new Error(`email code: ${error.message}`)));
    this.pending.add(running);
    void running.finally(() => this.pending.delete(running));
  }

  private codeHash(
    projectId: string,
    userId: string,
    purpose: string,
    emailHash: string,
    code: string,
  ): string {
    return createHmac('sha256', this.codeKey)
      .update([projectId, userId, purpose, emailHash, code].join('\u0000'))
      .digest('hex');
  }
}
