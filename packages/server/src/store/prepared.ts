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
