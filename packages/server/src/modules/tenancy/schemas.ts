import { Type } from 'typebox';
import { ROLES, SCOPES } from '../policy/model.js';

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', description: 'Display name.' });
const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const RoleName = Type.Enum(ROLES, { description: 'owner > admin > developer > auditor > viewer' });

export const OrgId = Type.String({ pattern: '^org_[0-9a-f]{32}$', description: 'Organization id.' });
export const ProjectId = Type.String({ pattern: '^prj_[0-9a-f]{32}$', description: 'Project id.' });
export const KeyId = Type.String({ pattern: '^key_[0-9a-f]{32}$', description: 'API key id.' });
export const MemberId = Type.String({ pattern: '^mem_[0-9a-f]{32}$', description: 'Member id.' });

export const Organization = Type.Object({ id: OrgId, name: Type.String(), createdAt: Timestamp });
export const CreateOrganization = Type.Object({ name: Name }, { additionalProperties: false });

export const Project = Type.Object({
  id: ProjectId,
  orgId: OrgId,
  name: Type.String(),
  createdAt: Timestamp,
});
export const CreateProject = Type.Object({ name: Name }, { additionalProperties: false });

export const Member = Type.Object({
  id: MemberId,
  orgId: OrgId,
  email: Type.String(),
  role: RoleName,
  createdAt: Timestamp,
});
export const CreateMember = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 320 }), role: RoleName },
  { additionalProperties: false },
);
export const UpdateMember = Type.Object({ role: RoleName }, { additionalProperties: false });

export const ApiKey = Type.Object({
  id: KeyId,
  projectId: ProjectId,
  name: Type.String(),
  role: RoleName,
  scopes: Type.Array(Type.String()),
  prefix: Type.String({ description: 'The first characters of the secret, to tell keys apart.' }),
  createdAt: Timestamp,
  expiresAt: NullableTimestamp,
  lastUsedAt: Type.Union([Timestamp, Type.Null()], {
    description: 'Recorded in memory and written at most once a minute, so it may lag by that much.',
  }),
  revokedAt: NullableTimestamp,
});
export const CreatedApiKey = Type.Object({
  ...ApiKey.properties,
  secret: Type.String({ description: 'The bearer secret. Shown only in this response; store it now.' }),
});
export const CreateApiKey = Type.Object(
  {
    name: Name,
    role: Type.Optional(RoleName),
    scopes: Type.Optional(
      Type.Array(Type.Enum(SCOPES), { minItems: 1, maxItems: SCOPES.length, uniqueItems: true }),
    ),
    expiresAt: Type.Optional(
      Type.String({ format: 'date-time', description: 'When the key stops working.' }),
    ),
  },
  { additionalProperties: false },
);

export const OrgParams = Type.Object({ orgId: OrgId });
export const ProjectParams = Type.Object({ projectId: ProjectId });
export const MemberParams = Type.Object({ orgId: OrgId, memberId: MemberId });
export const KeyParams = Type.Object({ projectId: ProjectId, keyId: KeyId });
