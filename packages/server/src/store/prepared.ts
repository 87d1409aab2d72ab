import { randomBytes } from 'node:crypto';
import {
  type Compilable,
  CompiledQuery,
  type DialectAdapter,
  type Insertable,
  type Kysely,
  type QueryResult,
  type Updateable,
} from 'kysely';
import { ROWS_PER_STATEMENT } from './chunks.js';
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
  const sentinel = `\u0000persona-param:${randomBytes(8).toString('hex')}`;
  const compiled = build(sentinel).compile();
  if (compiled.parameters.length !== 1 || compiled.parameters[0] !== sentinel) {
    throw new Error(`preparedLookup needs exactly one parameter, the value: ${compiled.sql}`);
  }
  return async (value) => (await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, [value]))).rows[0];
}

/**
 * An argument; null binds SQL NULL. Anything but a number is traced as a string: give a non-null sample
 * for numbers.
 */
type Value = string | number | null | Uint8Array;

/**
 * The same for a query with several values, returning every row. `build` is compiled with a sentinel in
 * place of each argument (of the type of the matching `sample` value; the sample values themselves are
 * never bound), so every compiled parameter is traced to the argument it came from and a constant of the
 * query can never be mistaken for one. It is compiled twice with different sentinels and both must agree:
 * a query with a parameter that is none of the arguments (a constant, a spread list, a transformed value)
 * is refused.
 */
export function preparedQuery<Args extends Value[], Row>(
  db: Kysely<Database>,
  sample: NoInfer<Args>,
  build: (...args: Args) => Compilable<Row>,
): (...args: Args) => Promise<Row[]> {
  const traced = traceStable('preparedQuery', sample, build);
  return async (...args) => (await db.executeQuery<Row>(bound(traced, args))).rows;
}

/**
 * The same for a repository that runs on the database or on a transaction of it: the SQL is traced once
 * per dialect, at the first call, and runs on whichever of them each call gives (a statement bound to the
 * database would wait for the connection a transaction holds). Answers the whole result, so an update can
 * check the rows it changed.
 */
export function preparedStatement<Args extends Value[], Row>(
  sample: NoInfer<Args>,
  build: (db: Kysely<Database>, ...args: Args) => Compilable<Row>,
): (db: Kysely<Database>, ...args: Args) => Promise<QueryResult<Row>> {
  const traced = new WeakMap<DialectAdapter, Traced>();
  return (db, ...args) => {
    const adapter = db.getExecutor().adapter;
    let statement = traced.get(adapter);
    if (!statement) {
      statement = traceStable('preparedStatement', sample, (...values: Args) => build(db, ...values));
      traced.set(adapter, statement);
    }
    return db.executeQuery<Row>(bound(statement, args));
  };
}

/**
 * Inserts one row into `table` with SQL built once per dialect and set of columns: Kysely otherwise parses
 * the row into a query tree and compiles it on every call, which for a wide row costs more than SQLite
 * takes to insert it. Columns whose value is undefined are left out, as Kysely does.
 */
export function rowInserter<Table extends keyof Database & string>(
  table: Table,
): (db: Kysely<Database>, row: Insertable<Database[Table]>) => Promise<void> {
  const insert = rowsInserter(table);
  return (db, row) => insert(db, [row]);
}

/**
 * Inserts rows into `table` with multi-row statements whose SQL is built once per dialect, set of columns
 * and number of rows (as `rowInserter`). Every row must give the same columns. The rows go in pieces of
 * powers of two (13 rows: 8, 4 and 1), so a table keeps at most ~10 statement texts per set of columns
 * however its batch sizes vary.
 */
export function rowsInserter<Table extends keyof Database & string>(
  table: Table,
): (db: Kysely<Database>, rows: readonly Insertable<Database[Table]>[]) => Promise<void> {
  const statementFor = statementsByColumns();
  return async (db, rows) => {
    if (rows.length === 0) return;
    const columns = definedColumns(rows[0] as Record<string, unknown>);
    for (const row of rows as readonly Record<string, unknown>[]) {
      if (
        definedColumns(row).length !== columns.length ||
        columns.some((column) => row[column] === undefined)
      ) {
        throw new Error(`rowsInserter: the rows for ${table} do not all give the same columns`);
      }
    }
    for (let start = 0; start < rows.length; ) {
      const count = largestPowerOfTwoAtMost(Math.min(rows.length - start, ROWS_PER_STATEMENT));
      const piece = rows.slice(start, start + count) as readonly Record<string, unknown>[];
      const sql = statementFor(db, [...columns, `#${count}`], () => compileInsert(db, table, columns, count));
      await db.executeQuery(
        CompiledQuery.raw(
          sql,
          piece.flatMap((row) => columns.map((column) => row[column])),
        ),
      );
      start += count;
    }
  };
}

function largestPowerOfTwoAtMost(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/**
 * Updates the rows of `table` whose `keyColumns` equal the given values, setting the patch's columns, with
 * SQL built once per dialect and set of patched columns (as `rowInserter`). Columns whose value is
 * undefined are left out, as Kysely does. Answers the whole result, so a conditional update can check the
 * rows it changed.
 */
export function rowUpdater<Table extends keyof Database & string, Key extends string>(
  table: Table,
  keyColumns: readonly Key[],
): (
  db: Kysely<Database>,
  keys: Record<Key, Value>,
  patch: Updateable<Database[Table]>,
) => Promise<QueryResult<never>> {
  const statementFor = statementsByColumns();
  return async (db, keys, patch) => {
    const values = patch as Record<string, unknown>;
    const columns = definedColumns(values);
    if (columns.length === 0) throw new Error(`rowUpdater: an update of ${table} sets no column`);
    const sql = statementFor(db, columns, () => compileUpdate(db, table, columns, keyColumns));
    const parameters = [...columns.map((column) => values[column]), ...keyColumns.map((key) => keys[key])];
    return db.executeQuery<never>(CompiledQuery.raw(sql, parameters));
  };
}

/** The columns given a value: Kysely leaves out undefined ones. */
function definedColumns(values: Record<string, unknown>): string[] {
  return Object.keys(values).filter((column) => values[column] !== undefined);
}

/** SQL texts by dialect and by the columns the statement names, each compiled at its first use. */
function statementsByColumns(): (
  db: Kysely<Database>,
  columns: readonly string[],
  compile: () => string,
) => string {
  const statements = new WeakMap<DialectAdapter, Map<string, string>>();
  return (db, columns, compile) => {
    const adapter = db.getExecutor().adapter;
    let byColumns = statements.get(adapter);
    if (!byColumns) {
      byColumns = new Map();
      statements.set(adapter, byColumns);
    }
    const signature = columns.join();
    let sql = byColumns.get(signature);
    if (sql === undefined) {
      sql = compile();
      byColumns.set(signature, sql);
    }
    return sql;
  };
}

/** The SQL of `rowsInserter`, each parameter compiled as a marker naming its row and column and the order checked. */
function compileInsert(
  db: Kysely<Database>,
  table: string,
  columns: readonly string[],
  rows: number,
): string {
  const markers = Array.from({ length: rows }, (_, row) => columns.map((column) => `${row}:${column}`));
  const loose = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  const compiled = loose
    .insertInto(table)
    .values(markers.map((row) => Object.fromEntries(columns.map((column, i) => [column, row[i]]))))
    .compile();
  if (compiled.parameters.join('\n') !== markers.flat().join('\n')) {
    throw new Error(`rowsInserter: the insert does not bind exactly the rows' columns: ${compiled.sql}`);
  }
  return compiled.sql;
}

/** The SQL of `rowUpdater`, each parameter compiled as a marker naming what it binds and the order checked. */
function compileUpdate(
  db: Kysely<Database>,
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
): string {
  const expected = [...columns.map((column) => `set:${column}`), ...keyColumns.map((key) => `key:${key}`)];
  const loose = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  let query = loose
    .updateTable(table)
    .set(Object.fromEntries(columns.map((column) => [column, `set:${column}`])));
  for (const key of keyColumns) query = query.where(key, '=', `key:${key}`);
  const compiled = query.compile();
  if (compiled.parameters.join('\n') !== expected.join('\n')) {
    throw new Error(`rowUpdater: the update does not bind exactly its columns and keys: ${compiled.sql}`);
  }
  return compiled.sql;
}

interface Traced {
  sql: string;
  /** For each compiled parameter, the index of the argument bound to it. */
  positions: number[];
}

/**
 * Traces `build` twice with different sentinels; both must agree, or a parameter depends on the values
 * (a constant, a spread list, a transformed value) and the query is refused.
 */
function traceStable<Args extends Value[], Row>(
  name: string,
  sample: Args,
  build: (...args: Args) => Compilable<Row>,
): Traced {
  const first = traceParameters(sample, build);
  const second = traceParameters(sample, build);
  if (first.sql !== second.sql || first.positions.join() !== second.positions.join()) {
    throw new Error(`${name}: the query changes with its argument values: ${first.sql}`);
  }
  return first;
}

/** The traced SQL with each call's arguments in its parameters' places. */
function bound(traced: Traced, args: readonly unknown[]): CompiledQuery {
  return CompiledQuery.raw(
    traced.sql,
    traced.positions.map((index) => args[index]),
  );
}

/** Compiles `build` with fresh sentinels and maps each compiled parameter to its argument. */
function traceParameters<Args extends Value[], Row>(
  sample: Args,
  build: (...args: Args) => Compilable<Row>,
): Traced {
  const nonce = randomBytes(8).toString('hex');
  const sentinels = sample.map((value, index) =>
    typeof value === 'number'
      ? // A fraction no query states as a constant; the random part differs between the two compilations.
        -(2 ** 40) - index - Number.parseInt(nonce.slice(0, 8), 16) / 2 ** 33
      : `\u0000persona-param:${index}:${nonce}`,
  ) as Args;
  const compiled = build(...sentinels).compile();
  const positions = compiled.parameters.map((parameter) => sentinels.indexOf(parameter as Value));
  if (positions.includes(-1)) {
    throw new Error(`preparedQuery: a parameter is not one of the arguments: ${compiled.sql}`);
  }
  return { sql: compiled.sql, positions };
}
