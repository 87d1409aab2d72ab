import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimitConfig } from '../../config.js';
import type { FormCsrf } from '../../http/pages/csrf.js';
import { type Form, field, PageError, sendPage, servePages } from '../../http/pages/fastify.js';
import { messagePage } from '../../http/pages/message.js';
import { Problem } from '../../http/problem.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import type { TenancyService } from '../tenancy/service.js';
import {
  type AccountForms,
  enrollTotpPage,
  type Outcome,
  overviewPage,
  recoveryCodesPage,
  signedOutPage,
  signInPage,
  signInTotpPage,
} from './pages/account-pages.js';
import { signInEmailCodePage } from './pages/email-second-factor-pages.js';
import type { PasskeyService } from './passkeys.js';
import { SECOND_FACTOR_UNAVAILABLE } from './risk-gate.js';
import type { IdentityService } from './service.js';
import type { SessionAuth } from './session-auth.js';
import type { ActiveSession } from './sessions.js';

export interface AccountPageDeps {
  identity: IdentityService;
  passkeys: PasskeyService;
  tenancy: TenancyService;
  sessionAuth: SessionAuth;
  /** Tokens bound to the session the form was rendered for. */
  csrf: FormCsrf;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
  /** Whether the sign-in page offers an emailed code (SMTP is configured). */
  emailSignIn: boolean;
}

/** At most this many sessions are listed on the overview. */
const SESSIONS_SHOWN = 50;

const STALE_FORM = messagePage(
  403,
  'Form expired',
  'This form is no longer valid. Reload the page and try again.',
);
const CROSS_ORIGIN = messagePage(403, 'Request refused', 'This form was sent from another site.');

/**
 * The account pages of a project's users, at `/p/{projectId}/pages/account`: server-rendered, no
 * JavaScript, the session in the platform's HttpOnly cookie. Every state-changing form is checked for
 * the platform origin (as SessionAuth checks JSON calls) and carries a CSRF token bound to the session;
 * the sign-in forms, which have no session yet, are checked for the origin (login CSRF).
 */
export async function accountPageRoutes(app: FastifyInstance, deps: AccountPageDeps): Promise<void> {
  const { identity, sessionAuth, csrf } = deps;

  await app.register(async (scope) => {
    servePages(scope, 'account page failed');
    limitPerAddress(scope, deps.limiter, deps.rateLimit, 'identity');
    const base = '/p/:projectId/pages/account';
    const opts = { schema: { hide: true } };

    scope.get(base, opts, async (request, reply) => {
      const projectId = await project(request);
      const session = await sessionAuth.fromCookie(request.headers.cookie, projectId);
      if (!session)
        return reply.header('cache-control', 'no-store').redirect(`${basePath(projectId)}/sign-in`, 303);
      return sendPage(reply, await overview(session));
    });

    scope.get(`${base}/sign-in`, opts, async (request, reply) => {
      const projectId = await project(request);
      // Email sign-in needs SMTP on the server and the project's emailSignIn policy.
      const emailSignIn = deps.emailSignIn && (await identity.emailSignInAllowed(projectId));
      return sendPage(reply, signInPage(basePath(projectId), { emailSignIn }));
    });

    scope.post(`${base}/sign-in`, opts, async (request, reply) => {
      const projectId = await project(request);
      sameOrigin(request);
      const form = request.body as Form | undefined;
      const identifier = field(form, 'identifier', 320);
      const password = field(form, 'password', 1024);
      const path = basePath(projectId);
      if (!identifier || !password) {
        return sendPage(
          reply,
          signInPage(path, {
            status: 400,
            error: 'Enter your username or email and your password.',
            identifier,
          }),
        );
      }
      const deviceId = sessionAuth.deviceId(request);
      const outcome = await identity.authenticate(
        projectId,
        { identifier, password },
        { ip: request.ip, deviceId },
      );
      if (
        (outcome.status === 'ok' || outcome.status === 'mfa_required') &&
        (await identity.usesAdaptiveMfa(projectId))
      ) {
        sessionAuth.setDeviceCookie(reply, projectId, deviceId);
      }
      switch (outcome.status) {
        case 'ok': {
          const restricted = outcome.mfaEnrollmentRequired;
          return startSession(reply, projectId, outcome.userId, outcome.amr, restricted);
        }
        case 'mfa_required': {
          const notice = outcome.reason ? { notice: outcome.reason } : {};
          return sendPage(
            reply,
            outcome.methods.includes('email_code')
              ? signInEmailCodePage(path, outcome.challenge, notice)
              : signInTotpPage(path, outcome.challenge, notice),
          );
        }
        case 'locked':
          return sendPage(
            reply,
            signInPage(path, lockedOutcome(outcome.retryAfterSeconds, 'failed attempts')),
          );
        case 'failed':
          return sendPage(
            reply,
            signInPage(path, {
              status: outcome.reason === 'invalid_credentials' ? 401 : 403,
              error:
                outcome.reason === 'disabled'
                  ? 'This account is disabled.'
                  : outcome.reason === 'second_factor_unavailable'
                    ? SECOND_FACTOR_UNAVAILABLE
                    : 'The username, email or password is wrong.',
              identifier,
            }),
          );
      }
    });

    scope.post(`${base}/sign-in/totp`, opts, async (request, reply) => {
      const projectId = await project(request);
      sameOrigin(request);
      const form = request.body as Form | undefined;
      const challenge = field(form, 'challenge', 200);
      const code = field(form, 'code', 16).trim();
      const emailCode = field(form, 'emailCode', 16).trim();
      const factor = emailCode
        ? { emailCode }
        : code
          ? { code }
          : { recoveryCode: field(form, 'recoveryCode', 64).trim() };
      const path = basePath(projectId);
      // The page the code came from, again, for another try.
      const retry = (outcome: Outcome) =>
        emailCode ? signInEmailCodePage(path, challenge, outcome) : signInTotpPage(path, challenge, outcome);
      const deviceId = sessionAuth.deviceId(request);
      const outcome = await identity.verifySecondFactor(projectId, challenge, factor, {
        ip: request.ip,
        deviceId,
      });
      switch (outcome.status) {
        case 'ok':
          if (await identity.usesAdaptiveMfa(projectId)) {
            sessionAuth.setDeviceCookie(reply, projectId, deviceId);
          }
          return startSession(reply, projectId, outcome.userId, outcome.amr, false);
        case 'locked':
          return sendPage(reply, retry(lockedOutcome(outcome.retryAfterSeconds, 'wrong codes')));
        case 'failed':
          return sendPage(
            reply,
            outcome.reason === 'invalid_code'
              ? retry({ status: 401, error: 'The code is wrong or was already used.' })
              : signInPage(path, { status: 401, error: 'Too late or too many attempts: sign in again.' }),
          );
      }
    });

    scope.post(`${base}/sign-out`, opts, async (request, reply) => {
      const session = await formSession(request, { allowRestricted: true });
      await identity.signOut(session);
      sessionAuth.clearCookie(reply, session.projectId);
      return sendPage(reply, signedOutPage(basePath(session.projectId), 'You are signed out.'));
    });

    scope.post(`${base}/totp`, opts, async (request, reply) => {
      const session = await formSession(request, { allowRestricted: true });
      const enrollment = await attempt(() => identity.beginTotp(session));
      if (!('value' in enrollment)) return sendPage(reply, await overview(session, enrollment.outcome));
      return sendPage(reply, enrollTotpPage(formsOf(session), enrollment.value));
    });

    scope.post(`${base}/totp/confirm`, opts, async (request, reply) => {
      const session = await formSession(request, { allowRestricted: true });
      const code = field(request.body as Form | undefined, 'code', 16).trim();
      const confirmed = await attempt(() => identity.confirmTotp(session, code));
      if ('value' in confirmed) return sendPage(reply, recoveryCodesPage(formsOf(session), confirmed.value));
      const pending = await identity.pendingTotp(session);
      if (!pending) return sendPage(reply, await overview(session, confirmed.outcome));
      return sendPage(reply, enrollTotpPage(formsOf(session), pending, confirmed.outcome));
    });

    scope.post(`${base}/totp/recovery-codes`, opts, async (request, reply) => {
      const session = await formSession(request);
      const code = field(request.body as Form | undefined, 'code', 16).trim();
      const regenerated = await attempt(() => identity.regenerateRecoveryCodes(session, code));
      if (!('value' in regenerated)) return sendPage(reply, await overview(session, regenerated.outcome));
      return sendPage(reply, recoveryCodesPage(formsOf(session), regenerated.value));
    });

    scope.post(`${base}/totp/disable`, opts, async (request, reply) => {
      const session = await formSession(request);
      const code = field(request.body as Form | undefined, 'code', 16).trim();
      const disabled = await attempt(() => identity.disableTotp(session, code));
      const outcome =
        'value' in disabled ? { notice: 'Two-factor authentication is off.' } : disabled.outcome;
      return sendPage(reply, await overview(session, outcome));
    });

    scope.post(`${base}/password`, opts, async (request, reply) => {
      const session = await formSession(request);
      const form = request.body as Form | undefined;
      const currentPassword = field(form, 'currentPassword', 1024);
      const newPassword = field(form, 'newPassword', 1024);
      const changed = await attempt(() => identity.changePassword(session, currentPassword, newPassword));
      const outcome =
        'value' in changed
          ? { notice: 'Your password is changed; your other sessions are signed out.' }
          : changed.outcome;
      return sendPage(reply, await overview(session, outcome));
    });

    scope.post(`${base}/passkeys/rename`, opts, async (request, reply) => {
      const session = await formSession(request);
      const form = request.body as Form | undefined;
      const passkeyId = field(form, 'passkeyId', 40);
      const name = field(form, 'name', 64).trim();
      if (!/^pky_[0-9a-f]{32}$/.test(passkeyId) || !name) {
        return sendPage(reply, await overview(session, { status: 400, error: 'Give the passkey a name.' }));
      }
      const renamed = await attempt(() => deps.passkeys.renameOwn(session, passkeyId, name));
      return sendPage(
        reply,
        await overview(session, 'value' in renamed ? { notice: 'Passkey renamed.' } : renamed.outcome),
      );
    });

    scope.post(`${base}/passkeys/delete`, opts, async (request, reply) => {
      const session = await formSession(request);
      const passkeyId = field(request.body as Form | undefined, 'passkeyId', 40);
      if (!/^pky_[0-9a-f]{32}$/.test(passkeyId)) {
        return sendPage(reply, await overview(session, { status: 400, error: 'No such passkey.' }));
      }
      const removed = await attempt(() => deps.passkeys.deleteOwn(session, passkeyId));
      return sendPage(
        reply,
        await overview(session, 'value' in removed ? { notice: 'Passkey removed.' } : removed.outcome),
      );
    });

    scope.post(`${base}/sessions/revoke`, opts, async (request, reply) => {
      const session = await formSession(request);
      const sessionId = field(request.body as Form | undefined, 'sessionId', 40);
      if (!/^ses_[0-9a-f]{32}$/.test(sessionId)) {
        return sendPage(reply, await overview(session, { status: 400, error: 'No such session.' }));
      }
      const revoked = await attempt(() => identity.revokeOwnSession(session, sessionId));
      if (!('value' in revoked)) return sendPage(reply, await overview(session, revoked.outcome));
      if (sessionId !== session.id)
        return sendPage(reply, await overview(session, { notice: 'Session ended.' }));
      sessionAuth.clearCookie(reply, session.projectId);
      return sendPage(reply, signedOutPage(basePath(session.projectId), 'You are signed out.'));
    });

    scope.post(`${base}/sessions/revoke-all`, opts, async (request, reply) => {
      const session = await formSession(request, { allowRestricted: true });
      const removePasskeys = field(request.body as Form | undefined, 'removePasskeys', 8) === 'yes';
      await identity.revokeOwnSessions(session, { removePasskeys });
      sessionAuth.clearCookie(reply, session.projectId);
      const done = removePasskeys
        ? 'You are signed out everywhere and your passkeys are removed.'
        : 'You are signed out everywhere.';
      return sendPage(reply, signedOutPage(basePath(session.projectId), done));
    });
  });

  function basePath(projectId: string): string {
    return `/p/${projectId}/pages/account`;
  }

  function formsOf(session: ActiveSession): AccountForms {
    return { base: basePath(session.projectId), csrf: csrf.token(session.projectId, session.id) };
  }

  /** The project of the request; a 404 page when there is none by that id. */
  async function project(request: FastifyRequest): Promise<string> {
    const { projectId } = request.params as { projectId: string };
    if (!/^prj_[0-9a-f]{32}$/.test(projectId) || !(await deps.tenancy.projectExists(projectId))) {
      throw new PageError(messagePage(404, 'Not found', 'There is no such page.'));
    }
    return projectId;
  }

  function sameOrigin(request: FastifyRequest): void {
    try {
      sessionAuth.checkSameOrigin(request);
    } catch {
      throw new PageError(CROSS_ORIGIN);
    }
  }

  /**
   * The session a state-changing form was posted in: from the platform origin, with the CSRF token of
   * this session. Without a session, the sign-in page; a restricted session only where allowed.
   */
  async function formSession(
    request: FastifyRequest,
    options: { allowRestricted?: boolean } = {},
  ): Promise<ActiveSession> {
    const projectId = await project(request);
    sameOrigin(request);
    const session = await sessionAuth.fromCookie(request.headers.cookie, projectId);
    if (!session) {
      throw new PageError(signInPage(basePath(projectId), { status: 401, error: 'Sign in first.' }));
    }
    if (!csrf.verify(projectId, session.id, (request.body as Form | undefined)?.csrf)) {
      throw new PageError(STALE_FORM);
    }
    if (session.restricted && !options.allowRestricted) {
      throw new PageError(
        await overview(session, { status: 403, error: 'Set up two-factor authentication first.' }),
      );
    }
    return session;
  }

  async function overview(session: ActiveSession, outcome: Outcome = {}) {
    const user = await identity.account(session);
    const sessions = session.restricted
      ? []
      : (
          await identity.sessions.list(
            session.projectId,
            session.userId,
            { limit: SESSIONS_SHOWN },
            session.id,
          )
        ).data;
    const passkeys = session.restricted ? [] : await deps.passkeys.listOwn(session);
    return overviewPage(
      formsOf(session),
      { user, sessions, passkeys, restricted: session.restricted },
      outcome,
    );
  }

  async function startSession(
    reply: FastifyReply,
    projectId: string,
    userId: string,
    amr: string[],
    restricted: boolean,
  ) {
    const signed = await identity.startSession(projectId, userId, amr, restricted);
    sessionAuth.setCookie(reply, projectId, signed.token, signed.session.expiresAt);
    return reply.header('cache-control', 'no-store').redirect(basePath(projectId), 303);
  }
}

/**
 * Runs a service call of a form; a refusal it explains (wrong code or password, weak password, TOTP
 * required, backing off) becomes the page's error, with the Problem's status.
 */
async function attempt<T>(work: () => Promise<T>): Promise<{ value: T } | { outcome: Outcome }> {
  try {
    return { value: await work() };
  } catch (error) {
    if (!(error instanceof Problem) || error.status >= 500) throw error;
    const retryAfter = error.headers['retry-after'];
    return {
      outcome: {
        status: error.status,
        error: error.message,
        ...(retryAfter === undefined ? {} : { retryAfter: Number(retryAfter) }),
      },
    };
  }
}

function lockedOutcome(retryAfter: number, what: string): Outcome {
  return { status: 429, retryAfter, error: `Too many ${what}. Try again in ${retryAfter} seconds.` };
}
