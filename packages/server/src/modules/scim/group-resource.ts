import { invalidValue } from './errors.js';
import { isObject, optionalTextOf, textOf } from './user-resource.js';

export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** Most members one request may name (a create, a replace, or one patch request in all). */
export const MAX_MEMBERS_PER_REQUEST = 1000;

/** The form display names are unique in: NFKC, lower case, trimmed. */
export function normalizeName(value: string): string {
  return value.normalize('NFKC').trim().toLowerCase();
}

export interface GroupMember {
  userId: string;
  display: string;
}

/** A group as the groups service returns it; members are left out when the client excluded them. */
export interface GroupView {
  id: string;
  displayName: string;
  externalId: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  members?: GroupMember[];
}

export interface GroupFields {
  displayName: string;
  externalId: string | null;
}

export function toScimGroup(group: GroupView, base: string) {
  return {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId !== null ? { externalId: group.externalId } : {}),
    displayName: group.displayName,
    ...(group.members
      ? {
          members: group.members.map((member) => ({
            value: member.userId,
            display: member.display,
            type: 'User',
            $ref: `${base}/Users/${member.userId}`,
          })),
        }
      : {}),
    meta: {
      resourceType: 'Group',
      created: group.createdAt,
      lastModified: group.updatedAt,
      location: `${base}/Groups/${group.id}`,
      version: `W/"${group.version}"`,
    },
  };
}

/** The user ids of a `members` value: a list of `{ value }` objects. */
export function memberIdsOf(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > MAX_MEMBERS_PER_REQUEST) {
    throw invalidValue(`"members" must be a list of at most ${MAX_MEMBERS_PER_REQUEST} members.`);
  }
  return [
    ...new Set(
      value.map((member) => {
        if (!isObject(member)) throw invalidValue('Each member must be an object with a "value".');
        return textOf('members.value', member.value);
      }),
    ),
  ];
}

/** The fields and members a create or replace sets; attributes we do not keep are ignored. */
export function parseScimGroup(body: unknown): { fields: GroupFields; members: string[] } {
  if (!isObject(body)) throw invalidValue('The body must be a SCIM Group object.');
  if (!Array.isArray(body.schemas) || !body.schemas.includes(GROUP_SCHEMA)) {
    throw invalidValue(`"schemas" must include "${GROUP_SCHEMA}".`);
  }
  return {
    fields: {
      displayName: textOf('displayName', body.displayName),
      externalId: optionalTextOf('externalId', body.externalId),
    },
    members: memberIdsOf(body.members),
  };
}
