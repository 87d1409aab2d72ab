import { Type } from 'typebox';
import { ProjectId } from '../tenancy/schemas.js';
import { PROVIDER_KINDS } from './providers/types.js';
import { SESSION_STATUSES } from './state-machine.js';
import { CHECK_TYPES, DOCUMENT_KINDS, DOCUMENT_TYPES } from './types.js';

export const ProjectParams = Type.Object({ projectId: ProjectId });
const SessionId = Type.String({ pattern: '^vrf_[0-9a-f]{32}$', description: 'A verification session id.' });
export const SessionParams = Type.Object({ projectId: ProjectId, sessionId: SessionId });
const ProviderId = Type.String({
  pattern: '^vpc_[0-9a-f]{32}$',
  description: 'A provider configuration id.',
});
export const ProviderParams = Type.Object({ projectId: ProjectId, providerId: ProviderId });
export const WebhookParams = Type.Object({ providerId: ProviderId });
export const DocumentParams = Type.Object({ kind: Type.Enum(DOCUMENT_KINDS) });

const Iso = Type.String({ description: 'RFC 3339 time.' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const CheckRequest = Type.Object(
  {
    type: Type.Enum(CHECK_TYPES),
    minimumAge: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 150, description: '`age` checks: whole years.' }),
    ),
    connectorId: Type.Optional(
      Type.String({
        pattern: '^con_[0-9a-f]{32}$',
        description: '`connector` checks: the connector to run.',
      }),
    ),
    input: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: '`connector` checks: what the connector’s templates read as `input`.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const CreateSession = Type.Object(
  {
    subject: Type.String({
      minLength: 5,
      maxLength: 2048,
      description: 'Who is verified: a user of the project (`usr_…`) or a DID (credentials are bound to it).',
    }),
    checks: Type.Array(CheckRequest, { minItems: 1, maxItems: 16 }),
    reference: Type.Optional(
      Type.String({ maxLength: 200, description: 'Your own reference (no personal data, please).' }),
    ),
    ttlSeconds: Type.Optional(
      Type.Integer({
        minimum: 60,
        maximum: 30 * 86_400,
        description: 'Overrides the project’s session TTL.',
      }),
    ),
  },
  { additionalProperties: false },
);

const SessionResult = Type.Object({
  checks: Type.Record(Type.String(), Type.Enum(['passed', 'failed', 'review', 'not_performed'] as const)),
  reasons: Type.Array(Type.String()),
  claims: Type.Record(Type.String(), Type.Union([Type.Boolean(), Type.String()]), {
    description: 'Minimal derived claims: ageOverN, documentCountry, documentType, documentValid.',
  }),
  connectorClaims: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()))),
});

export const Session = Type.Object({
  id: SessionId,
  projectId: ProjectId,
  subject: Type.String(),
  reference: Nullable(Type.String()),
  checks: Type.Array(CheckRequest),
  status: Type.Enum(SESSION_STATUSES),
  statusReason: Nullable(Type.String()),
  decidedBy: Nullable(Type.String({ description: 'provider, reviewer, policy or system.' })),
  attempt: Type.Integer(),
  expiresAt: Iso,
  provider: Nullable(Type.Object({ id: Type.String(), ref: Nullable(Type.String()) })),
  result: Nullable(SessionResult),
  credentialOffer: Nullable(
    Type.Object({
      offerId: Type.String(),
      credentialOfferUri: Type.String(),
      offerLink: Type.Optional(
        Type.String({ description: 'openid-credential-offer:// link to show as a QR code.' }),
      ),
      txCode: Type.Optional(
        Nullable(Type.String({ description: 'Give it to the person by another channel than the link.' })),
      ),
      expiresAt: Type.Optional(Iso),
    }),
  ),
  claimedBy: Nullable(Type.String()),
  claimedUntil: Nullable(Iso),
  createdAt: Iso,
  updatedAt: Iso,
  decidedAt: Nullable(Iso),
  documentsDestroyedAt: Nullable(Iso),
});

export const CreatedSession = Type.Object({
  session: Session,
  clientToken: Type.String({
    description:
      'Shown once. Give it to the end user’s capture client (SDK `VerificationCapture`); it works only for ' +
      'this session and until it expires.',
  }),
});

export const GetQuery = Type.Object(
  {
    wait: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 60,
        description:
          'Seconds to hold the answer while the session is `submitted` or `processing`: it comes as soon as ' +
          'the session leaves them (a decision, a review, an error), or when the time is up with the session as ' +
          'it is then. Replaces polling.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    status: Type.Optional(Type.Enum(SESSION_STATUSES)),
  },
  { additionalProperties: false },
);

export const CancelBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const DecisionBody = Type.Object(
  {
    decision: Type.Enum(['approve', 'decline', 'request_resubmission'] as const),
    reason: Type.String({ minLength: 1, maxLength: 500, description: 'Why; recorded in the audit trail.' }),
  },
  { additionalProperties: false },
);

export const ReversalBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false },
);

export const History = Type.Object({
  transitions: Type.Array(
    Type.Object({
      from: Type.String(),
      to: Type.String(),
      actor: Type.String(),
      reason: Nullable(Type.String()),
      providerEvent: Nullable(Type.String()),
      at: Iso,
    }),
  ),
  providerCalls: Type.Array(
    Type.Object({
      attempt: Type.Integer(),
      providerId: Type.String(),
      kind: Type.String(),
      try: Type.Integer(),
      result: Type.String(),
      errorKind: Nullable(Type.String()),
      status: Nullable(Type.Integer()),
      message: Nullable(Type.String()),
      durationMs: Type.Integer(),
      at: Iso,
    }),
  ),
});

const EncryptionKey = Type.Object({
  suite: Type.Literal('X-Wing'),
  publicKey: Type.String({ description: 'base64url X-Wing public key (1216 bytes).' }),
  keyId: Type.String(),
});

const RoutingRule = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    match: Type.Object(
      {
        countries: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]{3}$' }), { maxItems: 300 })),
        documentTypes: Type.Optional(Type.Array(Type.Enum(DOCUMENT_TYPES))),
        checks: Type.Optional(Type.Array(Type.Enum(CHECK_TYPES))),
      },
      { additionalProperties: false },
    ),
    providers: Type.Optional(Type.Array(ProviderId, { maxItems: 20 })),
    order: Type.Optional(Type.Enum(['priority', 'cost'] as const)),
  },
  { additionalProperties: false },
);

export const Settings = Type.Object({
  issuerId: Nullable(
    Type.String({ description: 'The issuer of the credential offered on approval; null: none.' }),
  ),
  credentialType: Type.String(),
  txCode: Type.Boolean(),
  retentionSeconds: Type.Integer(),
  maxAttempts: Type.Integer(),
  sessionTtlSeconds: Type.Integer(),
  routingRules: Type.Array(RoutingRule),
  encryptionKey: EncryptionKey,
});

export const SettingsUpdate = Type.Object(
  {
    issuerId: Type.Optional(Nullable(Type.String({ pattern: '^iss_[0-9a-f]{32}$' }))),
    credentialType: Type.Optional(Type.String({ pattern: '^[A-Z][A-Za-z0-9]{0,99}$' })),
    txCode: Type.Optional(Type.Boolean()),
    retentionSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10 * 365 * 86_400,
        description: 'Documents are destroyed this long after the decision.',
      }),
    ),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    sessionTtlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86_400 })),
    routingRules: Type.Optional(Type.Array(RoutingRule, { maxItems: 100 })),
  },
  { additionalProperties: false },
);

const Secrets = Type.Record(
  Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]{0,63}$' }),
  Type.String({ minLength: 1, maxLength: 4096 }),
  {
    description: 'Write-only: never shown again.',
  },
);
const Options = Type.Record(
  Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]{0,63}$' }),
  Type.String({ maxLength: 1024 }),
);

const providerFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  baseUrl: Type.String({
    maxLength: 2048,
    description: 'The vendor API’s base URL (default: its production API).',
  }),
  secrets: Secrets,
  options: Options,
  priority: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Lower is tried first.' }),
  costCents: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000 }),
  maxRetries: Type.Integer({ minimum: 0, maximum: 5 }),
  enabled: Type.Boolean(),
};

export const CreateProvider = Type.Object(
  {
    kind: Type.Enum(PROVIDER_KINDS),
    name: providerFields.name,
    baseUrl: Type.Optional(providerFields.baseUrl),
    secrets: Type.Optional(providerFields.secrets),
    options: Type.Optional(providerFields.options),
    priority: Type.Optional(providerFields.priority),
    costCents: Type.Optional(providerFields.costCents),
    timeoutMs: Type.Optional(providerFields.timeoutMs),
    maxRetries: Type.Optional(providerFields.maxRetries),
    enabled: Type.Optional(providerFields.enabled),
  },
  { additionalProperties: false },
);

export const UpdateProvider = Type.Partial(Type.Object(providerFields), { additionalProperties: false });

export const Provider = Type.Object({
  id: ProviderId,
  kind: Type.Enum(PROVIDER_KINDS),
  name: Type.String(),
  baseUrl: Nullable(Type.String()),
  secretNames: Type.Array(Type.String()),
  options: Options,
  priority: Type.Integer(),
  costCents: Type.Integer(),
  timeoutMs: Type.Integer(),
  maxRetries: Type.Integer(),
  enabled: Type.Boolean(),
  webhookUrl: Type.String({ description: 'Register this URL in the vendor’s dashboard for its webhooks.' }),
  createdAt: Iso,
  updatedAt: Iso,
});

export const ClientSession = Type.Object({
  id: SessionId,
  status: Type.Enum(SESSION_STATUSES),
  attempt: Type.Integer(),
  checks: Type.Array(CheckRequest),
  requiredDocuments: Type.Array(Type.Enum(DOCUMENT_KINDS)),
  uploadedDocuments: Type.Array(Type.String()),
  expiresAt: Iso,
  encryptionKey: EncryptionKey,
});

export const DocumentUpload = Type.Object(
  {
    contentType: Type.String({ maxLength: 100 }),
    sealedKey: Type.String({
      maxLength: 4096,
      description: 'base64url envelope holding the document’s data key, sealed to `encryptionKey`.',
    }),
    ciphertext: Type.String({
      maxLength: 14_500_000,
      description: 'base64url AES-256-GCM ciphertext of the document under its data key (see docs/kyc.md).',
    }),
  },
  { additionalProperties: false },
);

export const UploadedDocument = Type.Object({
  id: Type.String(),
  kind: Type.Enum(DOCUMENT_KINDS),
  size: Type.Integer(),
});

export const Submitted = Type.Object({ id: SessionId, status: Type.Enum(SESSION_STATUSES) });
