import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Database } from '../../store/schema.js';
import { normalizeIdentifier } from './identifiers.js';

/** User attributes a search may test. */
export type UserField =
  | 'id'
  | 'username'
  | 'email'
  | 'externalId'
  | 'displayName'
  | 'active'
  | 'created'
  | 'lastModified';

export type UserComparison = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le' | 'pr';

/**
 * A search over a project's users: comparisons joined by all/any. Username, email and display name
 * compare case-insensitively; timestamps are ISO 8601 strings in UTC; `active` takes a boolean.
 */
export type UserCondition =
  | { all: UserCondition[] }
  | { any: UserCondition[] }
  | { field: UserField; op: UserComparison; value?: string | boolean };

type Users = ExpressionBuilder<Database, 'identity_users'>;

/** LIKE pattern with backslash escapes, so `%`, `_` and `\` in the value match themselves. */
function likePattern(before: string, value: string, after: string): string {
  return `${before}${value.replace(/[\\%_]/g, (c) => `\\${c}`)}${after}`;
}

const LIKE_SHAPES = { co: ['%', '%'], sw: ['', '%'], ew: ['%', ''] } as const;
const ORDERINGS = { eq: '=', ne: '!=', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

/** The column (or expression) a field is compared on, and the value in that column's form. */
function operands(field: Exclude<UserField, 'active'>, value: string): [Expression<unknown>, string] {
  switch (field) {
    case 'username':
      return [sql.ref('username_normalized'), normalizeIdentifier(value)];
    case 'email':
      return [sql.ref('email_normalized'), normalizeIdentifier(value)];
    case 'displayName':
      return [sql`lower(display_name)`, value.toLowerCase()];
    case 'externalId':
      return [sql.ref('external_id'), value];
    case 'id':
      return [sql.ref('id'), value];
    case 'created':
      return [sql.ref('created_at'), value];
    case 'lastModified':
      return [sql.ref('updated_at'), value];
  }
}

const PRESENT_COLUMNS = {
  id: 'id',
  username: 'username_normalized',
  email: 'email_normalized',
  displayName: 'display_name',
  externalId: 'external_id',
  created: 'created_at',
  lastModified: 'updated_at',
} as const;

/** Translates a condition into a parameterized Kysely expression; values never become SQL text. */
export function userConditionSql(eb: Users, condition: UserCondition): Expression<SqlBool> {
  if ('all' in condition) return eb.and(condition.all.map((part) => userConditionSql(eb, part)));
  if ('any' in condition) return eb.or(condition.any.map((part) => userConditionSql(eb, part)));
  const { field, op, value } = condition;
  if (field === 'active') {
    if (op === 'pr') return sql<SqlBool>`1 = 1`;
    const wanted = op === 'eq' ? value === true : value !== true;
    return eb('status', '=', wanted ? 'active' : 'disabled');
  }
  if (op === 'pr') return eb(PRESENT_COLUMNS[field], 'is not', null);
  const [column, operand] = operands(field, String(value));
  if (op === 'co' || op === 'sw' || op === 'ew') {
    const [before, after] = LIKE_SHAPES[op];
    return sql<SqlBool>`${column} like ${likePattern(before, operand, after)} escape '\\'`;
  }
  return sql<SqlBool>`${column} ${sql.raw(ORDERINGS[op])} ${operand}`;
}
