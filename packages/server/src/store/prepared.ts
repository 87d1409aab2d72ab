import { type Compilable, CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * A lookup by one value whose SQL is built and compiled once. Kysely otherwise rebuilds and recompiles
 * the same query tree on every call, which costs more than SQLite takes to answer it; use this for the
 * lookups on every request's path.
 */
export function preparedLookup<Row>(
  db: Kysely<Database>,
  build: (value: string) => Compilable<Row>,
): (value: string) => Promise<Row | undefined> {
  const compiled = build('').compile();
  if (compiled.parameters.length !== 1) {
    throw new Error(
      `preparedLookup needs exactly one parameter, got ${compiled.parameters.length}: ${compiled.sql}`,
    );
  }
  return async (value) => (await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, [value]))).rows[0];
}

type Value = string | number;

/**
 * The same for a query with several values, returning every row: `build` is called once with `sample`,
 * values that must be distinct so that each compiled parameter is traced to the argument it came from.
 * A query with a parameter that is none of the arguments (a constant, a spread list) is refused.
 */
export function preparedQuery<Args extends Value[], Row>(
  db: Kysely<Database>,
  sample: NoInfer<Args>,
  build: (...args: Args) => Compilable<Row>,
): (...args: Args) => Promise<Row[]> {
  if (new Set(sample).size !== sample.length) throw new Error('preparedQuery needs distinct sample values');
  const compiled = build(...sample).compile();
  const positions = compiled.parameters.map((parameter) => sample.indexOf(parameter as Value));
  if (positions.includes(-1)) {
    throw new Error(`preparedQuery: a parameter is not one of the arguments: ${compiled.sql}`);
  }
  return async (...args) =>
    (
      await db.executeQuery<Row>(
        CompiledQuery.raw(
          compiled.sql,
          positions.map((index) => args[index]),
        ),
      )
    ).rows;
}
