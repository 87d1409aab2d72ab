import { createHash } from 'node:crypto';
import { randomBytes } from '@personachain/crypto';
import { Secret, TOTP } from 'otpauth';

/** RFC 6238 with the parameters every authenticator app supports. */
const PERIOD_SECONDS = 30;
const DIGITS = 6;
const ALGORITHM = 'SHA1';
/** Codes of the previous and next step are accepted too (clock drift). */
const WINDOW = 1;

export const RECOVERY_CODE_COUNT = 10;
/** 32 characters without i, l, o (misread as 1, 1, 0): five bits each, no modulo bias. */
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz023456789';

export function newTotpSecret(): Uint8Array {
  return randomBytes(20);
}

export function otpauthUri(secret: Uint8Array, issuer: string, label: string): string {
  return new TOTP({
    issuer,
    label,
    secret: new Secret({ buffer: secret.slice().buffer }),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD_SECONDS,
  }).toString();
}

export function base32Of(secret: Uint8Array): string {
  return new Secret({ buffer: secret.slice().buffer }).base32;
}

/** The time step the code belongs to, or null when it matches none within the window. */
export function totpStep(secret: Uint8Array, code: string, at: Date): number | null {
  const delta = TOTP.validate({
    token: code,
    secret: new Secret({ buffer: secret.slice().buffer }),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD_SECONDS,
    timestamp: at.getTime(),
    window: WINDOW,
  });
  return delta === null ? null : TOTP.counter({ period: PERIOD_SECONDS, timestamp: at.getTime() }) + delta;
}

/** The code of a time (for tests and clients that share the secret). */
export function totpCode(secret: Uint8Array, at: Date): string {
  return TOTP.generate({
    secret: new Secret({ buffer: secret.slice().buffer }),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD_SECONDS,
    timestamp: at.getTime(),
  });
}

/** Ten codes of 16 characters (80 bits each), shown as xxxx-xxxx-xxxx-xxxx. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(16);
    const chars = Array.from(bytes, (b) => RECOVERY_ALPHABET[b & 31]).join('');
    return chars.match(/.{4}/g)?.join('-') ?? chars;
  });
}

/** Hash of a recovery code as typed: case, spaces and dashes do not matter. */
export function recoveryCodeHash(code: string): string {
  const normalized = code.toLowerCase().replace(/[\s-]/g, '');
  return createHash('sha256').update(normalized).digest('hex');
}
