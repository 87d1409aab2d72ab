import { SUBJECT_PATTERN } from '@personachain/vaults';
import { Type } from 'typebox';
import { ProjectId } from '../tenancy/schemas.js';
import { HybridSignature, MemberPublicKeys, VaultId } from './schemas.js';

/*
 * Request and response schemas of guardian recovery and guardian access approvals (contract §2.4). Byte
 * strings are base64url without padding; exact lengths and envelope shapes are checked in the service,
 * these bounds keep bodies small before that.
 */

/** A split has at most this many guardians (and at least 2). */
export const MAX_GUARDIANS = 16;
/** A sealed or re-sealed share is one X-Wing envelope of a 33-byte share (1,193 bytes); room to spare. */
export const MAX_SHARE_CHARS = 4096;

const RequestId = Type.String({ pattern: '^vrr_[0-9a-f]{32}$', description: 'A recovery request id.' });
const ApprovalId = Type.String({
  pattern: '^vap_[0-9a-f]{32}$',
  description: 'A guardian access approval id.',
});
const Iso = Type.String({ description: 'RFC 3339 time.' });
const B64u = (maxLength: number, description: string) =>
  Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength, description });

export const Subject = Type.String({
  maxLength: 512,
  pattern: SUBJECT_PATTERN.source,
  description: 'A user of the project (`usr_…`) or a DID.',
});

export const RequestParams = Type.Object({ projectId: ProjectId, vaultId: VaultId, requestId: RequestId });
export const ApprovalParams = Type.Object({ projectId: ProjectId, vaultId: VaultId, approvalId: ApprovalId });

export const SetupBody = Type.Object(
  {
    setupId: Type.String({
      pattern: '^vrs_[0-9a-f]{32}$',
      description: 'A fresh id made by the owner’s client: the shares are sealed under an AAD that names it.',
    }),
    threshold: Type.Integer({
      minimum: 2,
      maximum: MAX_GUARDIANS,
      description: 'How many guardians must release their share to rebuild the key.',
    }),
    guardians: Type.Array(
      Type.Object(
        {
          subject: Subject,
          publicKeys: MemberPublicKeys,
          sealedShare: B64u(
            MAX_SHARE_CHARS,
            'The guardian’s share of the owner’s key seed, sealed to its encryption key ' +
              '(splitSecretToRecipients with recoveryShareAad(vaultId, setupId)).',
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 2, maxItems: MAX_GUARDIANS },
    ),
  },
  { additionalProperties: false },
);

const GuardianRef = Type.Object({ subject: Type.String(), keyId: Type.String() });

export const Setup = Type.Object({
  setupId: Type.String(),
  threshold: Type.Integer(),
  guardians: Type.Array(GuardianRef),
  createdAt: Iso,
  openRequestId: Type.Union([Type.String(), Type.Null()], {
    description:
      'The pending or ready recovery request, if any: the owner, who still has its keys, cancels one it did not make.',
  }),
});

export const CreateRequestBody = Type.Object(
  {
    ephemeralKey: B64u(
      1700,
      'The requester’s fresh X-Wing public key (1,216 bytes): guardians re-seal their shares to it.',
    ),
  },
  { additionalProperties: false },
);

export const RequestQuery = Type.Object(
  {
    guardian: Type.Optional(
      Type.String({
        maxLength: 512,
        description: 'A guardian of the setup: adds its sealed share and the ephemeral key to the answer.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RECOVERY_STATUSES = ['pending', 'ready', 'completed', 'canceled', 'expired'] as const;

export const RecoveryRequest = Type.Object({
  id: Type.String(),
  vaultId: Type.String(),
  setupId: Type.String(),
  status: Type.Enum(RECOVERY_STATUSES),
  threshold: Type.Integer(),
  ephemeralKeyId: Type.String({
    description:
      'base64url of the ephemeral key’s envelope key id (16 bytes): the requester can read it out to its ' +
      'guardians, who compare it before approving, so a request someone else made is not approved by mistake.',
  }),
  approvals: Type.Array(
    Type.Object({
      guardian: Type.String(),
      resealedShare: Type.Union([Type.String(), Type.Null()], {
        description: 'Sealed to the ephemeral key; null once the request ended.',
      }),
      createdAt: Iso,
    }),
  ),
  createdAt: Iso,
  expiresAt: Iso,
  endedAt: Type.Union([Iso, Type.Null()]),
  ephemeralKey: Type.Optional(Type.String({ description: 'With `?guardian=`.' })),
  sealedShare: Type.Optional(
    Type.String({ description: 'With `?guardian=`: that guardian’s sealed share.' }),
  ),
});

export const RecoveryApprovalBody = Type.Object(
  {
    guardian: Subject,
    resealedShare: B64u(
      MAX_SHARE_CHARS,
      'The guardian’s share re-sealed to the request’s ephemeral key, under resealedShareAad(vaultId, requestId, guardian).',
    ),
    signature: HybridSignature,
  },
  { additionalProperties: false },
);

export const AccessApprovalBody = Type.Object(
  { guardian: Subject, signature: HybridSignature },
  { additionalProperties: false },
);

export const AccessApproval = Type.Object({
  id: Type.String(),
  vaultId: Type.String(),
  subject: Type.String({ description: 'The member whose access the guardians let through.' }),
  action: Type.String(),
  status: Type.Enum(['pending', 'approved', 'expired'] as const),
  threshold: Type.Integer(),
  guardians: Type.Array(GuardianRef, { description: 'Who may approve.' }),
  approvals: Type.Array(Type.String(), { description: 'Guardians who approved.' }),
  createdAt: Iso,
  expiresAt: Iso,
  approvedAt: Type.Union([Iso, Type.Null()]),
  validUntil: Type.Union([Iso, Type.Null()], {
    description: 'Until when a retry with `Persona-Vault-Approval` is allowed (10 minutes after approval).',
  }),
});
