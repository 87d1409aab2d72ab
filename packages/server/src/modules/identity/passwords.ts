import { hash, parseOptions, verify } from '@node-rs/argon2';
import { recordHashTime } from '../../http/server-timing.js';

/** Argon2id cost parameters (memory in KiB). */
export interface Argon2Parameters {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2: Argon2Parameters = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

const ARGON2ID = 2;

/** Hashes and verifies passwords as Argon2id PHC strings with the configured parameters. */
export class PasswordHasher {
  /** Verified against when the account does not exist, so that answer takes as long as a real one. */
  private dummy: Promise<string> | undefined;

  constructor(readonly parameters: Argon2Parameters = OWASP_ARGON2) {}

  async hash(password: string): Promise<string> {
    const started = performance.now();
    try {
      return await hash(password, { algorithm: ARGON2ID, ...this.parameters });
    } finally {
      recordHashTime(performance.now() - started);
    }
  }

  async verify(phc: string, password: string): Promise<boolean> {
    const started = performance.now();
    try {
      return await verify(phc, password);
    } catch {
      return false;
    } finally {
      recordHashTime(performance.now() - started);
    }
  }

  /** Spends the time of one verification and always fails. */
  async verifyNothing(password: string): Promise<false> {
    this.dummy ??= this.hash('persona-dummy-password-for-unknown-accounts');
    await this.verify(await this.dummy, password);
    return false;
  }

  /** Whether a stored hash was made with other parameters (or another algorithm) than the current ones. */
  needsRehash(phc: string): boolean {
    try {
      const used = parseOptions(phc);
      return (
        used.algorithm !== ARGON2ID ||
        used.memoryCost !== this.parameters.memoryCost ||
        used.timeCost !== this.parameters.timeCost ||
        used.parallelism !== this.parameters.parallelism
      );
    } catch {
      return true;
    }
  }
}
