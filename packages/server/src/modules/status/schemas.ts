import { Type } from 'typebox';
import { IssuerId, STATUS_PURPOSES } from '../issuers/schemas.js';

export const StatusPurposeSchema = Type.Enum(STATUS_PURPOSES);

export const StatusIssuerParams = Type.Object({ issuerId: IssuerId });
export const StatusListParams = Type.Object({ issuerId: IssuerId, purpose: StatusPurposeSchema });

/** VC-API `POST {issuerBase}/credentials/status`. */
export const UpdateStatusRequest = Type.Object(
  {
    credentialId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description:
          "The issued credential's `id` (or name the entry by `credentialStatus.statusListIndex`).",
      }),
    ),
    credentialStatus: Type.Object(
      {
        type: Type.Literal('BitstringStatusListEntry'),
        statusPurpose: StatusPurposeSchema,
        id: Type.Optional(Type.String({ maxLength: 2048 })),
        statusListIndex: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$' })),
        statusListCredential: Type.Optional(
          Type.String({ maxLength: 2048, description: "Must be this issuer's list of that purpose." }),
        ),
      },
      {
        additionalProperties: false,
        description:
          "The list (by purpose) and, without `credentialId`, the entry: the credential's own entry fits.",
      },
    ),
    status: Type.Optional(
      Type.Boolean({
        description:
          'true (default): revoke or suspend; false: reinstate a suspension (a revocation is final).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const UpdateStatusResponse = Type.Object({
  statusPurpose: StatusPurposeSchema,
  statusListCredential: Type.String(),
  status: Type.Boolean({ description: 'The status the entries now have.' }),
  entries: Type.Array(
    Type.Object({
      statusListIndex: Type.String(),
      changed: Type.Boolean({ description: 'false when the entry already had this status.' }),
    }),
  ),
});
