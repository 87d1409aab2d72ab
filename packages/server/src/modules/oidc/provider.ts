import { createSecretKey, timingSafeEqual } from 'node:crypto';
import { hkdfSha256 } from '@personachain/crypto';
import Provider, {
  type ExternalSigningKey,
  errors,
  interactionPolicy,
  type KoaContextWithOIDC,
  type ProviderClient,
} from 'oidc-provider';
import type { UserAccount } from '../identity/service.js';
import { ACR_MFA, ACR_VALUES } from './acr.js';
import type { ProviderAdapter } from './adapter.js';
import { hashClientSecret, isPlatformScope } from './clients.js';
import { CookieSigner } from './cookie-signer.js';
import { DPOP_ALGORITHMS } from './dpop.js';
import { FIRST_PARTY_METADATA, type FirstPartyConsent, loadExistingGrant } from './first-party-grant.js';
import { deviceConfirmPage, deviceInputPage, deviceSuccessPage } from './pages/device.js';
import { sendPage } from './pages/koa.js';
import { logoutPage, signedOutPage } from './pages/logout.js';
import { DEFAULT_ID_TOKEN_ALG, JWKS_MAX_AGE_SECONDS, JWS_ALGORITHMS } from './signing-keys.js';
import { CLIENT_CREDENTIALS_TTL_SECONDS, TTL } from './token-lifetimes.js';

export interface ProjectProviderOptions {
  issuer: string;
  projectId: string;
  /** The platform API as a resource server: `{publicUrl}/v1`. */
  platformAudience: string;
  masterKey: Uint8Array;
  adapter: new (model: string) => ProviderAdapter;
  signingKeys: ExternalSigningKey[];
  /** Every scope a client of the project may request. */
  scopes: ReadonlySet<string>;
  /** The resource servers a client registered, besides the platform API. */
  clientResources: (clientId: string) => Promise<string[]>;
  /** The project's active user by id, with its OIDC claims. */
  findAccount: (userId: string) => Promise<UserAccount | null>;
  /** Ends the platform session the browser presents (its Cookie header) when it signs out at the issuer. */
  endPlatformSession: (cookieHeader: string | undefined) => Promise<{ clearCookie: string } | undefined>;
  /** Security events of this issuer, for the audit trail. */
  onEvent: (event: IssuerEvent) => void;
  /** Audits what a first-party client was granted without a consent page; the sign-in waits for it. */
  recordFirstPartyConsent: (consent: FirstPartyConsent) => Promise<void>;
}

export type IssuerEvent =
  | { type: 'oidc.logged_out'; clientId: string | undefined; accountId: string | undefined }
  | { type: 'oidc.refresh_token_reused'; clientId: string; grantId: string | undefined };

const encoder = new TextEncoder();

function derive(masterKey: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSha256(masterKey, undefined, encoder.encode(info), 32));
}

/**
 * The login prompt's checks plus one: a request for the MFA acr when the provider session was not
 * authenticated with a second factor asks for login again (the interaction pages then ask only for it).
 */
function loginPolicy() {
  const { Check, base } = interactionPolicy;
  const policy = base();
  policy.get('login')?.checks.add(
    new Check('acr_step_up', 'a second factor is required', (ctx: KoaContextWithOIDC) => {
      const requested = String(ctx.oidc.params?.acr_values ?? '').split(' ');
      // A login result in hand is final: the user may have no second factor to give.
      return requested.includes(ACR_MFA) && ctx.oidc.session?.acr !== ACR_MFA && !ctx.oidc.result?.login
        ? Check.REQUEST_PROMPT
        : Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}

/**
 * One project's authorization server: authorization code with PKCE (S256, every client), refresh tokens
 * rotated on every use, the device authorization grant, RP-initiated logout, client credentials, resource indicators, introspection,
 * revocation, DPoP and PAR. The login, MFA and consent pages are the platform's (interaction-routes.ts);
 * devInteractions is off.
 */
export function createProjectProvider(options: ProjectProviderOptions): Provider {
  const { projectId, platformAudience } = options;
  const provider = new Provider(options.issuer, {
    adapter: options.adapter,
    jwks: { keys: options.signingKeys },
    scopes: [...options.scopes],
    cookies: {
      // Keys every replica derives alike from the master key; never a constant in code. A KeyObject, not
      // bytes: every cookie read and write runs an HMAC, and Node re-imports a raw key on each of them.
      keys: new CookieSigner([
        createSecretKey(derive(options.masterKey, `persona oidc cookies ${projectId}`)),
      ]),
    },
    clientBasedCORS: () => false,
    extraClientMetadata: { properties: [FIRST_PARTY_METADATA] },
    loadExistingGrant: (ctx: KoaContextWithOIDC) => loadExistingGrant(ctx, options.recordFirstPartyConsent),
    // The provider keeps only the claims the granted scopes name (the `claims` map below).
    findAccount: async (_ctx: unknown, accountId: string) =>
      (await options.findAccount(accountId)) ?? undefined,
    claims: {
      sid: null,
      // How and when the user signed in goes with every ID token: RPs decide on step-up from it.
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      // The user's primary (first linked) DID, when they linked one: modules/wallet.
      did: ['did'],
    },
    // Scope claims go in the ID token too, not only in userinfo: RPs of the code flow read them there.
    conformIdTokenClaims: false,
    acrValues: [...ACR_VALUES],
    interactions: {
      policy: loginPolicy(),
      url: (_ctx: unknown, interaction: { uid: string }) => `/p/${projectId}/interaction/${interaction.uid}`,
    },
    pkce: { required: () => true },
    // Every use rotates; see REFRESH_REUSE_GRACE_SECONDS in adapter.ts for reuse detection.
    rotateRefreshToken: true,
    enabledJWA: {
      idTokenSigningAlgValues: [...JWS_ALGORITHMS],
      dPoPSigningAlgValues: [...DPOP_ALGORITHMS],
    },
    clientDefaults: { id_token_signed_response_alg: DEFAULT_ID_TOKEN_ALG },
    ttl: { ...TTL, ClientCredentials: CLIENT_CREDENTIALS_TTL_SECONDS },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (
          ctx: KoaContextWithOIDC,
          form: string,
          _out: unknown,
          error?: { name?: string; status?: number },
        ) => sendPage(ctx, deviceInputPage(form, error)),
        userCodeConfirmSource: async (
          ctx: KoaContextWithOIDC,
          form: string,
          client: ProviderClient,
          _deviceInfo: unknown,
          userCode: string,
        ) => sendPage(ctx, deviceConfirmPage(form, client.clientName ?? client.clientId, userCode)),
        successSource: async (ctx: KoaContextWithOIDC) =>
          sendPage(ctx, deviceSuccessPage(ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId ?? '')),
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: KoaContextWithOIDC, form: string) => sendPage(ctx, logoutPage(form)),
        postLogoutSuccessSource: async (ctx: KoaContextWithOIDC) => sendPage(ctx, signedOutPage()),
      },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Any authenticated client of the project (resource servers introspect tokens of other clients).
        allowedPolicy: async (_ctx: unknown, client: ProviderClient) => client.clientSecret !== undefined,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: ProviderClient, token: { clientId: string }) =>
          token.clientId === client.clientId,
      },
      dPoP: {
        enabled: true,
        // Shared by every replica, so a nonce one issues another accepts.
        nonceSecret: derive(options.masterKey, `persona oidc dpop nonce ${projectId}`),
      },
      pushedAuthorizationRequests: { enabled: true },
      externalSigningSupport: { enabled: true, ack: 'experimental-01' },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx: unknown, resource: string, client: ProviderClient) => {
          if (resource === platformAudience) {
            return {
              audience: platformAudience,
              scope: [...options.scopes].filter(isPlatformScope).join(' '),
              accessTokenFormat: 'jwt',
              accessTokenTTL: CLIENT_CREDENTIALS_TTL_SECONDS,
              jwt: { sign: { alg: 'EdDSA' } },
            };
          }
          if ((await options.clientResources(client.clientId)).includes(resource)) {
            // A client's own resource servers get opaque tokens: introspectable and revocable.
            return {
              audience: resource,
              scope: [...options.scopes].filter((scope) => !isPlatformScope(scope)).join(' '),
              accessTokenFormat: 'opaque',
              accessTokenTTL: CLIENT_CREDENTIALS_TTL_SECONDS,
            };
          }
          throw new errors.InvalidTarget();
        },
      },
    },
  });

  // Clients' `client_secret` is the SHA-256 of the secret (see adapter.ts): compare hashes, in constant time.
  provider.Client.prototype.compareClientSecret = function (this: ProviderClient, actual: string) {
    const stored = Buffer.from(this.clientSecret ?? '', 'hex');
    const presented = Buffer.from(hashClientSecret(actual), 'hex');
    return stored.length === presented.length && timingSafeEqual(stored, presented);
  };
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'jwks' && ctx.status === 200) {
      // Verifiers may cache the key set this long: far less than the delay before a published key signs.
      ctx.set('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      return;
    }
    if (ctx.oidc?.route !== 'end_session_confirm' || ctx.status !== 303) return;
    const ended = await options.endPlatformSession(ctx.get('cookie') || undefined);
    if (ended) ctx.append('set-cookie', ended.clearCookie);
  });
  provider.on('end_session.success', (ctx) => {
    const { oidc } = ctx as KoaContextWithOIDC;
    options.onEvent({
      type: 'oidc.logged_out',
      clientId: oidc.client?.clientId,
      accountId: oidc.session?.accountId,
    });
  });
  provider.on('grant.error', (ctx, error) => {
    const { oidc } = ctx as KoaContextWithOIDC;
    const detail = (error as { error_detail?: string }).error_detail;
    if (oidc.client && detail === 'refresh token already used') {
      options.onEvent({
        type: 'oidc.refresh_token_reused',
        clientId: oidc.client.clientId,
        grantId: oidc.entities?.RefreshToken?.grantId,
      });
    }
  });
  return provider;
}
