import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { errors, type InteractionDetails, type InteractionResult } from 'oidc-provider';
import type { FormCsrf } from '../../http/pages/csrf.js';
import { type Form, field, PageError, sendPage, servePages } from '../../http/pages/fastify.js';
import type { Page } from '../../http/pages/html.js';
import { messagePage } from '../../http/pages/message.js';
import { Problem } from '../../http/problem.js';
import type { OidcClientsTable } from '../../store/schema.js';
import type { AuditService } from '../audit/service.js';
import { SECOND_FACTOR_UNAVAILABLE } from '../identity/risk-gate.js';
import type { IdentityService } from '../identity/service.js';
import type { SessionAuth } from '../identity/session-auth.js';
import type { ActiveSession } from '../identity/sessions.js';
import type { TenancyService } from '../tenancy/service.js';
import { ACR_MFA, acrOf } from './acr.js';
import type { OidcClientService } from './clients.js';
import { emailInteractionRoutes, type InteractionEmail } from './email-interaction.js';
import { emailCodePage } from './pages/email-second-factor-page.js';
import {
  consentPage,
  enrollTotpPage,
  type FormContext,
  loginPage,
  recoveryCodesPage,
  totpPage,
} from './pages/interaction-pages.js';
import type { ProviderRegistry } from './registry.js';

export interface InteractionDeps {
  registry: ProviderRegistry;
  tenancy: TenancyService;
  clients: OidcClientService;
  identity: IdentityService;
  sessionAuth: SessionAuth;
  /** Tokens bound to the interaction's uid. */
  csrf: FormCsrf;
  audit: AuditService;
  /** Offers "Email me a sign-in code" on the login page; null when email is not configured. */
  email: InteractionEmail | null;
}

/** The signed-in user an interaction finishes with (a fresh sign-in or a reused platform session). */
type SignedIn = Pick<ActiveSession, 'userId' | 'amr' | 'authTime'>;

/** One loaded interaction: the provider's record, its client and what its forms carry. */
interface Loaded {
  projectId: string;
  provider: Provider;
  details: InteractionDetails;
  client: OidcClientsTable;
  form: FormContext;
}

const EXPIRED = messagePage(
  400,
  'Sign-in expired',
  'This sign-in request has expired or is not valid here. Go back to the application and start again.',
);
const STALE_FORM = messagePage(
  403,
  'Form expired',
  'This form is no longer valid. Go back to the application and start again.',
);

const WRONG_CODE = 'The code is wrong or was already used.';

/** The page options after too many wrong codes: a 429 with its Retry-After. */
function tooManyCodes(retryAfter: number): { status: number; retryAfter: number; error: string } {
  return { status: 429, retryAfter, error: `Too many wrong codes. Try again in ${retryAfter} seconds.` };
}

/** The Retry-After of a 429 Problem (a back-off of wrong codes); anything else is rethrown. */
function retryAfterOf(error: unknown): number {
  if (!(error instanceof Problem) || error.status !== 429) throw error;
  return Number(error.headers['retry-after']);
}

/**
 * The login, second-factor and consent pages of every project's issuer, at `/p/{projectId}/interaction/
 * {uid}`: outside the issuer's path, so they are plain Fastify routes (middie hands everything under
 * `/oidc` to the provider). The provider's interaction cookie is scoped to this path and the platform's
 * session cookie to `/p/{projectId}/`, so both reach these routes; each form also carries a CSRF token
 * bound to the interaction. Forms post back as application/x-www-form-urlencoded: no JavaScript needed.
 */
export async function interactionRoutes(app: FastifyInstance, deps: InteractionDeps): Promise<void> {
  const { identity, sessionAuth } = deps;

  await app.register(async (scope) => {
    servePages(scope, 'oidc interaction failed');

    const base = '/p/:projectId/interaction/:uid';
    const opts = { schema: { hide: true } };
    if (deps.email) {
      emailInteractionRoutes(scope, identity, deps.email, {
        load,
        signIn,
        startEnrollment,
        deviceId: (request) => sessionAuth.deviceId(request),
        keepDevice,
      });
    }

    scope.get(base, opts, async (request, reply) => {
      const loaded = await load(request, reply, undefined);
      if (loaded.details.prompt.name === 'login') return showLogin(request, reply, loaded);
      if (loaded.details.prompt.name === 'consent') {
        // A first-party client's grant is topped up before the prompt (first-party-grant.ts); it is asked
        // only when the request itself demands consent (prompt=consent, a native client): approved unseen.
        if (loaded.client.skip_consent === 1) return grantConsent(request, reply, loaded);
        return sendPage(reply, consentPage(loaded.form, requestedScopes(loaded.details)));
      }
      return sendPage(reply, EXPIRED);
    });

    scope.post(`${base}/login`, opts, async (request, reply) => {
      const loaded = await load(request, reply, 'login');
      const form = request.body as Form;
      const identifier = field(form, 'identifier', 320);
      const password = field(form, 'password', 1024);
      if (!identifier || !password) {
        return sendPage(
          reply,
          loginPage(loaded.form, {
            status: 400,
            error: 'Enter your username or email and your password.',
            identifier,
          }),
        );
      }
      const deviceId = sessionAuth.deviceId(request);
      const outcome = await identity.authenticate(
        loaded.projectId,
        { identifier, password },
        { ip: request.ip, deviceId },
      );
      if (outcome.status === 'ok' || outcome.status === 'mfa_required') {
        await keepDevice(reply, loaded.projectId, deviceId);
      }
      switch (outcome.status) {
        case 'ok':
          if (outcome.mfaEnrollmentRequired)
            return startEnrollment(reply, loaded, outcome.userId, outcome.amr);
          return signIn(request, reply, loaded, outcome.userId, outcome.amr);
        case 'mfa_required': {
          const options = {
            challenge: outcome.challenge,
            ...(outcome.reason ? { notice: outcome.reason } : {}),
          };
          return sendPage(
            reply,
            outcome.methods.includes('email_code')
              ? emailCodePage(loaded.form, options)
              : totpPage(loaded.form, options),
          );
        }
        case 'locked':
          return sendPage(reply, lockedLogin(loaded.form, outcome.retryAfterSeconds, identifier));
        case 'failed':
          return sendPage(
            reply,
            outcome.reason === 'disabled'
              ? loginPage(loaded.form, { status: 403, error: 'This account is disabled.', identifier })
              : outcome.reason === 'second_factor_unavailable'
                ? loginPage(loaded.form, { status: 403, error: SECOND_FACTOR_UNAVAILABLE, identifier })
                : loginPage(loaded.form, {
                    status: 401,
                    error: 'The username, email or password is wrong.',
                    identifier,
                  }),
          );
      }
    });

    scope.post(`${base}/totp`, opts, async (request, reply) => {
      const loaded = await load(request, reply, 'login');
      const form = request.body as Form;
      const challenge = field(form, 'challenge', 200);
      const code = field(form, 'code', 16).trim();
      const recoveryCode = field(form, 'recoveryCode', 64).trim();
      const emailCode = field(form, 'emailCode', 16).trim();
      const factor = emailCode ? { emailCode } : code ? { code } : { recoveryCode };
      // The page the code came from, again, for another try.
      const retry = (options: { status: number; error: string; retryAfter?: number }) =>
        emailCode
          ? emailCodePage(loaded.form, { challenge, ...options })
          : totpPage(loaded.form, { challenge, ...options });
      const deviceId = sessionAuth.deviceId(request);
      const outcome = await identity.verifySecondFactor(loaded.projectId, challenge, factor, {
        ip: request.ip,
        deviceId,
      });
      switch (outcome.status) {
        case 'ok':
          await keepDevice(reply, loaded.projectId, deviceId);
          return signIn(request, reply, loaded, outcome.userId, outcome.amr);
        case 'locked':
          return sendPage(reply, retry(tooManyCodes(outcome.retryAfterSeconds)));
        case 'failed':
          return sendPage(
            reply,
            outcome.reason === 'invalid_code'
              ? retry({ status: 401, error: WRONG_CODE })
              : loginPage(loaded.form, {
                  status: 401,
                  error: 'Too late or too many attempts: sign in again.',
                }),
          );
      }
    });

    scope.post(`${base}/step-up`, opts, async (request, reply) => {
      const loaded = await load(request, reply, 'login');
      const session = await reusableSession(request, loaded);
      if (!session) return sendPage(reply, loginPage(loaded.form));
      const form = request.body as Form;
      const code = field(form, 'code', 16).trim();
      const factor = code ? { code } : { recoveryCode: field(form, 'recoveryCode', 64).trim() };
      let amr: string[] | null;
      try {
        amr = await identity.stepUpSession(session, factor);
      } catch (error) {
        return sendPage(reply, totpPage(loaded.form, tooManyCodes(retryAfterOf(error))));
      }
      if (!amr) {
        return sendPage(reply, totpPage(loaded.form, { status: 401, error: WRONG_CODE }));
      }
      return finishLogin(request, reply, loaded, { ...session, amr });
    });

    scope.post(`${base}/enroll`, opts, async (request, reply) => {
      const loaded = await load(request, reply, 'login');
      const session = await sessionAuth.fromCookie(request.headers.cookie, loaded.projectId);
      if (!session?.restricted) return sendPage(reply, loginPage(loaded.form));
      const code = field(request.body as Form, 'code', 16).trim();
      let recoveryCodes: string[];
      try {
        recoveryCodes = await identity.confirmTotp(session, code);
      } catch (error) {
        if (!(error instanceof Problem) || ![403, 409, 429].includes(error.status)) throw error;
        const enrollment = await identity.pendingTotp(session);
        if (!enrollment) return sendPage(reply, loginPage(loaded.form));
        const options =
          error.status === 429 ? tooManyCodes(retryAfterOf(error)) : { status: 401, error: WRONG_CODE };
        return sendPage(reply, enrollTotpPage(loaded.form, enrollment, options));
      }
      return sendPage(reply, recoveryCodesPage(loaded.form, recoveryCodes));
    });

    scope.post(`${base}/continue`, opts, async (request, reply) => {
      const loaded = await load(request, reply, 'login');
      const session = await sessionAuth.fromCookie(request.headers.cookie, loaded.projectId);
      if (!session || session.restricted) return sendPage(reply, loginPage(loaded.form));
      return finishLogin(request, reply, loaded, session);
    });

    scope.post(`${base}/consent`, opts, async (request, reply) => {
      const loaded = await load(request, reply, 'consent');
      const decision = field(request.body as Form, 'decision', 16);
      if (decision === 'approve') return grantConsent(request, reply, loaded);
      if (decision !== 'deny')
        return sendPage(reply, consentPage(loaded.form, requestedScopes(loaded.details)));
      return finish(request, reply, loaded, {
        error: 'access_denied',
        error_description: 'The user denied access.',
      });
    });
  });

  /** The interaction of the request, checked against its project, uid, expected prompt and CSRF token. */
  async function load(
    request: FastifyRequest,
    reply: FastifyReply,
    prompt: 'login' | 'consent' | undefined,
  ): Promise<Loaded> {
    const { projectId, uid } = request.params as { projectId: string; uid: string };
    if (!/^prj_[0-9a-f]{32}$/.test(projectId) || !(await deps.tenancy.projectExists(projectId))) {
      throw new PageError(messagePage(404, 'Not found', 'There is no such page.'));
    }
    const provider = await deps.registry.get(projectId);
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(request.raw, reply.raw);
    } catch (error) {
      // No interaction cookie of this issuer, or its record expired.
      if (error instanceof errors.SessionNotFound) throw new PageError(EXPIRED);
      throw error;
    }
    if (details.uid !== uid) throw new PageError(EXPIRED);
    if (prompt && details.prompt.name !== prompt) throw new PageError(EXPIRED);
    if (prompt && !deps.csrf.verify(projectId, uid, (request.body as Form | undefined)?.csrf)) {
      throw new PageError(STALE_FORM);
    }
    const client = await deps.clients.findForProvider(projectId, details.params.client_id);
    if (!client) throw new PageError(EXPIRED);
    return {
      projectId,
      provider,
      details,
      client,
      form: {
        base: `/p/${projectId}/interaction/${uid}`,
        csrf: deps.csrf.token(projectId, uid),
        clientName: client.name,
        emailSignIn: deps.email !== null && (await deps.identity.emailSignInAllowed(projectId)),
      },
    };
  }

  /** Remembers the browser's device for the user when the project uses adaptive MFA. */
  async function keepDevice(reply: FastifyReply, projectId: string, deviceId: string): Promise<void> {
    if (await identity.usesAdaptiveMfa(projectId)) sessionAuth.setDeviceCookie(reply, projectId, deviceId);
  }

  /** The platform session may stand in for the login form unless the request asks for a fresh sign-in. */
  async function reusableSession(request: FastifyRequest, loaded: Loaded): Promise<ActiveSession | null> {
    const session = await sessionAuth.fromCookie(request.headers.cookie, loaded.projectId);
    if (!session || session.restricted) return null;
    if (loaded.details.prompt.reasons.includes('login_prompt')) return null;
    const maxAge = loaded.details.params.max_age;
    if (maxAge !== undefined) {
      const ageSeconds = (identity.now().getTime() - Date.parse(session.authTime)) / 1000;
      if (!(ageSeconds < Number(maxAge))) return null;
    }
    return session;
  }

  async function showLogin(request: FastifyRequest, reply: FastifyReply, loaded: Loaded) {
    const session = await reusableSession(request, loaded);
    if (!session) return sendPage(reply, loginPage(loaded.form));
    if (wantsMfa(loaded.details) && acrOf(session.amr) !== ACR_MFA) {
      const { totpEnabled } = await identity.account(session);
      if (totpEnabled) return sendPage(reply, totpPage(loaded.form));
    }
    return finishLogin(request, reply, loaded, session);
  }

  /** A completed sign-in: a platform session for the browser, then back to the provider. */
  async function signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    loaded: Loaded,
    userId: string,
    amr: string[],
  ) {
    const signed = await identity.startSession(loaded.projectId, userId, amr, false);
    sessionAuth.setCookie(reply, loaded.projectId, signed.token, signed.session.expiresAt);
    return finishLogin(request, reply, loaded, signed.session);
  }

  /**
   * A user of a project requiring MFA who has no TOTP: a restricted session that can only enroll, and the
   * enrollment page; confirming it lifts the restriction and the sign-in continues (`/continue`).
   */
  async function startEnrollment(reply: FastifyReply, loaded: Loaded, userId: string, amr: string[]) {
    const signed = await identity.startSession(loaded.projectId, userId, amr, true);
    sessionAuth.setCookie(reply, loaded.projectId, signed.token, signed.session.expiresAt);
    const session = await identity.sessions.resolve(loaded.projectId, signed.token);
    if (!session) throw new PageError(EXPIRED);
    return sendPage(reply, enrollTotpPage(loaded.form, await identity.beginTotp(session)));
  }

  async function finishLogin(request: FastifyRequest, reply: FastifyReply, loaded: Loaded, user: SignedIn) {
    const acr = acrOf(user.amr);
    await deps.audit.recordAlone({
      type: 'oidc.signed_in',
      orgId: null,
      projectId: loaded.projectId,
      actor: user.userId,
      subject: loaded.client.id,
      details: { clientId: loaded.client.id, acr, amr: user.amr },
    });
    return finish(request, reply, loaded, {
      login: {
        accountId: user.userId,
        amr: user.amr,
        acr,
        ts: Math.floor(Date.parse(user.authTime) / 1000),
      },
    });
  }

  async function grantConsent(request: FastifyRequest, reply: FastifyReply, loaded: Loaded) {
    const { provider, details } = loaded;
    const accountId = details.session?.accountId;
    if (!accountId) throw new PageError(EXPIRED);
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId: details.params.client_id });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    await deps.audit.recordAlone({
      type: 'oidc.consent_granted',
      orgId: null,
      projectId: loaded.projectId,
      actor: accountId,
      subject: grantId,
      details: {
        clientId: loaded.client.id,
        scopes: requestedScopes(details),
        firstParty: loaded.client.skip_consent === 1,
      },
    });
    return finish(request, reply, loaded, { consent: { grantId } });
  }

  async function finish(
    request: FastifyRequest,
    reply: FastifyReply,
    loaded: Loaded,
    result: InteractionResult,
  ) {
    const returnTo = await loaded.provider.interactionResult(request.raw, reply.raw, result);
    return reply.header('cache-control', 'no-store').redirect(returnTo, 303);
  }
}

function wantsMfa(details: InteractionDetails): boolean {
  return (details.params.acr_values ?? '').split(' ').includes(ACR_MFA);
}

function requestedScopes(details: InteractionDetails): string[] {
  const missing = details.prompt.details;
  return [
    ...new Set([
      ...(missing.missingOIDCScope ?? []),
      ...Object.values(missing.missingResourceScopes ?? {}).flat(),
    ]),
  ];
}

function lockedLogin(form: FormContext, retryAfter: number, identifier: string): Page {
  return loginPage(form, {
    status: 429,
    retryAfter,
    identifier,
    error: `Too many failed attempts. Try again in ${retryAfter} seconds.`,
  });
}
