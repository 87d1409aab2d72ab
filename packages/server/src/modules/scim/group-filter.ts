import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Database } from '../../store/schema.js';
import { ScimError } from './errors.js';
import type { Filter } from './filter.js';
import { GROUP_SCHEMA, normalizeName } from './group-resource.js';

export type GroupConditionBuilder = ExpressionBuilder<Database, 'scim_groups'>;

type Kind = 'text' | 'exact' | 'time';

/** The Group attributes a filter may test (lower-cased paths): the column and how it compares. */
const ATTRIBUTES: Record<
  string,
  { column: 'display_name_normalized' | 'external_id' | 'id' | 'created_at' | 'updated_at'; kind: Kind }
> = {
  displayname: { column: 'display_name_normalized', kind: 'text' },
  externalid: { column: 'external_id', kind: 'exact' },
  id: { column: 'id', kind: 'exact' },
  'meta.created': { column: 'created_at', kind: 'time' },
  'meta.lastmodified': { column: 'updated_at', kind: 'time' },
};

const OPERATORS: Record<Kind, ReadonlySet<string>> = {
  text: new Set(['eq', 'ne', 'co', 'sw', 'ew']),
  exact: new Set(['eq', 'ne']),
  time: new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']),
};
const LIKE_SHAPES = { co: ['%', '%'], sw: ['', '%'], ew: ['%', ''] } as const;
const ORDERINGS = { eq: '=', ne: '!=', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

function invalid(detail: string): ScimError {
  return new ScimError(400, detail, 'invalidFilter');
}

function attribute(path: string) {
  const prefix = `${GROUP_SCHEMA}:`;
  const bare = path.toLowerCase().startsWith(prefix.toLowerCase()) ? path.slice(prefix.length) : path;
  const found = ATTRIBUTES[bare.toLowerCase()];
  if (!found) throw invalid(`Filtering groups on "${path}" is not supported.`);
  return found;
}

type Column = (typeof ATTRIBUTES)[string]['column'];
type Comparison = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le' | 'pr';

/** A checked group search: comparisons on columns, values already in the column's form. */
export type GroupCondition =
  | { all: GroupCondition[] }
  | { any: GroupCondition[] }
  | { column: Column; op: Comparison; value: string };

/** Checks a parsed filter on Groups; unsupported attributes or operators are invalidFilter. */
export function groupCondition(filter: Filter): GroupCondition {
  switch (filter.kind) {
    case 'and':
      return { all: [groupCondition(filter.left), groupCondition(filter.right)] };
    case 'or':
      return { any: [groupCondition(filter.left), groupCondition(filter.right)] };
    case 'not':
      throw invalid('"not" is not supported in filters.');
    case 'present':
      return { column: attribute(filter.path).column, op: 'pr', value: '' };
    case 'compare': {
      const { column, kind } = attribute(filter.path);
      if (!OPERATORS[kind].has(filter.op))
        throw invalid(`"${filter.op}" is not supported on "${filter.path}".`);
      if (typeof filter.value !== 'string') throw invalid(`"${filter.path}" compares with a quoted string.`);
      let value = filter.value;
      if (kind === 'text') value = normalizeName(value);
      if (kind === 'time') {
        const at = Date.parse(value);
        if (Number.isNaN(at)) throw invalid(`"${filter.path}" compares with an xsd:dateTime.`);
        value = new Date(at).toISOString();
      }
      return { column, op: filter.op, value };
    }
  }
}

/** The condition as a parameterized Kysely expression; values never become SQL text. */
export function groupConditionSql(eb: GroupConditionBuilder, condition: GroupCondition): Expression<SqlBool> {
  if ('all' in condition) return eb.and(condition.all.map((part) => groupConditionSql(eb, part)));
  if ('any' in condition) return eb.or(condition.any.map((part) => groupConditionSql(eb, part)));
  const { column, op, value } = condition;
  if (op === 'pr') return eb(column, 'is not', null);
  if (op === 'co' || op === 'sw' || op === 'ew') {
    const [before, after] = LIKE_SHAPES[op];
    const pattern = `${before}${value.replace(/[\\%_]/g, (c) => `\\${c}`)}${after}`;
    return sql<SqlBool>`${sql.ref(column)} like ${pattern} escape '\\'`;
  }
  return sql<SqlBool>`${sql.ref(column)} ${sql.raw(ORDERINGS[op])} ${value}`;
}
