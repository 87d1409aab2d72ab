import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { RateLimitConfig } from '../../config.js';
import { ProblemResponses, ProblemSchema } from '../../http/openapi.js';
import { Problem } from '../../http/problem.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import { OAuthError, type OAuthErrorCode, Oauth2ErrorCodes } from './oauth-error.js';
import {
  AuthorizationServerMetadata,
  CreatedOffer,
  CreateOfferRequest,
  CredentialOffer,
  CredentialRequest,
  CredentialResponse,
  IssuerMetadata,
  NonceResponse,
  OAuthErrorBody,
  OfferParams,
  ProjectParams,
  RevokeReferenceRequest,
  RevokeReferenceResponse,
  TokenRequest,
  TokenResponse,
  TypeMetadata,
  TypeParams,
} from './schemas.js';
import type { Oid4vciService } from './service.js';

/** A form-encoded token request is a few hundred bytes. */
const FORM_BODY_LIMIT = 8192;
/** A credential request holds one proof JWT (a did:key kid or a JWK header). */
const CREDENTIAL_BODY_LIMIT = 65_536;

/**
 * `POST /v1/projects/{projectId}/credential-offers` (a pre-authorized offer for any flat claims) and its
 * cancellation. Thin: the service authorizes (credentials:issue).
 */
export const credentialOfferRoutes: FastifyPluginAsyncTypebox<{ oid4vci: Oid4vciService }> = async (
  app,
  { oid4vci },
) => {
  const tags = ['credentials'];
  app.post(
    '/v1/projects/:projectId/credential-offers',
    {
      schema: {
        tags,
        summary: 'Offer a credential to a wallet with OpenID4VCI (pre-authorized code; developer and above)',
        description:
          'Creates an OpenID4VCI 1.0 credential offer for flat claims, issued by one of the project’s issuers ' +
          'when a wallet redeems it: show `offerLink` (or `credentialOfferUri`) as a QR code and give the ' +
          '`txCode` to the holder through another channel. See docs/oid4vci.md.',
        params: ProjectParams,
        body: CreateOfferRequest,
        response: { 201: CreatedOffer, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await oid4vci.createOfferFor(request.principal, request.params.projectId, request.body)),
  );

  app.post(
    '/v1/projects/:projectId/credential-offers/revocations',
    {
      schema: {
        tags,
        summary: 'Cancel the offers of a reference and revoke what was issued for it (developer and above)',
        description:
          'For a reversed decision: every offer made with `reference` stops working and every bbs-2023 ' +
          'credential issued for it is revoked in its issuer’s status list (scope credentials:status).',
        params: ProjectParams,
        body: RevokeReferenceRequest,
        response: { 200: RevokeReferenceResponse, ...ProblemResponses },
      },
    },
    async (request) => oid4vci.revokeReferenceFor(request.principal, request.params.projectId, request.body),
  );

  app.delete(
    '/v1/projects/:projectId/credential-offers/:offerId',
    {
      schema: {
        tags,
        summary: 'Cancel a credential offer (developer and above)',
        description:
          'Its pre-authorized code and access tokens stop working at once; credentials already issued stay ' +
          'valid (revoke them with the issuer’s status endpoint). Idempotent.',
        params: OfferParams,
        response: { 204: { type: 'null' }, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await oid4vci.cancelOffer(request.principal, request.params.projectId, request.params.offerId);
      return reply.code(204).send(null);
    },
  );
};

/**
 * The wallet-facing OpenID4VCI 1.0 endpoints of each project's credential issuer
 * (`{publicUrl}/oid4vci/{projectId}`): metadata at the path-inserted well-known URLs, the offer behind
 * `credential_offer_uri`, and the token, nonce and credential endpoints. Public (no API key) and rate-limited
 * per client address. The token and credential endpoints answer errors as OAuth JSON, not problem+json.
 */
export const oid4vciRoutes: FastifyPluginAsyncTypebox<{
  oid4vci: Oid4vciService;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}> = async (app, { oid4vci, limiter, rateLimit }) => {
  limitPerAddress(app, limiter, rateLimit, 'oid4vci');
  const tags = ['oid4vci'];

  // The app refuses bodies other than JSON; the token endpoint takes a form (RFC 6749 §4.1.3), here only.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT },
    (_request, body, done) => {
      const params: Record<string, string> = {};
      for (const [name, value] of new URLSearchParams(body as string)) {
        // RFC 6749 §3.2: a parameter must not appear more than once.
        if (Object.hasOwn(params, name)) {
          done(new OAuthError(Oauth2ErrorCodes.InvalidRequest, `${name} is repeated`), undefined);
          return;
        }
        params[name] = value;
      }
      done(null, params);
    },
  );

  // Bad input to the token and credential endpoints is an OAuth error the wallet understands.
  const badRequest = new Map<string, OAuthErrorCode>([
    ['/oid4vci/:projectId/token', Oauth2ErrorCodes.InvalidRequest],
    ['/oid4vci/:projectId/credential', Oauth2ErrorCodes.InvalidCredentialRequest],
  ]);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof OAuthError) return sendOAuthError(reply, error);
    const code = badRequest.get(request.routeOptions.url ?? '');
    if (code !== undefined && error.statusCode === 400) {
      return sendOAuthError(reply, new OAuthError(code, `the request is not valid: ${error.message}`));
    }
    // Everything else (rate limits, unsupported media types, failures) as problem+json, by the app.
    throw error;
  });

  // OAuth errors, or problem+json for what is not the wallet's doing (e.g. a credential the issuer refused).
  const oauthOrProblem = Type.Union([OAuthErrorBody, ProblemSchema]);
  const notFound = (what: string) => new Problem('not-found', `No ${what}.`);

  app.get(
    '/.well-known/openid-credential-issuer/oid4vci/:projectId',
    {
      schema: {
        tags,
        summary: 'Credential Issuer Metadata of a project (OpenID4VCI 1.0 §12.2)',
        description:
          'Lists the credential configurations the project has offered (`<type>_bbs`, `<type>_sd_jwt`); 404 ' +
          'for a project that has never made an offer.',
        security: [],
        params: ProjectParams,
        response: { 200: IssuerMetadata, ...ProblemResponses },
      },
    },
    async (request) => {
      const metadata = await oid4vci.issuerMetadata(request.params.projectId);
      if (!metadata) throw notFound('credential issuer');
      return metadata;
    },
  );

  app.get(
    '/.well-known/oauth-authorization-server/oid4vci/:projectId',
    {
      schema: {
        tags,
        summary: "Authorization Server Metadata of a project's credential issuer (RFC 8414)",
        security: [],
        params: ProjectParams,
        response: { 200: AuthorizationServerMetadata, ...ProblemResponses },
      },
    },
    async (request) => {
      const metadata = await oid4vci.authorizationServerMetadata(request.params.projectId);
      if (!metadata) throw notFound('authorization server');
      return metadata;
    },
  );

  app.get(
    '/oid4vci/:projectId/offers/:offerId',
    {
      schema: {
        tags,
        summary: 'A credential offer (the target of `credential_offer_uri`)',
        description: '404 once the offer is redeemed, expired or canceled. Not cacheable.',
        security: [],
        params: OfferParams,
        response: { 200: CredentialOffer, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const offer = await oid4vci.offer(request.params.projectId, request.params.offerId);
      if (!offer) throw notFound('credential offer');
      return offer;
    },
  );

  app.get(
    '/oid4vci/:projectId/types/:credentialType',
    {
      schema: {
        tags,
        summary: 'SD-JWT VC Type Metadata of a `vct` this issuer uses',
        security: [],
        params: TypeParams,
        response: { 200: TypeMetadata, ...ProblemResponses },
      },
    },
    async (request) => {
      const { projectId, credentialType } = request.params;
      const metadata = await oid4vci.typeMetadata(projectId, credentialType);
      if (!metadata) throw notFound('credential type');
      return metadata;
    },
  );

  app.post(
    '/oid4vci/:projectId/token',
    {
      bodyLimit: FORM_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Token endpoint: exchange a pre-authorized code (and tx_code) for an access token',
        description:
          'Form-encoded (RFC 6749 §4.1.3, OpenID4VCI §6). Errors: `invalid_request` (missing parameter, ' +
          'tx_code missing or unexpected), `invalid_grant` (unknown, expired or used code; wrong tx_code — ' +
          'the fifth wrong one cancels the offer), `unsupported_grant_type`.',
        security: [],
        params: ProjectParams,
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenRequest,
        response: { 200: TokenResponse, ...ProblemResponses, 400: oauthOrProblem },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      if (!request.headers['content-type']?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
        throw new OAuthError(
          Oauth2ErrorCodes.InvalidRequest,
          'send the token request as application/x-www-form-urlencoded',
        );
      }
      return oid4vci.token(request.params.projectId, request.body);
    },
  );

  app.post(
    '/oid4vci/:projectId/nonce',
    {
      schema: {
        tags,
        summary: 'Nonce endpoint: a fresh c_nonce for a proof of possession (single use, 5 minutes)',
        security: [],
        params: ProjectParams,
        response: { 200: NonceResponse, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const nonce = await oid4vci.nonce(request.params.projectId);
      if (!nonce) throw notFound('credential issuer');
      return nonce;
    },
  );

  app.post(
    '/oid4vci/:projectId/credential',
    {
      bodyLimit: CREDENTIAL_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Credential endpoint: one credential of the offer per request (Bearer access token)',
        description:
          'Errors: 401 `invalid_token`; 400 `invalid_credential_request`, `unknown_credential_configuration`, ' +
          '`invalid_proof`, `invalid_nonce` (get a new c_nonce and retry), `credential_request_denied` ' +
          '(already issued for this offer, or the offer was canceled).',
        security: [],
        params: ProjectParams,
        body: CredentialRequest,
        response: { 200: CredentialResponse, ...ProblemResponses, 400: oauthOrProblem, 401: oauthOrProblem },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return oid4vci.credential(
        request.params.projectId,
        request.headers.authorization,
        request.body as Record<string, unknown>,
      );
    },
  );
};

function sendOAuthError(reply: FastifyReply, error: OAuthError): FastifyReply {
  reply.code(error.status).header('cache-control', 'no-store');
  if (error.status === 401) reply.header('www-authenticate', `Bearer error="${error.code}"`);
  return reply.type('application/json').send({ error: error.code, error_description: error.message });
}
