import { fromBase64Url, randomBytes, toBase64Url } from '@personachain/crypto';
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { decodeClientDataJSON } from '@simplewebauthn/server/helpers';
import { Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { IdentityPasskeysTable } from '../../store/schema.js';
import type { AuditEvent, AuditService } from '../audit/service.js';
import { ACR_MFA, acrOf } from '../oidc/acr.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import type { Mailer } from './mailer.js';
import { passkeyAddedMessage } from './passkey-messages.js';
import { type ChallengePurpose, PasskeyRepo } from './passkey-repo.js';
import type { PasskeyView, ReauthenticateBody } from './passkey-schemas.js';
import type { IdentityService, SignedInSession } from './service.js';
import type { ActiveSession } from './sessions.js';
import { hashToken } from './sessions.js';
import type { LoginThrottle } from './throttle.js';
import { throttleKeys } from './throttle.js';

/**
 * The amr of a passkey sign-in (RFC 8176 §2):
 * - `hwk` ("proof-of-possession of a hardware-secured key") only for a device-bound credential; a synced
 *   one (backup eligible, or backed up) has left the authenticator's hardware, so it is `swk`
 *   ("proof-of-possession of a software-secured key").
 * - `user`: RFC 8176 defines it as a "user presence test", citing WebAuthn's test of user presence, which
 *   is the UP flag every accepted assertion carries. It does not mean user verification.
 * - `mfa`: we require user verification (the UV flag), so the key held plus the PIN or biometric that
 *   unlocked it are two factors. Which of PIN or biometric the authenticator does not say, so neither
 *   `pin` nor `fpt` is claimed.
 * With `mfa`, a passkey sign-in satisfies `mfa: 'required'` projects and the MFA acr without TOTP.
 */
export function passkeyAmr(credential: { deviceType: string; backedUp: boolean }): string[] {
  const synced = credential.deviceType === 'multiDevice' || credential.backedUp;
  return [synced ? 'swk' : 'hwk', 'user', 'mfa'];
}

/**
 * How recently a session must have been authenticated (its auth_time) to add a passkey: a stolen session
 * cookie alone must not be enough to plant a passkey that outlives it.
 */
export const RECENT_AUTHENTICATION_MS = 10 * 60_000;

/** How long a ceremony may take, from options to verify. */
const CHALLENGE_TTL_MS = 5 * 60_000;
/** Passkeys one user may hold. */
export const MAX_PASSKEYS_PER_USER = 20;
/** Throttle identifier for username-less sign-ins: a NUL never appears in a normalized identifier. */
const PASSKEY_THROTTLE_IDENTIFIER = '\u0000passkey';

export interface PasskeyRelyingParty {
  /** The name authenticators show. */
  name: string;
  /** The hostname of the public URL. */
  id: string;
  /** The origin of the public URL: the only origin a ceremony may come from. */
  origin: string;
}

/**
 * The relying party of every project: WebAuthn credentials are scoped to the platform's public host, so
 * all projects share one RP ID and a browser's passkey chooser on one project lists the user's passkeys
 * of every project on this host. userLabels tells them apart.
 */
export function relyingPartyOf(publicUrl: string, name = 'PersonaChain'): PasskeyRelyingParty {
  const url = new URL(publicUrl);
  return { name, id: url.hostname, origin: url.origin };
}

/** Longest project name put into a passkey's labels (authenticators truncate long ones anyway). */
const LABEL_PROJECT_MAX = 64;

/**
 * The WebAuthn `user.name` and `user.displayName` of a project's user: the user's identifier or name
 * followed by the project's name in parentheses, e.g. "ada@example.com (Acme shop)". Under the shared RP ID
 * a chooser then shows which project each passkey signs in to.
 */
export function userLabels(
  user: { id: string; username: string | null; email: string | null; displayName: string | null },
  projectName: string | null,
): { name: string; displayName: string } {
  const suffix = projectName ? ` (${projectName.slice(0, LABEL_PROJECT_MAX)})` : '';
  const identifier = user.username ?? user.email ?? user.id;
  return {
    name: `${identifier}${suffix}`,
    displayName: `${user.displayName ?? identifier}${suffix}`,
  };
}

export type PasskeySignInOutcome =
  | { status: 'ok'; signed: SignedInSession }
  | { status: 'failed' }
  | { status: 'locked'; retryAfterSeconds: number };

function toPasskeyView(row: IdentityPasskeysTable): PasskeyView {
  return {
    id: row.id,
    name: row.name,
    deviceType: row.device_type === 'multiDevice' ? 'multiDevice' : 'singleDevice',
    backedUp: row.backed_up === 1,
    aaguid: row.aaguid,
    transports: JSON.parse(row.transports) as string[],
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

/** The library takes the challenge as bytes on their own ArrayBuffer. */
function challengeBytes(challenge: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(fromBase64Url(challenge));
}

/** The challenge a client echoes in clientDataJSON, or null when the response is not decodable. */
function echoedChallenge(clientDataJSON: string): string | null {
  try {
    const challenge = decodeClientDataJSON(clientDataJSON).challenge;
    return typeof challenge === 'string' ? challenge : null;
  } catch {
    return null;
  }
}

/**
 * Passkeys (WebAuthn L3) of end users: registration from a session, username-less sign-in that opens a
 * session, and their management by the user and the admin API. Challenges are kept server-side as hashes,
 * single use, bound to purpose, project and (registration) user. Every change is audited with ids only.
 */
export class PasskeyService {
  constructor(
    private readonly repo: PasskeyRepo,
    private readonly identity: IdentityService,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    private readonly throttle: LoginThrottle,
    private readonly rp: PasskeyRelyingParty,
    /** Sends "a passkey was added" notices; null when no SMTP server is configured. */
    private readonly mailer: Mailer | null,
  ) {
    identity.onUserErased(async (db, projectId, userId) => {
      await new PasskeyRepo(db).deleteUserPasskeys(projectId, userId);
    });
    identity.onPasskeysRemoval((db, projectId, userId) =>
      new PasskeyRepo(db).deleteUserPasskeys(projectId, userId),
    );
  }

  private now(): Date {
    return this.identity.now();
  }

  private async newChallenge(projectId: string, purpose: ChallengePurpose, userId: string | null) {
    const challenge = toBase64Url(randomBytes(32));
    const now = this.now();
    await this.repo.deleteExpiredChallenges(now.toISOString());
    await this.repo.insertChallenge({
      challenge_hash: hashToken(challenge),
      project_id: projectId,
      purpose,
      user_id: userId,
      expires_at: new Date(now.getTime() + CHALLENGE_TTL_MS).toISOString(),
    });
    return challenge;
  }

  private async consume(
    clientDataJSON: string,
    expected: { projectId: string; purpose: ChallengePurpose; userId: string | null },
  ): Promise<string | null> {
    const challenge = echoedChallenge(clientDataJSON);
    if (!challenge) return null;
    const live = await this.repo.consumeChallenge(hashToken(challenge), expected, this.now().toISOString());
    return live ? challenge : null;
  }

  private async audited<T>(work: (repo: PasskeyRepo) => Promise<T>, event: AuditEvent): Promise<T> {
    const result = await this.repo.transaction(async (repo) => {
      const done = await work(repo);
      await this.audit.record(repo.db, event);
      return done;
    });
    this.audit.committed();
    return result;
  }

  // ---- registration, from a recently authenticated session ----

  /**
   * Proves the user again within the session (password, or a TOTP code for TOTP users), so that it may
   * add a passkey. Throws 403 `reauthentication_failed` for a wrong password or code.
   */
  async reauthenticate(session: ActiveSession, proof: ReauthenticateBody): Promise<ActiveSession> {
    const refreshed = await this.identity.reauthenticateSession(session, proof);
    if (!refreshed) {
      throw new Problem('forbidden', 'The password or code is wrong.', {
        extensions: { code: 'reauthentication_failed' },
      });
    }
    return refreshed;
  }

  /**
   * Refuses a session that may not add a passkey: one authenticated longer ago than `windowMs` must
   * re-authenticate; a user with TOTP must have proven it in this session (or signed in with a passkey),
   * or a stolen password-only session would mint a factor that skips TOTP.
   */
  private requireRecentAuthentication(session: ActiveSession, totpEnabled: boolean, windowMs: number): void {
    if (this.now().getTime() - Date.parse(session.authTime) > windowMs) {
      throw new Problem(
        'forbidden',
        'Confirm it is you first: give your password or an authenticator code.',
        {
          extensions: { code: 'reauthentication_required' },
        },
      );
    }
    if (totpEnabled && acrOf(session.amr) !== ACR_MFA) {
      throw new Problem('forbidden', 'Confirm it is you first: give a code from your authenticator app.', {
        extensions: { code: 'step_up_required' },
      });
    }
  }

  async registrationOptions(session: ActiveSession): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const user = await this.identity.account(session);
    this.requireRecentAuthentication(session, user.totpEnabled, RECENT_AUTHENTICATION_MS);
    const existing = await this.repo.listPasskeys(session.projectId, session.userId);
    if (existing.length >= MAX_PASSKEYS_PER_USER) throw tooManyPasskeys();
    const challenge = await this.newChallenge(session.projectId, 'registration', session.userId);
    const labels = userLabels(user, await this.tenancy.projectName(session.projectId));
    return generateRegistrationOptions({
      rpName: this.rp.name,
      rpID: this.rp.id,
      // The user handle is the opaque user id: it names no personal data.
      userID: new TextEncoder().encode(user.id),
      userName: labels.name,
      userDisplayName: labels.displayName,
      challenge: challengeBytes(challenge),
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((row) => ({
        id: row.credential_id,
        transports: JSON.parse(row.transports) as AuthenticatorTransport[],
      })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
  }

  async register(
    session: ActiveSession,
    name: string,
    response: RegistrationResponseJSON,
  ): Promise<PasskeyView> {
    const user = await this.identity.account(session);
    // The options were issued to a recent session; the ceremony may take up to the challenge's lifetime.
    this.requireRecentAuthentication(session, user.totpEnabled, RECENT_AUTHENTICATION_MS + CHALLENGE_TTL_MS);
    const challenge = await this.consume(response.response.clientDataJSON, {
      projectId: session.projectId,
      purpose: 'registration',
      userId: session.userId,
    });
    if (!challenge) throw ceremonyFailed();
    const verification = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: this.rp.origin,
      expectedRPID: this.rp.id,
      requireUserPresence: true,
      requireUserVerification: true,
    }).catch(() => null);
    if (!verification?.verified) throw ceremonyFailed();
    const info = verification.registrationInfo;
    const row: IdentityPasskeysTable = {
      id: newId('pky'),
      project_id: session.projectId,
      user_id: session.userId,
      credential_id: info.credential.id,
      public_key: toBase64Url(info.credential.publicKey),
      counter: info.credential.counter,
      transports: JSON.stringify(info.credential.transports ?? []),
      device_type: info.credentialDeviceType,
      backed_up: info.credentialBackedUp ? 1 : 0,
      aaguid: info.aaguid,
      name,
      created_at: this.now().toISOString(),
      last_used_at: null,
    };
    await this.audited(
      async (repo) => {
        if ((await repo.countPasskeys(session.projectId, session.userId)) >= MAX_PASSKEYS_PER_USER) {
          throw tooManyPasskeys();
        }
        if (await repo.findByCredentialId(session.projectId, row.credential_id)) {
          throw new Problem('conflict', 'This passkey is already registered.');
        }
        await repo.insertPasskey(row);
      },
      this.event('passkey.registered', null, session.projectId, session.userId, row.id, {
        userId: session.userId,
        deviceType: row.device_type,
        backedUp: row.backed_up === 1,
      }),
    );
    if (user.email) await this.notifyAdded(session.projectId, user.email, row);
    return toPasskeyView(row);
  }

  /** Mails the user that a passkey was added (queued: the answer does not wait for SMTP). */
  private async notifyAdded(projectId: string, email: string, row: IdentityPasskeysTable): Promise<void> {
    if (!this.mailer) return;
    const projectName = (await this.tenancy.projectName(projectId)) ?? 'PersonaChain';
    this.mailer.send(
      passkeyAddedMessage(email, {
        projectName,
        at: row.created_at.slice(0, 16).replace('T', ' '),
        synced: row.device_type === 'multiDevice' || row.backed_up === 1,
        accountUrl: `${this.rp.origin}/p/${encodeURIComponent(projectId)}/pages/account`,
      }),
    );
  }

  async listOwn(session: ActiveSession): Promise<PasskeyView[]> {
    return (await this.repo.listPasskeys(session.projectId, session.userId)).map(toPasskeyView);
  }

  async renameOwn(session: ActiveSession, passkeyId: string, name: string): Promise<PasskeyView> {
    const row = await this.audited(
      async (repo) => {
        if (!(await repo.rename(session.projectId, session.userId, passkeyId, name))) throw noSuchPasskey();
        return repo.getPasskey(session.projectId, session.userId, passkeyId);
      },
      this.event('passkey.renamed', null, session.projectId, session.userId, passkeyId, {
        userId: session.userId,
      }),
    );
    if (!row) throw noSuchPasskey();
    return toPasskeyView(row);
  }

  async deleteOwn(session: ActiveSession, passkeyId: string): Promise<void> {
    await this.remove(session.userId, null, session.projectId, session.userId, passkeyId);
  }

  // ---- username-less sign-in ----

  async signInOptions(projectId: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    if (!(await this.tenancy.projectExists(projectId))) throw new Problem('not-found', 'No such project.');
    const challenge = await this.newChallenge(projectId, 'authentication', null);
    return generateAuthenticationOptions({
      rpID: this.rp.id,
      challenge: challengeBytes(challenge),
      timeout: CHALLENGE_TTL_MS,
      userVerification: 'required',
    });
  }

  /**
   * Verifies an assertion and opens a session with the passkey amr. Every failure (unknown credential,
   * wrong or used challenge, bad signature, no user verification, disabled user) looks the same to the
   * caller and counts against the client address like a wrong password.
   */
  async signIn(
    projectId: string,
    response: AuthenticationResponseJSON,
    context: { ip: string },
  ): Promise<PasskeySignInOutcome> {
    const keys = throttleKeys(projectId, PASSKEY_THROTTLE_IDENTIFIER, context.ip);
    const retryAfterSeconds = await this.throttle.retryAfterSeconds(keys);
    if (retryAfterSeconds > 0) return { status: 'locked', retryAfterSeconds };
    const proven = await this.verifyAssertion(projectId, response);
    if (!proven) {
      await this.throttle.recordFailure(keys);
      return { status: 'failed' };
    }
    await this.throttle.recordSuccess(keys);
    const signed = await this.identity.startSession(projectId, proven.userId, proven.amr, false);
    return { status: 'ok', signed };
  }

  /** The user the assertion proves and the amr it earns, or null. */
  private async verifyAssertion(
    projectId: string,
    response: AuthenticationResponseJSON,
  ): Promise<{ userId: string; amr: string[] } | null> {
    const challenge = await this.consume(response.response.clientDataJSON, {
      projectId,
      purpose: 'authentication',
      userId: null,
    });
    if (!challenge) return null;
    const passkey = await this.repo.findByCredentialId(projectId, response.id);
    if (!passkey) return null;
    const stored = Number(passkey.counter);
    const verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: this.rp.origin,
      expectedRPID: this.rp.id,
      // The counter is checked below, so a regression can be audited rather than only refused.
      credential: {
        id: passkey.credential_id,
        publicKey: new Uint8Array(fromBase64Url(passkey.public_key)),
        counter: 0,
        transports: JSON.parse(passkey.transports) as AuthenticatorTransport[],
      },
      requireUserVerification: true,
    }).catch(() => null);
    if (!verification?.verified || !verification.authenticationInfo.userVerified) return null;
    // A discoverable credential returns the user handle it was created with: it must name the owner.
    const userHandle = response.response.userHandle;
    if (userHandle !== undefined && new TextDecoder().decode(fromBase64Url(userHandle)) !== passkey.user_id) {
      return null;
    }
    const counter = verification.authenticationInfo.newCounter;
    // WebAuthn L3 §7.2 step 21: once either counter is non-zero it must grow; otherwise the private key may
    // have been cloned, and this assertion is refused.
    if ((counter > 0 || stored > 0) && counter <= stored) {
      await this.audit.recordAlone(
        this.event('passkey.clone_detected', null, projectId, passkey.user_id, passkey.id, {
          userId: passkey.user_id,
          storedCounter: stored,
          receivedCounter: counter,
        }),
      );
      return null;
    }
    if (!(await this.identity.isActiveUser(projectId, passkey.user_id))) return null;
    const recorded = await this.repo.recordUse(
      projectId,
      passkey.id,
      stored,
      counter,
      this.now().toISOString(),
    );
    if (!recorded) return null;
    // The assertion's flags, not the stored ones: a device-bound credential may since have been backed up.
    const { credentialDeviceType, credentialBackedUp } = verification.authenticationInfo;
    return {
      userId: passkey.user_id,
      amr: passkeyAmr({ deviceType: credentialDeviceType, backedUp: credentialBackedUp }),
    };
  }

  // ---- admin API ----

  async listForUser(principal: Principal, projectId: string, userId: string): Promise<PasskeyView[]> {
    const user = await this.identity.getUser(principal, projectId, userId);
    return (await this.repo.listPasskeys(user.projectId, user.id)).map(toPasskeyView);
  }

  async deleteForUser(
    principal: Principal,
    projectId: string,
    userId: string,
    passkeyId: string,
  ): Promise<void> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'users:write');
    await this.remove(principal.keyId, project.orgId, project.id, userId, passkeyId);
  }

  private async remove(
    actor: string,
    orgId: string | null,
    projectId: string,
    userId: string,
    passkeyId: string,
  ): Promise<void> {
    await this.audited(
      async (repo) => {
        if (!(await repo.delete(projectId, userId, passkeyId))) throw noSuchPasskey();
      },
      this.event('passkey.deleted', orgId, projectId, actor, passkeyId, { userId }),
    );
  }

  private event(
    type: AuditEvent['type'],
    orgId: string | null,
    projectId: string,
    actor: string,
    subject: string,
    details: NonNullable<AuditEvent['details']>,
  ): AuditEvent {
    return { type, orgId, projectId, actor, subject, details };
  }
}

/** A failed passkey ceremony: the same answer whatever went wrong. */
export function ceremonyFailed(): Problem {
  return new Problem('unauthorized', 'The passkey could not be verified; start again.', {
    extensions: { code: 'passkey_failed' },
  });
}

function tooManyPasskeys(): Problem {
  return new Problem(
    'conflict',
    `A user may hold at most ${MAX_PASSKEYS_PER_USER} passkeys; remove one first.`,
    {
      extensions: { code: 'too_many_passkeys' },
    },
  );
}

function noSuchPasskey(): Problem {
  return new Problem('not-found', 'No such passkey.');
}
