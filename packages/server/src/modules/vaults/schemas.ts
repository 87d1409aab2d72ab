import { VAULT_LIMITS } from '@personachain/vaults';
import { Type } from 'typebox';
import { ProblemSchema } from '../../http/openapi.js';
import {
  AccessDecisionSchema,
  TrustTemplateInputSchema,
  TrustTemplateSchema,
} from '../policy/access/index.js';
import { Name, ProjectId } from '../tenancy/schemas.js';
import { MAX_CIPHERTEXT_BYTES, MAX_SEALED_KEY_BYTES } from './commit-plan.js';

const b64uLength = (bytes: number) => Math.ceil((bytes * 4) / 3);
const B64u = (description: string, maxBytes?: number) =>
  Type.String({
    pattern: '^[A-Za-z0-9_-]*$',
    ...(maxBytes ? { maxLength: b64uLength(maxBytes) } : {}),
    description: `${description} (base64url, no padding)`,
  });
const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const VaultId = Type.String({
  pattern: '^vlt_[0-9a-f]{32}$',
  description: 'A vault id, made by the client: `vlt_` + a UUIDv7 in hex.',
});
export const ItemId = Type.String({ pattern: '^itm_[0-9a-f]{32}$', description: 'An item id (random).' });
const DeviceId = Type.String({ pattern: '^vdv_[0-9a-f]{32}$', description: 'A member device id.' });
const MemberKeyId = Type.String({
  pattern: '^vk_[A-Za-z0-9_-]{22}$',
  description: "A member key id: `vk_` + the first 16 bytes of the SHA-256 of the member's public keys.",
});
const Subject = Type.String({
  minLength: 1,
  maxLength: 512,
  description: 'A member: a `usr_…` id or a DID.',
});
const Role = Type.Enum(['read', 'write', 'admin'] as const, { description: 'A member role.' });

export const ProjectParams = Type.Object({ projectId: ProjectId });
export const VaultParams = Type.Object({ projectId: ProjectId, vaultId: VaultId });
export const ItemParams = Type.Object({ projectId: ProjectId, vaultId: VaultId, itemId: ItemId });
export const VersionParams = Type.Object({
  projectId: ProjectId,
  vaultId: VaultId,
  itemId: ItemId,
  version: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
});
export const DeviceParams = Type.Object({ projectId: ProjectId, deviceId: DeviceId });

/** The member session (and a guardian approval) travel in headers; a missing session is a 401, not a 400. */
export const MemberHeaders = Type.Object({
  'persona-vault-session': Type.Optional(
    Type.String({ description: 'The member session token (`vms_…`) from POST …/sessions.' }),
  ),
  'persona-vault-approval': Type.Optional(
    Type.String({
      pattern: '^vap_[0-9a-f]{32}$',
      description: 'A guardian access approval (`vap_…`) for an access the policy sent to guardians.',
    }),
  ),
});

export const MemberPublicKeys = Type.Object(
  {
    encryptionKey: B64u('X-Wing (ML-KEM-768 + X25519) public key, 1,216 bytes', 1216),
    ed25519: B64u('Ed25519 public key, 32 bytes', 32),
    mlDsa65: B64u('ML-DSA-65 public key, 1,952 bytes', 1952),
  },
  { additionalProperties: false },
);
export const HybridSignature = Type.Object(
  {
    ed25519: B64u('Ed25519 signature, 64 bytes', 64),
    mlDsa65: B64u('ML-DSA-65 signature, 3,309 bytes', 3309),
  },
  { additionalProperties: false, description: 'Both halves must verify.' },
);

export const SignedManifest = Type.Object(
  {
    v: Type.Literal(1),
    vaultId: VaultId,
    sequence: Type.Integer({ minimum: 0 }),
    previous: Nullable(B64u('manifestHash of the previous manifest; null for the genesis manifest', 32)),
    owner: Subject,
    members: Type.Array(
      Type.Object({ subject: Subject, role: Role, keyId: MemberKeyId }, { additionalProperties: false }),
      { maxItems: VAULT_LIMITS.maxMembers, description: 'Sorted by subject.' },
    ),
    items: Type.Array(
      Type.Object(
        {
          id: ItemId,
          version: Type.Integer({ minimum: 1 }),
          contentHash: B64u('SHA-256 of the version’s ciphertext', 32),
          keyIds: Type.Array(MemberKeyId, { maxItems: VAULT_LIMITS.maxMembers, description: 'Sorted.' }),
        },
        { additionalProperties: false },
      ),
      { maxItems: VAULT_LIMITS.maxItems, description: 'The live items, sorted by id.' },
    ),
    signer: Type.Object({ subject: Subject, keyId: MemberKeyId }, { additionalProperties: false }),
    issuedAt: Type.String({ maxLength: 40, description: 'RFC 3339 time.' }),
    signature: HybridSignature,
  },
  {
    additionalProperties: false,
    description:
      'A signed vault manifest: members and live items with their versions, hashes and recipients, chained to ' +
      'the previous manifest by its hash and signed by a writer (Ed25519 + ML-DSA-65). See docs/vaults.md.',
  },
);

const ManifestRef = Type.Object({ sequence: Type.Integer({ minimum: 0 }), hash: Type.String() });

/** The policy's decision as a vault route answers it: with its access-log entry and any guardian approval. */
export const AccessDecision = Type.Object({
  ...AccessDecisionSchema.properties,
  id: Type.String({
    pattern: '^vac_[0-9a-f]{32}$',
    description: 'The access-log entry recording the decision.',
  }),
  approvalId: Type.Optional(
    Type.String({
      description:
        'With guardian_approval_required: the approval to ask the guardians for, then to send as ' +
        'Persona-Vault-Approval. On an access an approval let through: that approval.',
    }),
  ),
});

/** Vault problems may carry the access decision, the current manifest (conflicts) or a check's code. */
const VaultProblem = Type.Object(
  {
    ...ProblemSchema.properties,
    access: Type.Optional(AccessDecision),
    current: Type.Optional(ManifestRef),
    code: Type.Optional(
      Type.String({
        description:
          'invalid-manifest: bad-signature, unauthorized-signer, broken-chain, owner-changed or unknown-key',
      }),
    ),
  },
  { description: 'RFC 9457 problem details (application/problem+json)' },
);
export const VaultProblemResponses = { '4xx': VaultProblem, '5xx': ProblemSchema };

// ---- vaults ----
export const CreateVault = Type.Object(
  {
    id: VaultId,
    // Stored as sent, not encrypted: no secrets in a label.
    label: Type.Optional(Name),
    owner: Type.Object({ subject: Subject, publicKeys: MemberPublicKeys }, { additionalProperties: false }),
    manifest: SignedManifest,
    template: Type.Optional(TrustTemplateInputSchema),
  },
  { additionalProperties: false },
);

export const Vault = Type.Object({
  id: VaultId,
  projectId: ProjectId,
  owner: Type.String(),
  label: Nullable(Type.String()),
  status: Type.Enum(['active', 'shredded'] as const),
  manifest: ManifestRef,
  createdAt: Timestamp,
  shreddedAt: Nullable(Timestamp),
});

export const TrustTemplate = TrustTemplateSchema;
/** PUT trust-template: JSON (fields left out take the defaults) or the same as YAML text. */
export const TemplateBody = {
  content: {
    'application/json': { schema: TrustTemplateInputSchema },
    'application/yaml': { schema: Type.String({ maxLength: 65_536, description: 'The template as YAML.' }) },
  },
};

// ---- sessions and devices ----
export const CreateSession = Type.Object(
  {
    subject: Subject,
    keyId: MemberKeyId,
    issuedAt: Type.String({ maxLength: 40, description: 'RFC 3339; within 5 minutes of the server’s time.' }),
    nonce: Type.String({
      minLength: 22,
      maxLength: 86,
      pattern: '^[A-Za-z0-9_-]+$',
      description: '16–64 random bytes, base64url; never reused.',
    }),
    signature: HybridSignature,
    context: Type.Object(
      {
        ip: Type.Optional(
          Type.String({ maxLength: 45, description: "The member's IP; default: the request's." }),
        ),
        deviceFingerprint: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 128,
            description:
              'The hash of the member’s device fingerprint, as registered with POST /vault-devices.',
          }),
        ),
        authentication: Type.Object(
          {
            methods: Type.Array(Type.String({ minLength: 1, maxLength: 32 }), {
              maxItems: 16,
              description: 'RFC 8176 amr values (pwd, otp, mfa, hwk, swk, …).',
            }),
            authenticatedAt: Type.String({ maxLength: 40, description: 'RFC 3339.' }),
          },
          { additionalProperties: false },
        ),
        proofs: Type.Optional(
          Type.Array(Type.Unknown(), {
            maxItems: 16,
            description:
              'Zero-knowledge context proofs (counted as unverified until proof verification lands).',
          }),
        ),
      },
      {
        additionalProperties: false,
        description: 'What the application asserts about the member right now.',
      },
    ),
  },
  { additionalProperties: false },
);

const SessionFields = {
  id: Type.String({ pattern: '^vss_[0-9a-f]{32}$' }),
  subject: Type.String(),
  role: Role,
  expiresAt: Timestamp,
};
export const CreatedSession = Type.Object({
  token: Type.String({ description: 'Send as Persona-Vault-Session; shown once.' }),
  ...SessionFields,
});
export const SessionView = Type.Object({
  ...SessionFields,
  authentication: Type.Object({ methods: Type.Array(Type.String()), authenticatedAt: Timestamp }),
});
export const StepUpBody = Type.Object(
  { authentication: CreateSession.properties.context.properties.authentication },
  { additionalProperties: false },
);

export const CreateDevice = Type.Object(
  {
    subject: Subject,
    fingerprintHash: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'A hash of the device fingerprint.',
    }),
    label: Type.Optional(Name),
  },
  { additionalProperties: false },
);
export const Device = Type.Object({
  id: DeviceId,
  subject: Type.String(),
  label: Nullable(Type.String()),
  createdAt: Timestamp,
});
export const DeviceQuery = Type.Object(
  {
    subject: Type.Optional(Subject),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

// ---- commits, items, manifests, members ----
export const CommitBody = Type.Object(
  {
    manifest: SignedManifest,
    writes: Type.Optional(
      Type.Array(
        Type.Object(
          {
            itemId: ItemId,
            version: Type.Integer({ minimum: 1 }),
            ciphertext: B64u('nonce ‖ AES-256-GCM ciphertext ‖ tag', MAX_CIPHERTEXT_BYTES),
            sealedKeys: Type.Array(
              Type.Object(
                {
                  keyId: MemberKeyId,
                  sealedKey: B64u('the data key sealed to the member key', MAX_SEALED_KEY_BYTES),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: VAULT_LIMITS.maxMembers },
            ),
          },
          { additionalProperties: false },
        ),
        { maxItems: VAULT_LIMITS.maxWritesPerCommit },
      ),
    ),
    deletes: Type.Optional(Type.Array(ItemId, { maxItems: VAULT_LIMITS.maxItems })),
    members: Type.Optional(
      Type.Object(
        {
          add: Type.Optional(
            Type.Array(
              Type.Object(
                { subject: Subject, role: Role, publicKeys: MemberPublicKeys },
                { additionalProperties: false },
              ),
              { maxItems: VAULT_LIMITS.maxMembers },
            ),
          ),
          remove: Type.Optional(Type.Array(Subject, { maxItems: VAULT_LIMITS.maxMembers })),
          change: Type.Optional(
            Type.Array(Type.Object({ subject: Subject, role: Role }, { additionalProperties: false }), {
              maxItems: VAULT_LIMITS.maxMembers,
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    reseals: Type.Optional(
      Type.Array(
        Type.Object(
          {
            itemId: ItemId,
            version: Type.Integer({ minimum: 1 }),
            keyId: MemberKeyId,
            sealedKey: B64u('the version’s data key sealed to the new recipient', MAX_SEALED_KEY_BYTES),
          },
          { additionalProperties: false },
        ),
        { maxItems: VAULT_LIMITS.maxItems },
      ),
    ),
  },
  { additionalProperties: false },
);

export const CommitResult = Type.Object({
  sequence: Type.Integer({ minimum: 1 }),
  manifestHash: Type.String(),
  access: AccessDecision,
});

export const ItemVersion = Type.Object({
  itemId: ItemId,
  version: Type.Integer({ minimum: 1 }),
  ciphertext: Type.String({ description: 'base64url' }),
  sealedKey: Type.String({
    description: "The version's data key sealed to the session member's key (base64url).",
  }),
  contentHash: Type.String(),
  createdAt: Timestamp,
  createdBy: Type.String({ description: 'The member who wrote the version.' }),
  manifest: ManifestRef,
  access: AccessDecision,
});

const PageFields = {
  nextCursor: Nullable(
    Type.String({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  ),
};
export const ItemsPage = Type.Object({
  data: Type.Array(
    Type.Object({
      itemId: ItemId,
      version: Type.Integer({ minimum: 1 }),
      contentHash: Type.String(),
      size: Type.Integer({ minimum: 0, description: 'Ciphertext bytes.' }),
      updatedAt: Timestamp,
    }),
  ),
  ...PageFields,
  manifest: ManifestRef,
  access: AccessDecision,
});
export const VersionsPage = Type.Object({
  data: Type.Array(
    Type.Object({
      version: Type.Integer({ minimum: 1 }),
      contentHash: Type.String(),
      size: Type.Integer({ minimum: 0 }),
      createdAt: Timestamp,
      createdBy: Type.String(),
    }),
  ),
  ...PageFields,
  access: AccessDecision,
});

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const ManifestsQuery = Type.Object(
  {
    after: Type.Integer({
      minimum: -1,
      default: -1,
      description: 'Manifests with a higher sequence; -1: from genesis.',
    }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);
export const ManifestChain = Type.Object({
  data: Type.Array(SignedManifest, { description: 'Oldest first.' }),
  keys: Type.Record(Type.String(), MemberPublicKeys, {
    description: 'The public keys of every signer and member of these manifests, by key id.',
  }),
});

export const Members = Type.Object({
  data: Type.Array(
    Type.Object({
      subject: Type.String(),
      role: Role,
      keyId: Type.String(),
      publicKeys: MemberPublicKeys,
      addedAt: Timestamp,
    }),
  ),
});

export const AccessLogQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    proof: Type.Boolean({
      default: false,
      description: "Add each entry's inclusion proof in the returned checkpoint's tree.",
    }),
  },
  { additionalProperties: false },
);
export const AccessLogPage = Type.Object({
  data: Type.Array(
    Type.Object({
      id: Type.String({ pattern: '^vac_[0-9a-f]{32}$' }),
      at: Timestamp,
      subject: Type.String(),
      action: Type.String(),
      itemId: Nullable(Type.String()),
      outcome: Type.String(),
      score: Type.Integer(),
      entry: Type.String({
        description: 'The exact ledger entry (UTF-8 JSON); its leaf hash is what the proof proves.',
      }),
      ledgerIndex: Nullable(Type.Integer({ minimum: 0 })),
      proof: Type.Optional(
        Type.Object({
          size: Type.Integer({ minimum: 1 }),
          hashes: Type.Array(Type.String({ contentEncoding: 'base64' })),
        }),
      ),
    }),
  ),
  ...PageFields,
  checkpoint: Type.Optional(
    Type.String({ description: 'With proof=true: the signed checkpoint the proofs lead to.' }),
  ),
});
