import { Type } from 'typebox';
import { ROLES, SCOPES } from '../policy/model.js';

/** Printable text with at least one visible character; control characters (NUL above all) are refused. */
export const Name = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$',
  description: 'Display name: 1–200 characters, not blank, no control characters.',
});
const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const RoleName = Type.Enum(ROLES, { description: 'owner > admin > developer > reviewer > auditor > viewer' });

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

/** What every key shows: a platform admin key is just this, a project key adds its project, role and scopes. */
export const PlatformKey = Type.Object({
  id: KeyId,
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the secret, to tell keys apart.' }),
  createdAt: Timestamp,
  expiresAt: NullableTimestamp,
  lastUsedAt: Type.Union([Timestamp, Type.Null()], {
    description: 'Recorded in memory and written at most once a minute, so it may lag by that much.',
  }),
  revokedAt: NullableTimestamp,
});
export const ApiKey = Type.Object({
  ...PlatformKey.properties,
  projectId: ProjectId,
  role: RoleName,
  scopes: Type.Array(Type.String()),
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

export const CreatedPlatformKey = Type.Object({
  ...PlatformKey.properties,
  secret: Type.String({ description: 'The bearer secret. Shown only in this response; store it now.' }),
});
export const CreatePlatformKey = Type.Object(
  {
    name: Name,
    expiresAt: Type.Optional(
      Type.String({ format: 'date-time', description: 'When the key stops working.' }),
    ),
  },
  { additionalProperties: false },
);
export const PlatformKeyParams = Type.Object({ keyId: KeyId });

export const OrgParams = Type.Object({ orgId: OrgId });
export const ProjectParams = Type.Object({ projectId: ProjectId });
export const MemberParams = Type.Object({ orgId: OrgId, memberId: MemberId });
export const KeyParams = Type.Object({ projectId: ProjectId, keyId: KeyId });
