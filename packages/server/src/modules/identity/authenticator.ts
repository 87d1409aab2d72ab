import { randomBytes, toBase64Url } from '@personachain/crypto';
import { Problem } from '../../http/problem.js';
import type { IdentityUsersTable } from '../../store/schema.js';
import type { SignInContext } from './adaptive-mfa.js';
import type { EmailSecondFactor } from './email-second-factor.js';
import { identifierColumn, normalizeIdentifier } from './identifiers.js';
import type { PasswordHasher } from './passwords.js';
import type { IdentityPolicies } from './policies.js';
import type { IdentityRepo } from './repo.js';
import type { RiskGate } from './risk-gate.js';
import type { IdentityPolicyValue, RiskPolicyValue } from './schemas.js';
import type { SecretBox } from './secret-box.js';
import { hashToken } from './sessions.js';
import { type LoginThrottle, sessionFactorKeys, throttleKeys } from './throttle.js';
import { recoveryCodeHash, totpStep } from './totp.js';

const CHALLENGE_TTL_MS = 5 * 60_000;
const CHALLENGE_MAX_ATTEMPTS = 5;

/** How a challenge may be answered: the user's TOTP or a recovery code, or a code emailed for it. */
export type SecondFactorMethod = 'totp' | 'recovery_code' | 'email_code';

/** The result of checking a password. Failure reasons are the same for unknown and known accounts. */
export type PasswordOutcome =
  | { status: 'ok'; userId: string; amr: string[]; mfaEnrollmentRequired: boolean }
  | {
      status: 'mfa_required';
      userId: string;
      challenge: string;
      methods: SecondFactorMethod[];
      reason?: string;
    }
  | { status: 'failed'; reason: 'invalid_credentials' | 'disabled' | 'second_factor_unavailable' }
  | { status: 'locked'; retryAfterSeconds: number };

export type SecondFactorOutcome =
  | { status: 'ok'; userId: string; amr: string[] }
  | { status: 'failed'; reason: 'invalid_code' | 'invalid_challenge' }
  | { status: 'locked'; retryAfterSeconds: number };

/** A code of the user's authenticator app, or one of their recovery codes. */
export type TotpFactor = { code: string } | { recoveryCode: string };

/** A TOTP factor, or (adaptive MFA, for a user without TOTP) the code emailed for the challenge. */
export type SecondFactor = TotpFactor | { emailCode: string };

/** Where a sign-in attempt comes from: its address, and the browser's device cookie when it sent one. */
export interface AttemptContext {
  ip: string;
  deviceId?: string | null;
}

/** What may follow a first factor: a session, a second-factor challenge, or adaptive MFA's refusal. */
export type FirstFactorOutcome = Exclude<PasswordOutcome, { status: 'locked' }>;

/** Checks first and second factors, with brute-force protection. Creates no session. */
export class Authenticator {
  /** Set once the server sends email (see useEmailSecondFactor). */
  private emailSecondFactor: EmailSecondFactor | null = null;

  constructor(
    private readonly repo: IdentityRepo,
    private readonly hasher: PasswordHasher,
    private readonly throttle: LoginThrottle,
    private readonly policies: IdentityPolicies,
    private readonly totpSecrets: SecretBox,
    private readonly now: () => Date,
    private readonly riskGate: RiskGate,
  ) {}

  /** Lets adaptive MFA email a code to users without TOTP (EmailCodes is built after this). */
  useEmailSecondFactor(emailSecondFactor: EmailSecondFactor): void {
    this.emailSecondFactor = emailSecondFactor;
  }

  /**
   * A user proved their mailbox `email` (normalized; an emailed sign-in code or link, which the caller
   * checked `policy` allows): continues like a password sign-in, weighing the failures counted for it.
   */
  async mailboxFirstFactor(
    user: IdentityUsersTable,
    email: string,
    policy: IdentityPolicyValue,
    context: AttemptContext,
  ): Promise<FirstFactorOutcome> {
    const keys = throttleKeys(user.project_id, email, context.ip);
    return this.firstFactorPassed(user, policy, 'otp', keys.account, {
      ip: context.ip,
      deviceId: context.deviceId ?? null,
      recentFailures: await this.throttle.failures(keys.account),
    });
  }

  async authenticate(
    projectId: string,
    credentials: { identifier: string; password: string },
    context: AttemptContext,
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
    // Read before the success clears the counter: adaptive MFA weighs the failures that preceded it.
    const recentFailures = await this.throttle.failures(keys.account);
    if (!user.totp_secret) await this.throttle.recordSuccess(keys);
    return this.firstFactorPassed(user, await this.policies.get(projectId), 'pwd', keys.account, {
      ip: context.ip,
      deviceId: context.deviceId ?? null,
      recentFailures,
    });
  }

  /**
   * After a first factor (a password, or an emailed code): the second-factor challenge when the user
   * has TOTP, so no first factor bypasses it, else the sign-in's amr. In a project whose MFA is adaptive
   * the risk of the sign-in decides instead (see adaptiveFirstFactor).
   */
  private async firstFactorPassed(
    user: IdentityUsersTable,
    policy: IdentityPolicyValue,
    firstFactor: 'pwd' | 'otp',
    throttleKey: string,
    attempt: SignInContext,
  ): Promise<FirstFactorOutcome> {
    if (policy.mfa === 'adaptive') {
      return this.adaptiveFirstFactor(user, firstFactor, throttleKey, attempt, policy.risk);
    }
    if (user.totp_secret) return this.challenge(user, firstFactor, throttleKey);
    return {
      status: 'ok',
      userId: user.id,
      amr: [firstFactor],
      mfaEnrollmentRequired: policy.mfa === 'required',
    };
  }

  /**
   * Adaptive MFA: below the project's threshold the first factor suffices, even for a user with TOTP;
   * at or above it the user's TOTP (or a recovery code) is asked for, else a code emailed to their
   * verified address (unless the first factor was that mailbox already), and without either the sign-in
   * is refused. A sign-in that completes here is remembered at once; one that is challenged, when its
   * second factor succeeds.
   */
  private async adaptiveFirstFactor(
    user: IdentityUsersTable,
    firstFactor: 'pwd' | 'otp',
    throttleKey: string,
    attempt: SignInContext,
    risk: RiskPolicyValue | undefined,
  ): Promise<FirstFactorOutcome> {
    const email =
      user.totp_secret === null && firstFactor === 'pwd' && this.emailSecondFactor?.availableFor(user)
        ? this.emailSecondFactor
        : null;
    const gate = await this.riskGate.decide(
      user.project_id,
      user.id,
      risk,
      attempt,
      user.totp_secret !== null || email !== null,
    );
    switch (gate.verdict) {
      case 'refused':
        return { status: 'failed', reason: 'second_factor_unavailable' };
      case 'second_factor': {
        const methods: SecondFactorMethod[] = email ? ['email_code'] : ['totp', 'recovery_code'];
        const challenge = await this.challenge(user, firstFactor, throttleKey, methods);
        // When the send limits refuse, a code sent moments ago is still live and works for this challenge.
        if (email) await email.send(user, attempt.ip);
        return { ...challenge, reason: gate.message };
      }
      case 'allow':
        // The TOTP user's counter was left for the second factor to clear; none follows.
        await this.throttle.recordSuccess({ account: throttleKey });
        await this.riskGate.remember(user.project_id, user.id, attempt, gate.location);
        return { status: 'ok', userId: user.id, amr: [firstFactor], mfaEnrollmentRequired: false };
    }
  }

  private async challenge(
    user: IdentityUsersTable,
    firstFactor: 'pwd' | 'otp',
    throttleKey: string,
    methods: SecondFactorMethod[] = ['totp', 'recovery_code'],
  ): Promise<Extract<PasswordOutcome, { status: 'mfa_required' }>> {
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
    return { status: 'mfa_required', userId: user.id, challenge, methods };
  }

  /** Completes a login that answered mfa_required. A challenge allows a few attempts, then dies. */
  async verifySecondFactor(
    projectId: string,
    challenge: string,
    factor: SecondFactor,
    context: AttemptContext,
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
    if ((await this.policies.get(projectId)).mfa === 'adaptive') {
      await this.riskGate.remember(projectId, row.user_id, {
        ip: context.ip,
        deviceId: context.deviceId ?? null,
      });
    }
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

  /** Checks a signed-in user's password (re-authentication); throttled together with checkSessionTotp. */
  checkSessionPassword(user: IdentityUsersTable, password: string): Promise<boolean> {
    return this.throttledSessionCheck(user, async () =>
      user.password_hash ? this.hasher.verify(user.password_hash, password) : false,
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
    // Only ever asked for after a password (see adaptiveFirstFactor), and only works while one is live.
    if ('emailCode' in factor) {
      const email = this.emailSecondFactor;
      return firstFactor === 'pwd' && email && (await email.check(user, factor.emailCode))
        ? ['pwd', 'otp', 'mfa']
        : null;
    }
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
