import { Type } from 'typebox';
import { Name, ProjectId } from '../tenancy/schemas.js';
import { CLIENT_ROLES, GRANT_TYPES } from './clients.js';
import { JWS_ALGORITHMS } from './signing-keys.js';

export const ClientId = Type.String({ pattern: '^oc_[0-9a-f]{32}$', description: 'OIDC client id.' });
const Timestamp = Type.String({ format: 'date-time' });
const ScopeName = Type.String({
  pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]{1,100}$',
  description: 'An OAuth scope.',
});
const RedirectUri = Type.String({ minLength: 1, maxLength: 2000 });
const ResourceUri = Type.String({
  format: 'uri',
  maxLength: 2000,
  description: 'A resource server the client may request tokens for (RFC 8707 resource indicator).',
});

const clientFields = {
  name: Name,
  role: Type.Enum(CLIENT_ROLES, {
    description: 'The role its access tokens act with on the platform API: viewer, auditor or developer.',
  }),
  scopes: Type.Array(ScopeName, {
    maxItems: 100,
    description:
      'Scopes it may request: platform API scopes (e.g. credentials:verify) and its own resources\u2019.',
  }),
  resources: Type.Array(ResourceUri, {
    maxItems: 50,
    description: 'Its own resource servers (opaque tokens).',
  }),
  grantTypes: Type.Array(Type.Enum(GRANT_TYPES), {
    maxItems: GRANT_TYPES.length,
    description:
      'Grants it may use (default client_credentials). refresh_token tokens are issued with offline_access.',
  }),
  redirectUris: Type.Array(RedirectUri, {
    maxItems: 20,
    description: 'Where authorization responses may go: https, or http only to localhost/127.0.0.1.',
  }),
  postLogoutRedirectUris: Type.Array(RedirectUri, {
    maxItems: 20,
    description: 'Where RP-initiated logout may return to (same rules as redirectUris).',
  }),
  public: Type.Boolean({
    description: 'A public client (native or browser app): no secret, PKCE only. Fixed at creation.',
  }),
  skipConsent: Type.Boolean({ description: 'A first-party client: users are not asked for consent.' }),
  idTokenSignedResponseAlg: Type.Union([Type.Enum(JWS_ALGORITHMS), Type.Null()], {
    description:
      'The JWS algorithm of its ID tokens (OIDC id_token_signed_response_alg): EdDSA, ES256 or RS256 (for RPs that verify only RSA). null or absent: ES256.',
  }),
};

export const OidcClient = Type.Object({
  clientId: ClientId,
  projectId: ProjectId,
  name: Type.String(),
  role: Type.String(),
  scopes: Type.Array(Type.String()),
  resources: Type.Array(Type.String()),
  grantTypes: Type.Array(Type.String()),
  redirectUris: Type.Array(Type.String()),
  postLogoutRedirectUris: Type.Array(Type.String()),
  public: Type.Boolean(),
  skipConsent: Type.Boolean(),
  idTokenSignedResponseAlg: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const CreatedOidcClient = Type.Object({
  ...OidcClient.properties,
  clientSecret: Type.Optional(
    Type.String({
      description: 'The client secret (none for a public client). Shown only in this response; store it now.',
    }),
  ),
});

export const CreateOidcClient = Type.Object(
  {
    name: clientFields.name,
    role: Type.Optional(clientFields.role),
    scopes: Type.Optional(clientFields.scopes),
    resources: Type.Optional(clientFields.resources),
    grantTypes: Type.Optional(clientFields.grantTypes),
    redirectUris: Type.Optional(clientFields.redirectUris),
    postLogoutRedirectUris: Type.Optional(clientFields.postLogoutRedirectUris),
    public: Type.Optional(clientFields.public),
    skipConsent: Type.Optional(clientFields.skipConsent),
    idTokenSignedResponseAlg: Type.Optional(clientFields.idTokenSignedResponseAlg),
  },
  { additionalProperties: false },
);

export const UpdateOidcClient = Type.Object(
  {
    name: Type.Optional(clientFields.name),
    role: Type.Optional(clientFields.role),
    scopes: Type.Optional(clientFields.scopes),
    resources: Type.Optional(clientFields.resources),
    grantTypes: Type.Optional(clientFields.grantTypes),
    redirectUris: Type.Optional(clientFields.redirectUris),
    postLogoutRedirectUris: Type.Optional(clientFields.postLogoutRedirectUris),
    skipConsent: Type.Optional(clientFields.skipConsent),
    idTokenSignedResponseAlg: Type.Optional(clientFields.idTokenSignedResponseAlg),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ClientParams = Type.Object({ projectId: ProjectId, clientId: ClientId });

const Moment = Type.String({ format: 'date-time' });

export const IssuerKey = Type.Object({
  kid: Type.String(),
  alg: Type.String({ description: 'EdDSA, ES256 or RS256.' }),
  state: Type.Union([Type.Literal('next'), Type.Literal('active'), Type.Literal('retired')], {
    description:
      'next: in the JWKS, not signing yet \u00b7 active: signs tokens \u00b7 retired: in the JWKS until the tokens it signed have expired.',
  }),
  active: Type.Boolean({ description: 'Whether it signs now (state is active).' }),
  publishedAt: Moment,
  activatesAt: Type.String({ format: 'date-time', description: 'When it starts (or started) signing.' }),
  retiredAt: Type.Union([Moment, Type.Null()]),
});

export const RotateIssuerKeys = Type.Object(
  {
    immediate: Type.Optional(
      Type.Boolean({
        description:
          'Default false: a staged rotation, the new keys are published now and sign only after the publication delay (24 h), and the current keys then retire. True (after a key compromise): the new keys sign at once and every other key is revoked, out of the JWKS at once, and the tokens it signed stop working. (The default used to be immediate.)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const IssuerKeys = Type.Object({
  issuer: Type.String({ description: 'The project\u2019s issuer URL.' }),
  keys: Type.Array(IssuerKey),
});
