import { Type } from 'typebox';
import { ProjectId } from '../tenancy/schemas.js';

export const AuditParams = Type.Object({ projectId: ProjectId });

export const AuditQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Items per page.' }),
    cursor: Type.Optional(
      Type.String({ maxLength: 200, description: 'The `nextCursor` of the previous page.' }),
    ),
    proof: Type.Boolean({
      default: false,
      description: "Add each entry's inclusion proof in the tree of the returned checkpoint.",
    }),
  },
  { additionalProperties: false },
);

const Id = Type.Union([Type.String(), Type.Null()]);

export const AuditEntry = Type.Object({
  id: Type.String({ pattern: '^aud_[0-9a-f]{32}$' }),
  type: Type.String({ description: 'What happened, e.g. `api_key.created`.' }),
  orgId: Id,
  projectId: Id,
  actor: Type.String({ description: 'The API key that acted.' }),
  subject: Type.String({ description: 'The id of what was acted on.' }),
  details: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Type.String({ format: 'date-time' }),
  entry: Type.String({
    description: 'The exact ledger entry (UTF-8 JSON); its RFC 9162 leaf hash is what the proof proves.',
  }),
  ledgerIndex: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: 'Null until the ledger has integrated the entry (normally within milliseconds).',
  }),
  proof: Type.Optional(
    Type.Object({
      size: Type.Integer({ minimum: 1 }),
      hashes: Type.Array(Type.String({ contentEncoding: 'base64' })),
    }),
  ),
});

export const AuditPage = Type.Object({
  data: Type.Array(AuditEntry),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  checkpoint: Type.Optional(
    Type.String({ description: 'With proof=true: the signed checkpoint the proofs lead to.' }),
  ),
});
