import { randomBytes, toBase64Url } from '@personachain/crypto';
import { Problem } from '../../http/problem.js';
import type { IdentityUsersTable } from '../../store/schema.js';
import { identifierColumn, normalizeIdentifier } from './identifiers.js';
import type { PasswordHasher } from './passwords.js';
import type { IdentityPolicies } from './policies.js';
import type { IdentityRepo } from './repo.js';
import type { SecretBox } from './secret-box.js';
import { hashToken } from './sessions.js';
import { type LoginThrottle, sessionFactorKeys, throttleKeys } from './throttle.js';
import { recoveryCodeHash, totpStep } from './totp.js';

const CHALLENGE_TTL_MS = 5 * 60_000;
const CHALLENGE_MAX_ATTEMPTS = 5;

/** The result of checking a password. Failure reasons are the same for unknown and known accounts. */
export type PasswordOutcome =
  | { status: 'ok'; userId: string; amr: string[]; mfaEnrollmentRequired: boolean }
  | { status: 'mfa_required'; userId: string; challenge: string; methods: string[] }
  | { status: 'failed'; reason: 'invalid_credentials' | 'disabled' }
  | { status: 'locked'; retryAfterSeconds: number };

export type SecondFactorOutcome =
  | { status: 'ok'; userId: string; amr: string[] }
  | { status: 'failed'; reason: 'invalid_code' | 'invalid_challenge' }
  | { status: 'locked'; retryAfterSeconds: number };

export type SecondFactor = { code: string } | { recoveryCode: string };

/** Checks first and second factors, with brute-force protection. Creates no session. */
export class Authenticator {
  constructor(
    private readonly repo: IdentityRepo,
    private readonly hasher: PasswordHasher,
    private readonly throttle: LoginThrottle,
    private readonly policies: IdentityPolicies,
    private readonly totpSecrets: SecretBox,
    private readonly now: () => Date,
  ) {}

  async authenticate(
    projectId: string,
    credentials: { identifier: string; password: string },
    context: { ip: string },
  ): Promise<PasswordOutcome> {
    const identifier = normalizeIdentifier(credentials.identifier);
    const keys = throttleKeys(projectId, identifier, context.ip);
    const retryAfterSeconds = await this.throttle.retryAfterSeconds(keys);
    if (retryAfterSeconds > 0) return { status: 'locked', retryAfterSeconds };

    const user = await this.repo.findUserBy(projectId, identifierColumn(identifier), identifier);
    const valid =
      user?.password_hash && user.status !== 'deleted'
        ? await this.hasher.verify(user.password_hash, credentials.password)
        : await this.hasher.verifyNothing(credentials.password);
    if (!valid || !user?.password_hash) {
      await this.throttle.recordFailure(keys);
      return { status: 'failed', reason: 'invalid_credentials' };
    }
    // A pending self-registration answers like a wrong password: otherwise whoever registered could tell
    // a new address (pending) from a taken one by signing in with the password they chose.
    if (user.status === 'pending') {
      await this.throttle.recordFailure(keys);
      return { status: 'failed', reason: 'invalid_credentials' };
    }
    if (user.status !== 'active') return { status: 'failed', reason: 'disabled' };
    if (this.hasher.needsRehash(user.password_hash)) {
      await this.repo.updateUser(projectId, user.id, {
        password_hash: await this.hasher.hash(credentials.password),
      });
    }
    if (!user.totp_secret) await this.throttle.recordSuccess(keys);
    return this.firstFactorPassed(user, 'pwd', keys.account);
  }

  /**
   * After a first factor (a password, or an emailed code): the second-factor challenge when the user
   * has TOTP, so no first factor bypasses it, else the sign-in's amr.
   */
  async firstFactorPassed(
    user: IdentityUsersTable,
    firstFactor: 'pwd' | 'otp',
    throttleKey: string,
  ): Promise<Exclude<PasswordOutcome, { status: 'failed' | 'locked' }>> {
    if (user.totp_secret) {
      const challenge = `pcm_${toBase64Url(randomBytes(32))}`;
      await this.repo.insertChallenge({
        token_hash: hashToken(challenge),
        project_id: user.project_id,
        user_id: user.id,
        throttle_key: throttleKey,
        attempts: 0,
        expires_at: new Date(this.now().getTime() + CHALLENGE_TTL_MS).toISOString(),
        first_factor: firstFactor,
      });
      return { status: 'mfa_required', userId: user.id, challenge, methods: ['totp', 'recovery_code'] };
    }
    const policy = await this.policies.get(user.project_id);
    return {
      status: 'ok',
      userId: user.id,
      amr: [firstFactor],
      mfaEnrollmentRequired: policy.mfa === 'required',
    };
  }

  /** Completes a login that answered mfa_required. A challenge allows a few attempts, then dies. */
  async verifySecondFactor(
    projectId: string,
    challenge: string,
    factor: SecondFactor,
    context: { ip: string },
  ): Promise<SecondFactorOutcome> {
    const tokenHash = hashToken(challenge);
    const row = await this.repo.attemptChallenge(projectId, tokenHash, this.now().toISOString());
    if (!row || row.attempts > CHALLENGE_MAX_ATTEMPTS) {
      if (row) await this.repo.deleteChallenge(tokenHash);
      return { status: 'failed', reason: 'invalid_challenge' };
    }
    const keys = { account: row.throttle_key, address: throttleKeys(projectId, '', context.ip).address };
    const retryAfterSeconds = await this.throttle.retryAfterSeconds(keys);
    if (retryAfterSeconds > 0) return { status: 'locked', retryAfterSeconds };

    const user = await this.repo.getUser(projectId, row.user_id);
    const amr =
      user?.status === 'active' ? await this.checkFactor(user, factor, row.first_factor ?? 'pwd') : null;
    if (!amr) {
      await this.throttle.recordFailure(keys);
      return { status: 'failed', reason: 'invalid_code' };
    }
    await this.repo.deleteChallenge(tokenHash);
    await this.throttle.recordSuccess(keys);
    return { status: 'ok', userId: row.user_id, amr };
  }

  /**
   * Checks a TOTP code of a signed-in user (confirming enrollment with the pending secret, or proving the
   * factor before changing it). Failures back off like sign-ins, per user, so a stolen session cannot
   * guess its way to disabling the factor.
   */
  async checkSessionTotp(
    user: IdentityUsersTable,
    code: string,
    secretColumn: 'totp_secret' | 'totp_pending_secret',
  ): Promise<boolean> {
    return this.throttledSessionCheck(user, () => this.checkTotp(user, code, secretColumn));
  }

  /**
   * Consumes one of a signed-in user's recovery codes (step-up without the authenticator app); throttled
   * together with checkSessionTotp.
   */
  checkSessionRecoveryCode(user: IdentityUsersTable, recoveryCode: string): Promise<boolean> {
    return this.throttledSessionCheck(user, () =>
      this.repo.consumeRecoveryCode(user.id, recoveryCodeHash(recoveryCode)),
    );
  }

  private async throttledSessionCheck(
    user: IdentityUsersTable,
    check: () => Promise<boolean>,
  ): Promise<boolean> {
    const keys = sessionFactorKeys(user.project_id, user.id);
    const retryAfterSeconds = await this.throttle.retryAfterSeconds(keys);
    if (retryAfterSeconds > 0) {
      throw new Problem('rate-limited', `Too many wrong codes; retry in ${retryAfterSeconds} s.`, {
        headers: { 'retry-after': String(retryAfterSeconds) },
        extensions: { code: 'locked', retryAfterSeconds },
      });
    }
    const valid = await check();
    if (valid) await this.throttle.recordSuccess(keys);
    else await this.throttle.recordFailure(keys);
    return valid;
  }

  /** Whether the code matches the secret and its time step is later than any accepted before (no replay). */
  private async checkTotp(
    user: IdentityUsersTable,
    code: string,
    secretColumn: 'totp_secret' | 'totp_pending_secret',
  ): Promise<boolean> {
    const sealed = user[secretColumn];
    if (!sealed) return false;
    const secret = await this.totpSecrets.open(sealed, user.id);
    const step = totpStep(secret, code, this.now());
    return step !== null && (await this.repo.claimTotpStep(user.id, step));
  }

  /** The amr of a valid second factor, or null. */
  private async checkFactor(
    user: IdentityUsersTable,
    factor: SecondFactor,
    firstFactor: string,
  ): Promise<string[] | null> {
    // Two factors always carry `mfa`; an emailed code then TOTP is two one-time passwords.
    if ('code' in factor)
      return (await this.checkTotp(user, factor.code, 'totp_secret'))
        ? [...new Set([firstFactor, 'otp']), ...(firstFactor === 'pwd' ? [] : ['mfa'])]
        : null;
    return (await this.repo.consumeRecoveryCode(user.id, recoveryCodeHash(factor.recoveryCode)))
      ? [...new Set([firstFactor, 'mfa'])]
      : null;
  }
}
