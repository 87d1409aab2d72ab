import type { IdentityUsersTable } from '../../store/schema.js';
import type { EmailCodes } from './email-codes.js';

/**
 * Adaptive MFA's fallback second factor: a code emailed to the user's verified address, for a risky
 * password sign-in of a user without TOTP. The code is EmailCodes' (purpose `second_factor`: bound to
 * the address, limited in attempts and sends, sent without a link).
 */
export class EmailSecondFactor {
  constructor(
    private readonly codes: EmailCodes,
    private readonly smtpConfigured: boolean,
  ) {}

  /** Whether the user can be asked for one: the server sends email, and the user's address is verified. */
  availableFor(user: IdentityUsersTable): boolean {
    return this.smtpConfigured && user.email !== null && user.email_verified === 1;
  }

  /** Emails the code (a live one again, rather than a new one); false when the send limits refuse. */
  send(user: IdentityUsersTable, ip: string): Promise<boolean> {
    return this.codes.sendEmailCode(user.project_id, user.id, 'second_factor', { ip });
  }

  /** Uses the code when it matches; every call counts as an attempt on it. */
  check(user: IdentityUsersTable, code: string): Promise<boolean> {
    return this.codes.checkEmailCode(user.project_id, user.id, 'second_factor', code);
  }
}
