import type { Kysely } from 'kysely';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { Database, IdentitySessionsTable, IdentityUsersTable } from '../../store/schema.js';
import type { AuditEvent, AuditService } from '../audit/service.js';
import type { RecordWriter } from '../ledger/sequencer.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import { AdaptiveMfa } from './adaptive-mfa.js';
import {
  type AttemptContext,
  Authenticator,
  type FirstFactorOutcome,
  type PasswordOutcome,
  type SecondFactor,
  type SecondFactorOutcome,
  type TotpFactor,
} from './authenticator.js';
import type { EmailSecondFactor } from './email-second-factor.js';
import { auditHash, normalizeIdentifier } from './identifiers.js';
import { passwordWeakness } from './password-policy.js';
import { type Argon2Parameters, OWASP_ARGON2, PasswordHasher } from './passwords.js';
import { IdentityPolicies } from './policies.js';
import { IdentityRepo, type UserFilter } from './repo.js';
import { RiskGate, type RiskLogger } from './risk-gate.js';
import {
  type CreateUserInput,
  DEFAULT_RISK_THRESHOLD,
  type IdentityPolicyValue,
  type SessionView,
  type UpdateUserInput,
  type UserView,
} from './schemas.js';
import { SecretBox } from './secret-box.js';
import { type ActiveSession, Sessions, toSessionView } from './sessions.js';
import { describeSignIns, SignInHistory, type SignInView } from './sign-in-history.js';
import { DEFAULT_THROTTLE, LoginThrottle, type ThrottleOptions } from './throttle.js';
import { base32Of, newRecoveryCodes, newTotpSecret, otpauthUri, recoveryCodeHash } from './totp.js';
import type { UserCondition } from './user-conditions.js';

export interface IdentityOptions {
  /** Argon2id cost; OWASP's parameters unless a test asks for cheaper ones. */
  argon2: Argon2Parameters;
  throttle: ThrottleOptions;
  /** The issuer shown in authenticator apps. */
  totpIssuer: string;
  now: () => Date;
  /** Where adaptive MFA logs its decisions (at info). */
  logRisk: RiskLogger;
}

/** How long a self-registration may wait for its email to be confirmed before it is purged. */
export const PENDING_REGISTRATION_TTL_MS = 24 * 3_600_000;

export const DEFAULT_IDENTITY_OPTIONS: IdentityOptions = {
  argon2: OWASP_ARGON2,
  throttle: DEFAULT_THROTTLE,
  totpIssuer: 'PersonaChain',
  now: () => new Date(),
  logRisk: () => {},
};

/** OpenID Connect standard claims of a user (OIDC Core 5.1). */
export interface StandardClaims {
  sub: string;
  preferred_username?: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  /** The user's primary DID (scope `did`), from the wallet module. */
  did?: string;
}

/** An active user as the OIDC provider reads it. */
export interface UserAccount {
  accountId: string;
  claims(): Promise<StandardClaims>;
}

/** Claims another module keeps about a user (their DID), added to the OIDC claims. */
export type ClaimSource = (projectId: string, userId: string) => Promise<Partial<StandardClaims>>;

export interface SignedInSession {
  token: string;
  session: SessionView;
}

function toUserView(row: IdentityUsersTable): UserView {
  return {
    id: row.id,
    projectId: row.project_id,
    username: row.username,
    email: row.email,
    emailVerified: row.email_verified === 1,
    displayName: row.display_name,
    status: row.status === 'disabled' || row.status === 'pending' ? row.status : 'active',
    totpEnabled: row.totp_secret !== null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A user as a provisioning client (SCIM) sees it: with the IdP's id and the version its ETag names. */
export interface ProvisionedUser extends UserView {
  externalId: string | null;
  version: number;
}

/** Everything a provisioning client sets on a user; what it leaves out is cleared. */
export interface ProvisionedFields {
  username: string;
  email: string | null;
  displayName: string | null;
  externalId: string | null;
  active: boolean;
}

function toProvisionedUser(row: IdentityUsersTable): ProvisionedUser {
  return { ...toUserView(row), externalId: row.external_id, version: Number(row.version) };
}

/**
 * Removes what another module keeps about a user, in the erasing transaction (`db`). What must wait for the
 * erase to commit (work outside the database transaction, e.g. retiring KeyStore keys) it returns, to be
 * run then.
 */
export type UserEraseListener = (
  db: Kysely<Database>,
  projectId: string,
  userId: string,
) => Promise<void | (() => Promise<void>)>;

/**
 * Removes the user's passkeys in the transaction of `db` (an admin reset or the user's "sign out
 * everywhere" that asks for it); returns how many went.
 */
export type PasskeyRemover = (db: Kysely<Database>, projectId: string, userId: string) => Promise<number>;

/** Who may write users: the admin API's scope, or a provisioning client's. */
export type UserWriteScope = 'users:write' | 'scim:write';

/** Throws validation-error when the password breaks the project's password policy. */
function requireStrongPassword(
  password: string,
  policy: IdentityPolicyValue,
  identifiers: Array<string | null | undefined>,
): void {
  const weakness = passwordWeakness(password, policy.password, identifiers);
  if (!weakness) return;
  throw new Problem('validation-error', `The password is too weak: ${weakness.detail}`, {
    errors: [{ in: 'body', pointer: '#/password', detail: weakness.detail }],
    extensions: { code: `password_${weakness.code}` },
  });
}

/** A username or email another user of the project already has. */
function identifierTaken(column: 'username_normalized' | 'email_normalized'): Problem {
  const field = column === 'email_normalized' ? 'email' : 'username';
  return new Problem('conflict', `A user with this ${field} already exists in the project.`);
}

/** What a self-registration gives. */
interface RegistrationInput {
  username?: string | undefined;
  email?: string | undefined;
  displayName?: string | undefined;
  password: string;
}

function versionMismatch(): Problem {
  return new Problem('precondition-failed', 'The user was changed since the version given; read it again.');
}

/**
 * End users of projects: registration, password and TOTP sign-in, sessions, and the admin API. Every
 * change is audited in its own transaction; audit details hold ids and hashes, never personal data.
 */
export class IdentityService {
  private readonly hasher: PasswordHasher;
  private readonly policies: IdentityPolicies;
  private readonly authenticator: Authenticator;
  private readonly totpSecrets: SecretBox;
  readonly sessions: Sessions;
  /** Adaptive MFA's memory of completed sign-ins. */
  private readonly signInHistory: SignInHistory;
  private readonly riskGate: RiskGate;
  /** The clock sessions and codes are checked against. */
  readonly now: () => Date;
  private readonly totpIssuer: string;
  /** Run inside the transaction that erases a user, for what other modules keep about users. */
  private readonly eraseListeners: UserEraseListener[] = [];
  private readonly passkeyRemovers: PasskeyRemover[] = [];
  private readonly claimSources: ClaimSource[] = [];
  /** Stores the sessions sign-ins open, in the ledger's transaction with their audit rows. */
  private readonly sessionWriter: RecordWriter<IdentitySessionsTable> = {
    write: (db, rows) => new IdentityRepo(db).insertSessions(rows.map(({ row }) => row)),
  };

  constructor(
    private readonly repo: IdentityRepo,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    masterKey: Uint8Array,
    options: Partial<IdentityOptions> = {},
  ) {
    const settings = { ...DEFAULT_IDENTITY_OPTIONS, ...options };
    this.now = settings.now;
    this.totpIssuer = settings.totpIssuer;
    this.hasher = new PasswordHasher(settings.argon2);
    this.policies = new IdentityPolicies(repo);
    this.totpSecrets = new SecretBox(masterKey, 'identity totp secret');
    this.sessions = new Sessions(repo, this.policies, this.now);
    this.signInHistory = new SignInHistory(repo.db, masterKey, this.now);
    this.riskGate = new RiskGate(
      new AdaptiveMfa(this.signInHistory, this.now),
      (event) => this.audit.recordAlone(event),
      settings.logRisk,
    );
    this.authenticator = new Authenticator(
      repo,
      this.hasher,
      new LoginThrottle(repo, settings.throttle, this.now),
      this.policies,
      this.totpSecrets,
      this.now,
      this.riskGate,
    );
    this.onUserErased((db, projectId, userId) => this.signInHistory.erase(db, projectId, userId));
  }

  /** The Argon2id parameters new hashes are made with. */
  get argon2(): Argon2Parameters {
    return this.hasher.parameters;
  }

  private async audited<T>(
    work: (repo: IdentityRepo) => Promise<T>,
    events: (result: T) => AuditEvent[],
  ): Promise<T> {
    const result = await this.repo.transaction(async (repo) => {
      const done = await work(repo);
      for (const event of events(done)) await this.audit.record(repo.db, event);
      return done;
    });
    this.audit.committed();
    return result;
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  // ---- for the OIDC provider and the end-user API ----

  /** Lets adaptive MFA email a code to a user without TOTP whose sign-in is risky. */
  useEmailSecondFactor(emailSecondFactor: EmailSecondFactor): void {
    this.authenticator.useEmailSecondFactor(emailSecondFactor);
  }

  /** Checks a password sign-in; see PasswordOutcome. Creates no session. */
  authenticate(
    projectId: string,
    credentials: { identifier: string; password: string },
    context: AttemptContext,
  ): Promise<PasswordOutcome> {
    return this.authenticator.authenticate(projectId, credentials, context);
  }

  verifySecondFactor(
    projectId: string,
    challenge: string,
    factor: SecondFactor,
    context: AttemptContext,
  ): Promise<SecondFactorOutcome> {
    return this.authenticator.verifySecondFactor(projectId, challenge, factor, context);
  }

  /**
   * A user proved their mailbox with an emailed sign-in code or link: the sign-in continues like a
   * password one (a TOTP user still gets the second-factor challenge). Null unless the project allows
   * email sign-in and the user's email was verified before (an address an admin typed in unverified
   * is no way into the account).
   */
  async emailFirstFactor(
    projectId: string,
    userId: string,
    context: AttemptContext,
  ): Promise<FirstFactorOutcome | null> {
    const user = await this.repo.getUser(projectId, userId);
    if (user?.status !== 'active' || !user.email_normalized || user.email_verified !== 1) return null;
    const policy = await this.policies.get(projectId);
    if (policy.emailSignIn !== true) return null;
    // In an adaptive project a risky sign-in without TOTP is refused (`failed`): its mailbox was the factor.
    return this.authenticator.mailboxFirstFactor(user, user.email_normalized, policy, context);
  }

  /** Whether the project's MFA is adaptive: its sign-ins carry the device cookie and are remembered. */
  async usesAdaptiveMfa(projectId: string): Promise<boolean> {
    return (await this.policies.get(projectId)).mfa === 'adaptive';
  }

  /**
   * Remembers a sign-in that needs no risk decision (a passkey: already multi-factor) when the project's
   * MFA is adaptive; true when it did, so the caller refreshes the device cookie.
   */
  async rememberSignIn(
    projectId: string,
    userId: string,
    context: { ip: string; deviceId: string },
  ): Promise<boolean> {
    if (!(await this.usesAdaptiveMfa(projectId))) return false;
    await this.riskGate.remember(projectId, userId, context);
    return true;
  }

  /** Records that the user reads their email address (audited once, when it changes). */
  async markEmailVerified(
    projectId: string,
    userId: string,
    method: 'email_code' | 'email_link',
  ): Promise<void> {
    const user = await this.liveUser(projectId, userId);
    if (user.email_verified === 1) return;
    // Proving the mailbox is what a pending self-registration waits for.
    const activate = user.status === 'pending' ? { status: 'active' } : {};
    await this.audited(
      (repo) =>
        repo.updateUser(projectId, userId, { email_verified: 1, ...activate, updated_at: this.timestamp() }),
      () => [
        this.event('user.email_verified', null, projectId, userId, userId, {
          method,
          emailHash: auditHash(projectId, user.email),
        }),
      ],
    );
  }

  /**
   * The active user by that id, or null: one read. The claims other modules keep (the DID) are read when
   * `claims()` is called: the OIDC provider checks that the account still exists on every request of a
   * session, and releases claims only into ID tokens and userinfo.
   */
  async findAccount(projectId: string, userId: string): Promise<UserAccount | null> {
    const row = await this.repo.getUser(projectId, userId);
    if (row?.status !== 'active') return null;
    const own: StandardClaims = {
      sub: row.id,
      ...(row.username ? { preferred_username: row.username } : {}),
      ...(row.email ? { email: row.email, email_verified: row.email_verified === 1 } : {}),
      ...(row.display_name ? { name: row.display_name } : {}),
    };
    return {
      accountId: row.id,
      claims: async () => {
        const claims = { ...own };
        for (const source of this.claimSources) Object.assign(claims, await source(projectId, row.id));
        return claims;
      },
    };
  }

  /** Registers claims another module adds to the user's (the provider releases them per scope). */
  addClaimSource(source: ClaimSource): void {
    this.claimSources.push(source);
  }

  // ---- end users ----

  async register(projectId: string, input: RegistrationInput): Promise<UserView> {
    const row = await this.newUserRow(projectId, input, await this.registrationPolicy(projectId));
    return this.audited(
      async (repo) => {
        await this.insertUnique(repo, row);
        return toUserView(row);
      },
      () => [this.userEvent('user.registered', null, projectId, row.id, row)],
    );
  }

  /** The policy of a project that exists and allows self-registration. */
  private async registrationPolicy(projectId: string): Promise<IdentityPolicyValue> {
    if (!(await this.tenancy.projectExists(projectId))) throw new Problem('not-found', 'No such project.');
    const policy = await this.policies.get(projectId);
    if (!policy.registration) {
      throw new Problem('forbidden', 'This project does not allow self-registration.');
    }
    return policy;
  }

  /** Whether the project lets users with a verified email sign in with an emailed code or link. */
  async emailSignInAllowed(projectId: string): Promise<boolean> {
    return (await this.policies.get(projectId)).emailSignIn === true;
  }

  /** Whether self-registration in the project waits for a confirmed email (see registerPending). */
  async registrationVerifiesEmail(projectId: string): Promise<boolean> {
    return (await this.policies.get(projectId)).registrationVerifiesEmail === true;
  }

  /**
   * Self-registration that waits for the email: a new address gets a pending user (no sign-in until the
   * emailed code is confirmed together with the password chosen here, see confirmPending); a pending one
   * is left as it is (its code is mailed again) — replacing its password would let the mailbox owner
   * confirm a password someone else chose; an address of a settled account creates nothing and names
   * that account so its owner can be told. The password is hashed on every path, so they take about as
   * long. A taken username is still a conflict: it is not an email. Two registrations of one new address
   * racing each other both answer alike: the loser finds the winner's pending row.
   */
  async registerPending(
    projectId: string,
    input: RegistrationInput,
  ): Promise<{ userId: string; taken: boolean }> {
    const policy = await this.registrationPolicy(projectId);
    if (input.email === undefined) {
      throw new Problem('validation-error', 'Registration needs an email address here.', {
        errors: [{ in: 'body', pointer: '#/email', detail: 'email is required' }],
      });
    }
    const row = { ...(await this.newUserRow(projectId, input, policy)), status: 'pending' };
    const email = row.email_normalized as string;
    try {
      return await this.audited(
        async (repo) => {
          const existing = await repo.findUserBy(projectId, 'email_normalized', email);
          if (existing) return { userId: existing.id, taken: existing.status !== 'pending', created: false };
          if (row.username_normalized !== null) {
            if (await repo.findUserBy(projectId, 'username_normalized', row.username_normalized)) {
              throw identifierTaken('username_normalized');
            }
          }
          await repo.insertUser(row);
          return { userId: row.id, taken: false, created: true };
        },
        ({ created }) => (created ? [this.userEvent('user.registered', null, projectId, row.id, row)] : []),
      ).then(({ userId, taken }) => ({ userId, taken }));
    } catch (error) {
      // A concurrent registration inserted the address first (unique index): answer as if it were found.
      const code = (error as { code?: unknown }).code;
      if (code !== '23505' && code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
      const winner = await this.repo.findUserBy(projectId, 'email_normalized', email);
      if (!winner) throw identifierTaken('username_normalized');
      return { userId: winner.id, taken: winner.status !== 'pending' };
    }
  }

  /**
   * Whether `password` is the one chosen by the pending registration of `userId` — what confirming a
   * registration asks besides the emailed code, so that a mailbox owner can never activate a password
   * someone else registered with their address.
   */
  async pendingPasswordMatches(projectId: string, userId: string | null, password: string): Promise<boolean> {
    // No pending registration still spends one verification, so the answer's timing tells nothing.
    const user = userId === null ? undefined : await this.repo.getUser(projectId, userId);
    if (user?.status !== 'pending' || !user.password_hash) return this.hasher.verifyNothing(password);
    return this.hasher.verify(user.password_hash, password);
  }

  /** Opens a session after a successful sign-in. */
  async startSession(
    projectId: string,
    userId: string,
    amr: string[],
    restricted: boolean,
  ): Promise<SignedInSession> {
    const { token, row } = await this.sessions.open(projectId, userId, amr, restricted);
    // Written with its audit row in the ledger's transaction: a sign-in shares its commit and disk sync
    // with the acts recorded at the same time, instead of a transaction and a ledger queue entry of its own.
    await this.audit.recordWith(
      {
        type: 'session.created',
        orgId: null,
        projectId,
        actor: userId,
        subject: row.id,
        details: { userId, amr, restricted },
      },
      { writer: this.sessionWriter, row },
    );
    return { token, session: toSessionView(row) };
  }

  /**
   * Proves a second factor within a session signed in with a password alone (step-up for an OIDC request
   * asking for it): a TOTP code, or a recovery code, which is consumed. Returns the session's new amr,
   * or null for a wrong code; throws 429 while the user's wrong codes back off.
   */
  async stepUpSession(session: ActiveSession, factor: TotpFactor): Promise<string[] | null> {
    const user = await this.liveUser(session.projectId, session.userId);
    if (!user.totp_secret) return null;
    const proven =
      'code' in factor
        ? await this.authenticator.checkSessionTotp(user, factor.code, 'totp_secret')
        : await this.authenticator.checkSessionRecoveryCode(user, factor.recoveryCode);
    if (!proven) return null;
    const method = 'code' in factor ? 'totp' : 'recovery_code';
    // After an emailed code (amr `otp` without `pwd`), a TOTP code is a second one-time password: `mfa`.
    const secondFactor = session.amr.includes('pwd') ? [] : ['mfa'];
    const amr = [...new Set([...session.amr, 'code' in factor ? 'otp' : 'mfa', ...secondFactor])];
    await this.audited(
      (repo) => repo.updateSession(session.id, { amr: JSON.stringify(amr) }),
      () => [this.event('session.stepped_up', null, session.projectId, user.id, session.id, { amr, method })],
    );
    return amr;
  }

  /**
   * Proves the user again within a session (recent authentication before adding a passkey): the password,
   * or a TOTP code of a user with TOTP, throttled like step-up codes. Moves the session's auth_time to now
   * and adds the method to its amr (`otp`, with `mfa` after an emailed code, as in stepUpSession). Returns
   * the refreshed session, or null for a wrong password or code.
   */
  async reauthenticateSession(
    session: ActiveSession,
    proof: { password: string } | { code: string },
  ): Promise<ActiveSession | null> {
    const user = await this.liveUser(session.projectId, session.userId);
    const proven =
      'password' in proof
        ? await this.authenticator.checkSessionPassword(user, proof.password)
        : user.totp_secret !== null &&
          (await this.authenticator.checkSessionTotp(user, proof.code, 'totp_secret'));
    if (!proven) return null;
    const added = 'password' in proof ? ['pwd'] : ['otp', ...(session.amr.includes('pwd') ? [] : ['mfa'])];
    const amr = [...new Set([...session.amr, ...added])];
    const authTime = this.timestamp();
    const method = 'password' in proof ? 'password' : 'totp';
    await this.audited(
      (repo) => repo.updateSession(session.id, { amr: JSON.stringify(amr), auth_time: authTime }),
      () => [
        this.event('session.reauthenticated', null, session.projectId, user.id, session.id, { amr, method }),
      ],
    );
    return { ...session, amr, authTime };
  }

  /** Whether the project has an active user by that id (no claims gathered). */
  async isActiveUser(projectId: string, userId: string): Promise<boolean> {
    return (await this.repo.getUser(projectId, userId))?.status === 'active';
  }

  async account(session: ActiveSession): Promise<UserView> {
    return toUserView(await this.liveUser(session.projectId, session.userId));
  }

  async changePassword(session: ActiveSession, currentPassword: string, newPassword: string): Promise<void> {
    const user = await this.liveUser(session.projectId, session.userId);
    if (!user.password_hash || !(await this.hasher.verify(user.password_hash, currentPassword))) {
      throw new Problem('forbidden', 'The current password is wrong.');
    }
    const policy = await this.policies.get(session.projectId);
    requireStrongPassword(newPassword, policy, [user.username, user.email]);
    const hash = await this.hasher.hash(newPassword);
    await this.audited(
      async (repo) => {
        await repo.updateUser(session.projectId, user.id, {
          password_hash: hash,
          updated_at: this.timestamp(),
        });
        // Everyone else signed in with the old password is signed out.
        return repo.deleteSessions(session.projectId, user.id, session.id);
      },
      (revoked) => [
        this.event('user.password_changed', null, session.projectId, user.id, user.id, {
          sessionsRevoked: revoked,
        }),
      ],
    );
  }

  async signOut(session: ActiveSession): Promise<void> {
    await this.audited(
      (repo) => repo.deleteSession(session.projectId, session.userId, session.id),
      () => [this.event('session.revoked', null, session.projectId, session.userId, session.id)],
    );
  }

  async revokeOwnSession(session: ActiveSession, sessionId: string): Promise<void> {
    await this.revokeSession(session.userId, null, session.projectId, session.userId, sessionId);
  }

  /** Signs out everywhere, this session included. */
  async revokeOwnSessions(
    session: ActiveSession,
    options: { removePasskeys?: boolean } = {},
  ): Promise<number> {
    return this.revokeSessions(session.userId, null, session.projectId, session.userId, options);
  }

  // ---- TOTP ----

  /** Starts (or restarts) enrollment: a new secret, returned once, confirmed by a first code. */
  async beginTotp(session: ActiveSession): Promise<{ otpauthUri: string; secret: string }> {
    const user = await this.liveUser(session.projectId, session.userId);
    if (user.totp_secret) throw new Problem('conflict', 'TOTP is already enabled; disable it first.');
    const secret = newTotpSecret();
    await this.repo.updateUser(session.projectId, user.id, {
      totp_pending_secret: await this.totpSecrets.seal(secret, user.id),
    });
    return this.totpEnrollment(user, secret);
  }

  /** The enrollment in progress (not confirmed yet), to show again after a wrong first code; null if none. */
  async pendingTotp(session: ActiveSession): Promise<{ otpauthUri: string; secret: string } | null> {
    const user = await this.liveUser(session.projectId, session.userId);
    if (user.totp_secret || !user.totp_pending_secret) return null;
    return this.totpEnrollment(user, await this.totpSecrets.open(user.totp_pending_secret, user.id));
  }

  private totpEnrollment(
    user: IdentityUsersTable,
    secret: Uint8Array,
  ): { otpauthUri: string; secret: string } {
    const label = user.username ?? user.email ?? user.id;
    return { otpauthUri: otpauthUri(secret, this.totpIssuer, label), secret: base32Of(secret) };
  }

  /** Confirms enrollment with a first code; returns the recovery codes, shown only now. */
  async confirmTotp(session: ActiveSession, code: string): Promise<string[]> {
    const user = await this.liveUser(session.projectId, session.userId);
    if (!user.totp_pending_secret) throw new Problem('conflict', 'Start TOTP enrollment first.');
    if (!(await this.authenticator.checkSessionTotp(user, code, 'totp_pending_secret'))) {
      throw new Problem('forbidden', 'The code is wrong or was already used.');
    }
    const codes = newRecoveryCodes();
    await this.audited(
      async (repo) => {
        await repo.updateUser(session.projectId, user.id, {
          totp_secret: user.totp_pending_secret,
          totp_pending_secret: null,
          updated_at: this.timestamp(),
        });
        await repo.replaceRecoveryCodes(user.id, codes.map(recoveryCodeHash));
        // The session that proved the new factor is now a two-factor session.
        const amr = [...new Set([...session.amr, 'otp'])];
        await repo.updateSession(session.id, { amr: JSON.stringify(amr), restricted: 0 });
      },
      () => [this.event('user.mfa_enrolled', null, session.projectId, user.id, user.id)],
    );
    return codes;
  }

  async regenerateRecoveryCodes(session: ActiveSession, code: string): Promise<string[]> {
    const user = await this.userWithTotp(session, code);
    const codes = newRecoveryCodes();
    await this.audited(
      (repo) => repo.replaceRecoveryCodes(user.id, codes.map(recoveryCodeHash)),
      () => [this.event('user.recovery_codes_regenerated', null, session.projectId, user.id, user.id)],
    );
    return codes;
  }

  async disableTotp(session: ActiveSession, code: string): Promise<void> {
    const user = await this.userWithTotp(session, code);
    if ((await this.policies.get(session.projectId)).mfa === 'required') {
      throw new Problem('conflict', 'This project requires TOTP; it cannot be disabled.');
    }
    await this.audited(
      (repo) => this.clearTotp(repo, session.projectId, user.id),
      () => [this.event('user.mfa_disabled', null, session.projectId, user.id, user.id)],
    );
  }

  private async userWithTotp(session: ActiveSession, code: string): Promise<IdentityUsersTable> {
    const user = await this.liveUser(session.projectId, session.userId);
    if (!user.totp_secret) throw new Problem('conflict', 'TOTP is not enabled.');
    if (!(await this.authenticator.checkSessionTotp(user, code, 'totp_secret'))) {
      throw new Problem('forbidden', 'The code is wrong or was already used.');
    }
    return user;
  }

  private async clearTotp(repo: IdentityRepo, projectId: string, userId: string): Promise<void> {
    await repo.updateUser(projectId, userId, {
      totp_secret: null,
      totp_pending_secret: null,
      updated_at: this.timestamp(),
    });
    await repo.deleteRecoveryCodes(userId);
  }

  // ---- admin API ----

  async createUser(principal: Principal, projectId: string, input: CreateUserInput): Promise<UserView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:write');
    const policy = await this.policies.get(project.id);
    const row = await this.newUserRow(project.id, input, policy);
    return this.audited(
      async (repo) => {
        await this.insertUnique(repo, row, { replacePending: true });
        return toUserView(row);
      },
      () => [this.userEvent('user.created', project.orgId, project.id, principal.keyId, row)],
    );
  }

  async listUsers(
    principal: Principal,
    projectId: string,
    query: {
      limit: number;
      cursor?: string | undefined;
      email?: string;
      username?: string;
      status?: 'active' | 'disabled';
    },
  ): Promise<Page<UserView>> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:read');
    const after = decodeCursor(query.cursor, /^usr_[0-9a-f]{32}$/);
    const filter: UserFilter = {
      emailPrefix: query.email === undefined ? undefined : normalizeIdentifier(query.email),
      usernamePrefix: query.username === undefined ? undefined : normalizeIdentifier(query.username),
      status: query.status,
    };
    const rows = await this.repo.listUsers(project.id, filter, { after, limit: query.limit + 1 });
    return toPage(rows.map(toUserView), query.limit);
  }

  async getUser(principal: Principal, projectId: string, userId: string): Promise<UserView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:read');
    return toUserView(await this.liveUser(project.id, userId));
  }

  async updateUser(
    principal: Principal,
    projectId: string,
    userId: string,
    input: UpdateUserInput,
  ): Promise<UserView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:write');
    const user = await this.liveUser(project.id, userId);
    const changes: Partial<IdentityUsersTable> = { updated_at: this.timestamp() };
    if (input.displayName !== undefined) changes.display_name = input.displayName;
    if (input.status !== undefined) changes.status = input.status;
    if (input.emailVerified !== undefined) changes.email_verified = input.emailVerified ? 1 : 0;
    const disabling = input.status === 'disabled' && user.status !== 'disabled';
    await this.audited(
      async (repo) => {
        await repo.updateUser(project.id, user.id, changes);
        return disabling ? repo.deleteSessions(project.id, user.id) : 0;
      },
      (sessionsRevoked) => [
        this.event('user.updated', project.orgId, project.id, principal.keyId, user.id, {
          changed: Object.keys(input).sort(),
          status: changes.status ?? user.status,
          sessionsRevoked,
        }),
      ],
    );
    return toUserView({ ...user, ...changes });
  }

  /** Erases the user's personal data and credentials and ends their sessions; the row stays as a tombstone. */
  async deleteUser(
    principal: Principal,
    projectId: string,
    userId: string,
    options: { scope?: UserWriteScope; expectedVersion?: number | undefined } = {},
  ): Promise<void> {
    const project = await this.tenancy.authorizeProject(principal, projectId, options.scope ?? 'users:write');
    const user = await this.liveUser(project.id, userId);
    const version = options.expectedVersion ?? Number(user.version);
    const afterCommit: Array<() => Promise<void>> = [];
    await this.audited(
      async (repo) => {
        const changed = await repo.updateUser(
          project.id,
          user.id,
          {
            username: null,
            username_normalized: null,
            email: null,
            email_normalized: null,
            email_verified: 0,
            display_name: null,
            password_hash: null,
            totp_secret: null,
            totp_pending_secret: null,
            external_id: null,
            status: 'deleted',
            updated_at: this.timestamp(),
          },
          version,
        );
        if (!changed) throw versionMismatch();
        for (const listener of this.eraseListeners) {
          const then = await listener(repo.db, project.id, user.id);
          if (then) afterCommit.push(then);
        }
        await repo.deleteRecoveryCodes(user.id);
        await repo.deleteSessions(project.id, user.id);
      },
      () => [this.userEvent('user.deleted', project.orgId, project.id, principal.keyId, user)],
    );
    for (const then of afterCommit) await then();
  }

  // ---- provisioning (SCIM) ----

  /** Registers what must also go when a user is erased (e.g. group memberships). */
  onUserErased(listener: UserEraseListener): void {
    this.eraseListeners.push(listener);
  }

  /** Registers how a user's passkeys are removed when a reset or "sign out everywhere" asks for it. */
  onPasskeysRemoval(remover: PasskeyRemover): void {
    this.passkeyRemovers.push(remover);
  }

  /** Removes the user's passkeys in `repo`'s transaction when `remove`; returns how many went. */
  private async removePasskeys(
    repo: IdentityRepo,
    projectId: string,
    userId: string,
    remove: boolean | undefined,
  ): Promise<number> {
    if (!remove) return 0;
    let removed = 0;
    for (const remover of this.passkeyRemovers) removed += await remover(repo.db, projectId, userId);
    return removed;
  }

  /**
   * The live users among `userIds`, with the name to show for each (display name, else username, else
   * email). For modules that authorized the project themselves.
   */
  async describeUsers(projectId: string, userIds: string[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    // In chunks, to stay under the engines' limits on bound parameters.
    for (let start = 0; start < userIds.length; start += 500) {
      for (const row of await this.repo.getUsers(projectId, userIds.slice(start, start + 500))) {
        names.set(row.id, row.display_name ?? row.username ?? row.email ?? row.id);
      }
    }
    return names;
  }

  async provisionUser(
    principal: Principal,
    projectId: string,
    fields: ProvisionedFields,
    password?: string,
  ): Promise<ProvisionedUser> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'scim:write');
    const policy = await this.policies.get(project.id);
    const row: IdentityUsersTable = {
      ...(await this.newUserRow(
        project.id,
        {
          username: fields.username,
          email: fields.email ?? undefined,
          displayName: fields.displayName ?? undefined,
          password,
        },
        policy,
      )),
      external_id: fields.externalId,
      status: fields.active ? 'active' : 'disabled',
    };
    return this.audited(
      async (repo) => {
        await this.insertUnique(repo, row, { replacePending: true });
        return toProvisionedUser(row);
      },
      () => [this.userEvent('user.created', project.orgId, project.id, principal.keyId, row)],
    );
  }

  async getProvisionedUser(
    principal: Principal,
    projectId: string,
    userId: string,
  ): Promise<ProvisionedUser> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'scim:read');
    return toProvisionedUser(await this.liveUser(project.id, userId));
  }

  async searchProvisionedUsers(
    principal: Principal,
    projectId: string,
    condition: UserCondition | undefined,
    window: { offset: number; limit: number },
  ): Promise<{ total: number; users: ProvisionedUser[] }> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'scim:read');
    const { total, rows } = await this.repo.searchUsers(project.id, condition, window);
    return { total, users: rows.map(toProvisionedUser) };
  }

  /**
   * Sets every provisioned field of the user at once (SCIM replace; a patch is applied to the current
   * fields first). Only if the user is still at `expectedVersion` when given, and at the version read
   * here in any case: a concurrent change makes this fail with precondition-failed rather than be lost.
   */
  async reprovisionUser(
    principal: Principal,
    projectId: string,
    userId: string,
    fields: ProvisionedFields,
    expectedVersion?: number,
  ): Promise<ProvisionedUser> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'scim:write');
    const user = await this.liveUser(project.id, userId);
    const version = expectedVersion ?? Number(user.version);
    const status = fields.active ? 'active' : 'disabled';
    const changes: Partial<IdentityUsersTable> = {
      username: fields.username,
      username_normalized: normalizeIdentifier(fields.username),
      email: fields.email,
      email_normalized: fields.email === null ? null : normalizeIdentifier(fields.email),
      display_name: fields.displayName,
      external_id: fields.externalId,
      status,
      updated_at: this.timestamp(),
    };
    if (changes.email_normalized !== user.email_normalized) changes.email_verified = 0;
    const changed = (['username', 'email', 'display_name', 'external_id', 'status'] as const).filter(
      (column) => changes[column] !== user[column],
    );
    const disabling = status === 'disabled' && user.status !== 'disabled';
    await this.audited(
      async (repo) => {
        for (const column of ['username_normalized', 'email_normalized'] as const) {
          const value = changes[column];
          if (value && value !== user[column]) {
            const holder = await repo.findUserBy(project.id, column, value);
            if (holder && holder.id !== user.id) throw identifierTaken(column);
          }
        }
        if (!(await repo.updateUser(project.id, user.id, changes, version))) throw versionMismatch();
        if (changes.email_normalized !== user.email_normalized) {
          await this.dropEmailCodes(repo, project.id, user.id);
        }
        return disabling ? repo.deleteSessions(project.id, user.id) : 0;
      },
      (revoked) => [
        this.event('user.updated', project.orgId, project.id, principal.keyId, user.id, {
          changed,
          status,
          sessionsRevoked: revoked,
        }),
      ],
    );
    return toProvisionedUser({ ...user, ...changes, version: version + 1 });
  }

  async listUserSessions(
    principal: Principal,
    projectId: string,
    userId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<SessionView>> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:read');
    await this.liveUser(project.id, userId);
    return this.sessions.list(project.id, userId, page);
  }

  /** The user's remembered sign-ins (adaptive MFA's history), newest first. */
  async listUserSignIns(principal: Principal, projectId: string, userId: string): Promise<SignInView[]> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:read');
    await this.liveUser(project.id, userId);
    return describeSignIns(await this.signInHistory.recent(project.id, userId));
  }

  async revokeUserSession(
    principal: Principal,
    projectId: string,
    userId: string,
    sessionId: string,
  ): Promise<void> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:write');
    await this.revokeSession(principal.keyId, project.orgId, project.id, userId, sessionId);
  }

  async revokeUserSessions(principal: Principal, projectId: string, userId: string): Promise<number> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:write');
    await this.liveUser(project.id, userId);
    return this.revokeSessions(principal.keyId, project.orgId, project.id, userId);
  }

  /**
   * Sets or resets a user's password (policy-checked) and ends all their sessions; with `removePasskeys`
   * their passkeys go too (a suspected takeover: a passkey would otherwise still sign in).
   */
  async setPassword(
    principal: Principal,
    projectId: string,
    userId: string,
    password: string,
    options: { removePasskeys?: boolean } = {},
  ): Promise<void> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:write');
    const user = await this.liveUser(project.id, userId);
    const policy = await this.policies.get(project.id);
    requireStrongPassword(password, policy, [user.username, user.email]);
    const hash = await this.hasher.hash(password);
    await this.audited(
      async (repo) => {
        await repo.updateUser(project.id, user.id, { password_hash: hash, updated_at: this.timestamp() });
        const passkeysRemoved = await this.removePasskeys(repo, project.id, user.id, options.removePasskeys);
        return { revoked: await repo.deleteSessions(project.id, user.id), passkeysRemoved };
      },
      ({ revoked, passkeysRemoved }) => [
        this.event('user.password_set', project.orgId, project.id, principal.keyId, user.id, {
          sessionsRevoked: revoked,
          passkeysRemoved,
        }),
      ],
    );
  }

  /**
   * Removes the user's TOTP and recovery codes (a lost phone) and, unless `removePasskeys` is false, their
   * passkeys, which sign in as MFA too and may sit on the lost device; they enroll again at will or when
   * required.
   */
  async resetMfa(
    principal: Principal,
    projectId: string,
    userId: string,
    options: { removePasskeys?: boolean } = {},
  ): Promise<void> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:write');
    const user = await this.liveUser(project.id, userId);
    await this.audited(
      async (repo) => {
        await this.clearTotp(repo, project.id, user.id);
        return this.removePasskeys(repo, project.id, user.id, options.removePasskeys ?? true);
      },
      (passkeysRemoved) => [
        this.event('user.mfa_reset', project.orgId, project.id, principal.keyId, user.id, {
          passkeysRemoved,
        }),
      ],
    );
  }

  async getPolicy(principal: Principal, projectId: string): Promise<IdentityPolicyValue> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'identity_policy:read');
    return this.policies.get(project.id);
  }

  async putPolicy(
    principal: Principal,
    projectId: string,
    given: IdentityPolicyValue,
  ): Promise<IdentityPolicyValue> {
    const policy = {
      ...given,
      registrationVerifiesEmail: given.registrationVerifiesEmail ?? false,
      emailSignIn: given.emailSignIn ?? false,
    };
    const project = await this.tenancy.authorizeProject(principal, projectId, 'identity_policy:write');
    if (policy.sessions.idleTimeoutSeconds > policy.sessions.absoluteTimeoutSeconds) {
      throw new Problem('validation-error', 'The idle timeout cannot exceed the absolute timeout.', {
        errors: [
          { in: 'body', pointer: '#/sessions/idleTimeoutSeconds', detail: 'exceeds absoluteTimeoutSeconds' },
        ],
      });
    }
    if (policy.risk !== undefined && policy.mfa !== 'adaptive') {
      throw new Problem('validation-error', 'Risk settings apply only when mfa is adaptive.', {
        errors: [{ in: 'body', pointer: '#/risk', detail: "allowed only with mfa 'adaptive'" }],
      });
    }
    await this.audited(
      (repo) => this.policies.put(repo, project.id, policy, this.timestamp()),
      () => [
        this.event('identity_policy.updated', project.orgId, project.id, principal.keyId, project.id, {
          registration: policy.registration,
          registrationVerifiesEmail: policy.registrationVerifiesEmail,
          emailSignIn: policy.emailSignIn,
          mfa: policy.mfa,
          ...(policy.mfa === 'adaptive'
            ? { riskThreshold: policy.risk?.threshold ?? DEFAULT_RISK_THRESHOLD }
            : {}),
          passwordMinLength: policy.password.minLength,
          forbidCommonPasswords: policy.password.forbidCommon,
          idleTimeoutSeconds: policy.sessions.idleTimeoutSeconds,
          absoluteTimeoutSeconds: policy.sessions.absoluteTimeoutSeconds,
        }),
      ],
    );
    return policy;
  }

  /** Deletes sessions and MFA challenges past their deadlines. */
  async purgeExpired(): Promise<void> {
    await this.repo.deleteExpiredSessions(this.timestamp());
    // Self-registrations never confirmed within a day free their address and username again.
    const before = new Date(this.now().getTime() - PENDING_REGISTRATION_TTL_MS).toISOString();
    await this.repo.transaction(async (repo) => {
      const stale = repo.db
        .selectFrom('identity_users')
        .select('id')
        .where('status', '=', 'pending')
        .where('created_at', '<=', before);
      await repo.db.deleteFrom('identity_email_codes').where('user_id', 'in', stale).execute();
      await repo.db
        .deleteFrom('identity_users')
        .where('status', '=', 'pending')
        .where('created_at', '<=', before)
        .execute();
    });
  }

  // ---- shared ----

  private async liveUser(projectId: string, userId: string): Promise<IdentityUsersTable> {
    const user = await this.repo.getUser(projectId, userId);
    if (!user) throw new Problem('not-found', 'No such user.');
    return user;
  }

  private async newUserRow(
    projectId: string,
    input: {
      username?: string | undefined;
      email?: string | undefined;
      displayName?: string | undefined;
      emailVerified?: boolean | undefined;
      password?: string | undefined;
    },
    policy: IdentityPolicyValue,
  ): Promise<IdentityUsersTable> {
    if (input.username === undefined && input.email === undefined) {
      throw new Problem('validation-error', 'A user needs a username, an email, or both.', {
        errors: [{ in: 'body', pointer: '#/username', detail: 'username or email is required' }],
      });
    }
    let passwordHash: string | null = null;
    if (input.password !== undefined) {
      requireStrongPassword(input.password, policy, [input.username, input.email]);
      passwordHash = await this.hasher.hash(input.password);
    }
    const at = this.timestamp();
    return {
      id: newId('usr'),
      project_id: projectId,
      username: input.username ?? null,
      username_normalized: input.username === undefined ? null : normalizeIdentifier(input.username),
      email: input.email ?? null,
      email_normalized: input.email === undefined ? null : normalizeIdentifier(input.email),
      email_verified: input.emailVerified ? 1 : 0,
      display_name: input.displayName ?? null,
      status: 'active',
      password_hash: passwordHash,
      totp_secret: null,
      totp_pending_secret: null,
      totp_last_step: 0,
      external_id: null,
      version: 1,
      created_at: at,
      updated_at: at,
    };
  }

  /**
   * Inserts the user unless their username or email is taken (409). With `replacePending` (admin and
   * SCIM creation), a holder that is only an unconfirmed self-registration is dropped instead: the
   * operator's user wins over a claim nobody has proved.
   */
  private async insertUnique(
    repo: IdentityRepo,
    row: IdentityUsersTable,
    options: { replacePending?: boolean } = {},
  ): Promise<void> {
    for (const column of ['username_normalized', 'email_normalized'] as const) {
      const value = row[column];
      const holder = value === null ? undefined : await repo.findUserBy(row.project_id, column, value);
      if (holder?.status === 'pending' && options.replacePending) {
        await this.dropPending(repo, row.project_id, holder.id);
      } else if (holder) {
        throw identifierTaken(column);
      }
    }
    await repo.insertUser(row);
  }

  /** Deletes an unconfirmed self-registration and its emailed codes, in `repo`'s transaction. */
  private async dropPending(repo: IdentityRepo, projectId: string, userId: string): Promise<void> {
    await this.dropEmailCodes(repo, projectId, userId);
    await repo.db
      .deleteFrom('identity_users')
      .where('project_id', '=', projectId)
      .where('id', '=', userId)
      .where('status', '=', 'pending')
      .execute();
  }

  /** Kills the user's live emailed codes and links: on an email change they belong to the old address. */
  private async dropEmailCodes(repo: IdentityRepo, projectId: string, userId: string): Promise<void> {
    await repo.db
      .deleteFrom('identity_email_codes')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .execute();
  }

  private async revokeSession(
    actor: string,
    orgId: string | null,
    projectId: string,
    userId: string,
    sessionId: string,
  ): Promise<void> {
    await this.audited(
      async (repo) => {
        if (!(await repo.deleteSession(projectId, userId, sessionId))) {
          throw new Problem('not-found', 'No such session.');
        }
      },
      () => [this.event('session.revoked', orgId, projectId, actor, sessionId, { userId })],
    );
  }

  private async revokeSessions(
    actor: string,
    orgId: string | null,
    projectId: string,
    userId: string,
    options: { removePasskeys?: boolean } = {},
  ): Promise<number> {
    const { revoked } = await this.audited(
      async (repo) => {
        const passkeysRemoved = await this.removePasskeys(repo, projectId, userId, options.removePasskeys);
        return { revoked: await repo.deleteSessions(projectId, userId), passkeysRemoved };
      },
      ({ revoked, passkeysRemoved }) => [
        this.event('session.revoked_all', orgId, projectId, actor, userId, { revoked, passkeysRemoved }),
      ],
    );
    return revoked;
  }

  private event(
    type: AuditEvent['type'],
    orgId: string | null,
    projectId: string,
    actor: string,
    subject: string,
    details?: AuditEvent['details'],
  ): AuditEvent {
    return { type, orgId, projectId, actor, subject, ...(details ? { details } : {}) };
  }

  /** An event about a user's identity: the audit keeps hashes of the username and email, never them. */
  private userEvent(
    type: AuditEvent['type'],
    orgId: string | null,
    projectId: string,
    actor: string,
    user: IdentityUsersTable,
  ): AuditEvent {
    return this.event(type, orgId, projectId, actor, user.id, {
      usernameHash: auditHash(projectId, user.username),
      emailHash: auditHash(projectId, user.email),
    });
  }
}
