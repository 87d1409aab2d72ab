import type { UserComparison, UserCondition, UserField } from '../identity/user-conditions.js';
import { ScimError } from './errors.js';
import type { Filter, FilterValue } from './filter.js';
import { USER_SCHEMA } from './user-resource.js';

type Kind = 'text' | 'exact' | 'boolean' | 'time';

/** The User attributes a filter may test (lower-cased paths), the field each is, and how it compares. */
const ATTRIBUTES: Record<string, { field: UserField; kind: Kind }> = {
  id: { field: 'id', kind: 'exact' },
  username: { field: 'username', kind: 'text' },
  emails: { field: 'email', kind: 'text' },
  'emails.value': { field: 'email', kind: 'text' },
  externalid: { field: 'externalId', kind: 'exact' },
  displayname: { field: 'displayName', kind: 'text' },
  'name.formatted': { field: 'displayName', kind: 'text' },
  active: { field: 'active', kind: 'boolean' },
  'meta.created': { field: 'created', kind: 'time' },
  'meta.lastmodified': { field: 'lastModified', kind: 'time' },
};

/** Operators per kind: exact values (case-sensitive ids) only compare for equality. */
const OPERATORS: Record<Kind, ReadonlySet<string>> = {
  text: new Set(['eq', 'ne', 'co', 'sw', 'ew']),
  exact: new Set(['eq', 'ne']),
  boolean: new Set(['eq', 'ne']),
  time: new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']),
};

function invalid(detail: string): ScimError {
  return new ScimError(400, detail, 'invalidFilter');
}

function attribute(path: string): { field: UserField; kind: Kind } {
  const prefix = `${USER_SCHEMA}:`;
  const bare = path.toLowerCase().startsWith(prefix.toLowerCase()) ? path.slice(prefix.length) : path;
  const found = ATTRIBUTES[bare.toLowerCase()];
  if (!found) throw invalid(`Filtering on "${path}" is not supported.`);
  return found;
}

function operand(path: string, kind: Kind, value: FilterValue): string | boolean {
  if (kind === 'boolean') {
    // Some clients quote booleans; accept "true"/"false" as well.
    const text = typeof value === 'string' ? value.toLowerCase() : value;
    if (text === true || text === 'true') return true;
    if (text === false || text === 'false') return false;
    throw invalid(`"${path}" compares with true or false.`);
  }
  if (typeof value !== 'string') throw invalid(`"${path}" compares with a quoted string.`);
  if (kind === 'time') {
    const at = Date.parse(value);
    if (Number.isNaN(at)) throw invalid(`"${path}" compares with an xsd:dateTime.`);
    return new Date(at).toISOString();
  }
  return value;
}

/** Translates a parsed filter on Users into an identity user search; unsupported parts are invalidFilter. */
export function userCondition(filter: Filter): UserCondition {
  switch (filter.kind) {
    case 'and':
      return { all: [userCondition(filter.left), userCondition(filter.right)] };
    case 'or':
      return { any: [userCondition(filter.left), userCondition(filter.right)] };
    case 'not':
      throw invalid('"not" is not supported in filters.');
    case 'present':
      return { field: attribute(filter.path).field, op: 'pr' };
    case 'compare': {
      const { field, kind } = attribute(filter.path);
      if (!OPERATORS[kind].has(filter.op)) {
        throw invalid(`"${filter.op}" is not supported on "${filter.path}".`);
      }
      return { field, op: filter.op as UserComparison, value: operand(filter.path, kind, filter.value) };
    }
  }
}
