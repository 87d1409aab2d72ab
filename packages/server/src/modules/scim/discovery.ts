import { FILTER_LIMITS } from './filter.js';
import { GROUP_SCHEMA } from './group-resource.js';
import { USER_SCHEMA } from './user-resource.js';

const CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/** Most resources one list page returns, whatever `count` asks for. */
export const MAX_RESULTS = 200;

export function serviceProviderConfig(base: string, documentationUri: string) {
  return {
    schemas: [CONFIG_SCHEMA],
    documentationUri,
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: `A project API key with the scopes scim:read and scim:write, as "Authorization: Bearer sk_…". Filters: at most ${FILTER_LIMITS.length} characters.`,
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

function resourceType(base: string, name: 'User' | 'Group', schema: string, description: string) {
  return {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: name,
    name,
    endpoint: `/${name}s`,
    description,
    schema,
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${name}` },
  };
}

/** The resource types served, by id. */
export function resourceTypes(base: string) {
  return {
    User: resourceType(base, 'User', USER_SCHEMA, 'A user of the project'),
    Group: resourceType(base, 'Group', GROUP_SCHEMA, 'A group of users of the project'),
  };
}

function attribute(
  name: string,
  type: 'string' | 'boolean' | 'complex',
  options: {
    required?: boolean;
    multiValued?: boolean;
    caseExact?: boolean;
    mutability?: 'readOnly' | 'readWrite' | 'writeOnly';
    returned?: 'always' | 'default' | 'never';
    uniqueness?: 'none' | 'server';
    description: string;
    subAttributes?: object[];
  },
) {
  const { description, subAttributes, ...rest } = options;
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...rest,
    ...(subAttributes ? { subAttributes } : {}),
  };
}

/** The core User schema, limited to the attributes we keep (RFC 7643 section 4.1). */
function userSchema(base: string) {
  return {
    schemas: [SCHEMA_SCHEMA],
    id: USER_SCHEMA,
    name: 'User',
    description: 'User account',
    attributes: [
      attribute('userName', 'string', {
        required: true,
        uniqueness: 'server',
        description: 'Unique within the project, compared case-insensitively.',
      }),
      attribute('name', 'complex', {
        description: 'Only the formatted name is kept (it is the display name).',
        subAttributes: [attribute('formatted', 'string', { description: 'The full name.' })],
      }),
      attribute('displayName', 'string', { description: 'The name shown for the user.' }),
      attribute('active', 'boolean', { description: 'Whether the user may sign in.' }),
      attribute('password', 'string', {
        mutability: 'writeOnly',
        returned: 'never',
        description: 'The initial password, on creation only.',
      }),
      attribute('emails', 'complex', {
        multiValued: true,
        description: 'One email is kept: the primary one, unique within the project.',
        subAttributes: [
          attribute('value', 'string', { description: 'The email address.' }),
          attribute('type', 'string', { description: 'Always "work".' }),
          attribute('primary', 'boolean', { description: 'Always true.' }),
        ],
      }),
    ],
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${USER_SCHEMA}` },
  };
}

/** The core Group schema (RFC 7643 section 4.2). */
export function groupSchema(base: string) {
  return {
    schemas: [SCHEMA_SCHEMA],
    id: GROUP_SCHEMA,
    name: 'Group',
    description: 'Group',
    attributes: [
      attribute('displayName', 'string', {
        required: true,
        uniqueness: 'server',
        description: 'Unique within the project, compared case-insensitively.',
      }),
      attribute('members', 'complex', {
        multiValued: true,
        description: 'Users of the project.',
        subAttributes: [
          attribute('value', 'string', { caseExact: true, description: 'The user id.' }),
          attribute('display', 'string', { mutability: 'readOnly', description: 'The user name shown.' }),
          attribute('type', 'string', { mutability: 'readOnly', description: 'Always "User".' }),
        ],
      }),
    ],
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${GROUP_SCHEMA}` },
  };
}

/** The schemas served, by id. */
export function schemas(base: string) {
  return { [USER_SCHEMA]: userSchema(base), [GROUP_SCHEMA]: groupSchema(base) };
}

/** A ListResponse of everything given (discovery lists are never paged). */
export function listOf(resources: unknown[]) {
  return {
    schemas: [LIST_SCHEMA],
    totalResults: resources.length,
    itemsPerPage: resources.length,
    startIndex: 1,
    Resources: resources,
  };
}
