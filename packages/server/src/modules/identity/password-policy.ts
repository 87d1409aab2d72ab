import { COMMON_PASSWORDS } from './common-passwords.js';

/** Longest password accepted: bounds the hashing cost an anonymous request can cause. */
export const PASSWORD_MAX_LENGTH = 128;

export interface PasswordRules {
  minLength: number;
  forbidCommon: boolean;
}

/** Why a password is refused, as a stable code and a sentence the user can act on. */
export interface PasswordWeakness {
  code: 'too_short' | 'too_long' | 'common' | 'contains_identifier';
  detail: string;
}

/**
 * Checks a new password against the project's rules (NIST SP 800-63B: length and a blocklist, no
 * composition rules). Length counts Unicode code points, as a user would.
 */
export function passwordWeakness(
  password: string,
  rules: PasswordRules,
  identifiers: Array<string | null | undefined>,
): PasswordWeakness | null {
  const length = [...password].length;
  if (length < rules.minLength) {
    return { code: 'too_short', detail: `Use at least ${rules.minLength} characters.` };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return { code: 'too_long', detail: `Use at most ${PASSWORD_MAX_LENGTH} characters.` };
  }
  const lower = password.toLowerCase();
  if (rules.forbidCommon && COMMON_PASSWORDS.has(lower)) {
    return {
      code: 'common',
      detail: 'This password is among the most common ones attackers try first; choose another.',
    };
  }
  for (const identifier of identifiers) {
    const name = identifier?.toLowerCase().split('@')[0];
    if (name && name.length >= 3 && lower.includes(name)) {
      return { code: 'contains_identifier', detail: 'The password must not contain your username or email.' };
    }
  }
  return null;
}
