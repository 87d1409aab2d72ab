import { Type } from 'typebox';
import { IssuerId } from '../issuers/schemas.js';
import { ProjectId } from '../tenancy/schemas.js';
import {
  CLAIM_NAME_PATTERN,
  CREDENTIAL_TYPE_PATTERN,
  MAX_CLAIM_STRING_LENGTH,
  MAX_CLAIMS,
  MAX_OFFER_TTL_SECONDS,
  REASON_PATTERN,
} from './service.js';

const OfferId = Type.String({ pattern: '^cof_[0-9a-f]{32}$', description: 'Credential offer id.' });

export const ProjectParams = Type.Object({ projectId: ProjectId });
export const OfferParams = Type.Object({ projectId: ProjectId, offerId: OfferId });
export const TypeParams = Type.Object({
  projectId: ProjectId,
  credentialType: Type.String({ pattern: CREDENTIAL_TYPE_PATTERN.source }),
});

export const CreateOfferRequest = Type.Object(
  {
    issuerId: IssuerId,
    credentialType: Type.String({
      pattern: CREDENTIAL_TYPE_PATTERN.source,
      description:
        'The credential type, e.g. `IdentityVerificationCredential`: configurations `<type>_bbs` (ldp_vc, ' +
        'bbs-2023; when the issuer has that suite) and `<type>_sd_jwt` (dc+sd-jwt; when it has a JWS key).',
    }),
    claims: Type.Record(
      Type.String({ pattern: CLAIM_NAME_PATTERN.source }),
      Type.Union([Type.String({ maxLength: MAX_CLAIM_STRING_LENGTH }), Type.Number(), Type.Boolean()]),
      {
        minProperties: 1,
        maxProperties: MAX_CLAIMS,
        description:
          'Flat claims of the credential subject, each selectively disclosable by the holder. Not `id`, ' +
          '`type`, `iss`, `sub`, `aud`, `vct`, `cnf`, `iat`, `exp`, `nbf`, `jti` or `status`.',
      },
    ),
    subjectDid: Type.Optional(
      Type.Union([Type.String({ minLength: 8, maxLength: 2048 }), Type.Null()], {
        description: 'Only a wallet proving a key of this DID gets the credential.',
      }),
    ),
    reference: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description:
          'Your reference for the offer (default: the offer id), to revoke by later; the audit trail records its SHA-256.',
      }),
    ),
    ttlSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_OFFER_TTL_SECONDS,
        description: 'How long the pre-authorized code can be redeemed (default 86 400).',
      }),
    ),
    txCode: Type.Optional(
      Type.Boolean({ description: 'Require a 6-digit transaction code with the code (default true).' }),
    ),
  },
  { additionalProperties: false },
);

export const RevokeReferenceRequest = Type.Object(
  {
    reference: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'The reference the offers were made with.',
    }),
    reason: Type.Optional(
      Type.String({
        pattern: REASON_PATTERN.source,
        description:
          'A reason code recorded in the audit trail, e.g. `provider_reversal` (default `revoked`).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RevokeReferenceResponse = Type.Object({
  offersCanceled: Type.Integer({ description: 'Offers of the reference that were still usable.' }),
  credentialsRevoked: Type.Integer({
    description: 'bbs-2023 credentials revoked in their status list (SD-JWT VCs end at their `exp`).',
  }),
});

export const CreatedOffer = Type.Object({
  offerId: OfferId,
  credentialOfferUri: Type.String({ description: 'GET answers the offer JSON while it can be redeemed.' }),
  offerLink: Type.String({
    description: '`openid-credential-offer://?credential_offer_uri=…`: show as a QR code or link.',
  }),
  txCode: Type.Union([Type.String(), Type.Null()], {
    description: 'Shown once. Give it to the holder through another channel than the offer link.',
  }),
  expiresAt: Type.String({ format: 'date-time' }),
  credentialConfigurationIds: Type.Array(Type.String()),
});

/** RFC 6749 §5.2 / OpenID4VCI §8.3.1 error body. */
export const OAuthErrorBody = Type.Object(
  { error: Type.String(), error_description: Type.Optional(Type.String()) },
  { description: 'OAuth 2.0 error (application/json)' },
);

const Loose = { additionalProperties: true } as const;

export const IssuerMetadata = Type.Object(
  {
    credential_issuer: Type.String(),
    credential_endpoint: Type.String(),
    nonce_endpoint: Type.String(),
    credential_configurations_supported: Type.Record(Type.String(), Type.Unknown()),
  },
  { ...Loose, description: 'OpenID4VCI 1.0 Credential Issuer Metadata' },
);

export const AuthorizationServerMetadata = Type.Object(
  {
    issuer: Type.String(),
    token_endpoint: Type.String(),
    grant_types_supported: Type.Array(Type.String()),
    'pre-authorized_grant_anonymous_access_supported': Type.Boolean(),
  },
  { ...Loose, description: 'RFC 8414 Authorization Server Metadata' },
);

export const TypeMetadata = Type.Object(
  { vct: Type.String(), name: Type.String() },
  { ...Loose, description: 'SD-JWT VC Type Metadata' },
);

export const CredentialOffer = Type.Object(
  {
    credential_issuer: Type.String(),
    credential_configuration_ids: Type.Array(Type.String()),
    grants: Type.Record(Type.String(), Type.Unknown()),
  },
  { ...Loose, description: 'OpenID4VCI 1.0 Credential Offer' },
);

export const TokenRequest = Type.Record(Type.String(), Type.String(), {
  description:
    'application/x-www-form-urlencoded: `grant_type=urn:ietf:params:oauth:grant-type:pre-authorized_code`, ' +
    '`pre-authorized_code`, and `tx_code` when the offer has one.',
});

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
});

export const NonceResponse = Type.Object({ c_nonce: Type.String() });

export const CredentialRequest = Type.Object(
  {
    credential_configuration_id: Type.Optional(Type.String({ maxLength: 128 })),
    proofs: Type.Optional(
      Type.Object(
        { jwt: Type.Optional(Type.Array(Type.String({ maxLength: 16_384 }), { maxItems: 10 })) },
        Loose,
      ),
    ),
    proof: Type.Optional(
      Type.Object(
        { proof_type: Type.String(), jwt: Type.Optional(Type.String({ maxLength: 16_384 })) },
        Loose,
      ),
    ),
  },
  {
    ...Loose,
    description:
      '`credential_configuration_id` of the offer and one `jwt` proof (`proofs.jwt: [jwt]`, or the ' +
      'single `proof` of earlier drafts) with `typ: openid4vci-proof+jwt`, `aud` = the credential issuer, ' +
      'a fresh `iat` and a `nonce` from the nonce endpoint.',
  },
);

export const CredentialResponse = Type.Object({
  credentials: Type.Array(
    Type.Object({
      credential: Type.Unknown({
        description: 'ldp_vc: the bbs-2023 credential (JSON); dc+sd-jwt: the SD-JWT VC (string).',
      }),
    }),
  ),
});
