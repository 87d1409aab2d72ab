import { Type } from 'typebox';
import { ProjectId } from '../tenancy/schemas.js';

const OPERATION_TYPES = [
  'create',
  'update',
  'rotate',
  'deactivate',
  'recoveryRequest',
  'recoveryCancel',
  'recover',
] as const;

export const PersonaDid = Type.String({
  pattern: '^did:persona:[a-z2-7]{32}$',
  description: 'A did:persona DID.',
});

export const SubmitOperation = Type.Object(
  {
    operation: Type.String({
      minLength: 1,
      // 65,535 ledger-entry bytes, base64url: an operation never needs more.
      maxLength: 87_380,
      pattern: '^[A-Za-z0-9_-]+$',
      description:
        'The signed operation: unpadded base64url of its RFC 8785 canonical JSON bytes, built and signed ' +
        "by the client (the server never holds the DID's keys). See docs/did-persona.md §3.",
    }),
  },
  { additionalProperties: false },
);

export const Submission = Type.Object({
  did: PersonaDid,
  type: Type.Enum(OPERATION_TYPES),
  versionId: Type.String({ description: 'The operation hash: the versionId it makes.' }),
  ledgerIndex: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Its entry index in the ledger; null when answered with 202 (not integrated yet).',
  }),
});

export const PersonaDidSummary = Type.Object({
  did: PersonaDid,
  versionId: Type.String(),
  operations: Type.Integer({ description: 'How many operations the history has.' }),
  lastOperation: Type.Enum(OPERATION_TYPES),
  deactivated: Type.Boolean(),
});

export const ProjectParams = Type.Object({ projectId: ProjectId });
export const DidParams = Type.Object({ projectId: ProjectId, did: PersonaDid });
