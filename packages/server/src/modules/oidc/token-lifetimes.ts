/**
 * How long the issuers' tokens live, in seconds: the provider's `ttl` configuration (provider.ts), and
 * what key rotation reads to know how long a retired key must stay published (signing-keys.ts).
 */

/** Lifetime of access tokens from the client-credentials grant (and of the JWTs the platform API accepts). */
export const CLIENT_CREDENTIALS_TTL_SECONDS = 600;

/** Interactive-flow lifetimes. */
export const TTL = {
  AccessToken: 600,
  AuthorizationCode: 60,
  IdToken: 600,
  Interaction: 600,
  DeviceCode: 600,
  RefreshToken: 14 * 24 * 3600,
  Grant: 14 * 24 * 3600,
  Session: 14 * 24 * 3600,
};

/**
 * The longest life of a token signed with an issuer key: JWT access tokens and ID tokens. (Refresh tokens,
 * grants and sessions are opaque records in the database, never signed with these keys.)
 */
export const LONGEST_SIGNED_TOKEN_TTL_SECONDS = Math.max(
  TTL.AccessToken,
  TTL.IdToken,
  CLIENT_CREDENTIALS_TTL_SECONDS,
);
