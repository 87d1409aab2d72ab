import { Oauth2ErrorCodes } from '@openid4vc/oauth2';

/** The RFC 6749 / OpenID4VCI error codes the issuer answers with. */
export type OAuthErrorCode =
  | Oauth2ErrorCodes.InvalidRequest
  | Oauth2ErrorCodes.InvalidGrant
  | Oauth2ErrorCodes.UnsupportedGrantType
  | Oauth2ErrorCodes.InvalidToken
  | Oauth2ErrorCodes.InvalidCredentialRequest
  | Oauth2ErrorCodes.UnknownCredentialConfiguration
  | Oauth2ErrorCodes.CredentialRequestDenied
  | Oauth2ErrorCodes.InvalidProof
  | Oauth2ErrorCodes.InvalidNonce;

/**
 * An error of the token or credential endpoint, answered as `{error, error_description}` JSON (RFC 6749
 * §5.2, OpenID4VCI §8.3.1) rather than problem+json: wallets act on `error`. invalid_token is 401 with a
 * `WWW-Authenticate: Bearer` challenge (RFC 6750 §3); every other code is 400.
 */
export class OAuthError extends Error {
  readonly status: 400 | 401;

  constructor(
    readonly code: OAuthErrorCode,
    description: string,
  ) {
    super(description);
    this.status = code === Oauth2ErrorCodes.InvalidToken ? 401 : 400;
  }
}

export { Oauth2ErrorCodes };
