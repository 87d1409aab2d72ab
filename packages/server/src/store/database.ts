import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import pg from 'pg';
import { migrations as allMigrations } from './migrations.js';
import type { Database } from './schema.js';
import { FlushedSqliteDialect, type SqliteStatementOf } from './sqlite-driver.js';
import { WalFlusher } from './wal-flusher.js';

export type Engine = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  engine: Engine;
  /**
   * True when this process is the database's only user (embedded SQLite holds an exclusive lock), so
   * rows cached in memory stay exact as long as this process's own writes update them.
   */
  singleProcess: boolean;
  close(): Promise<void>;
}

export function openStore(databaseUrl: string): Store {
  if (databaseUrl.startsWith('sqlite:')) return openSqlite(databaseUrl.slice('sqlite:'.length));
  return openPostgres(databaseUrl);
}

/**
 * Statements are prepared once and reused: preparing one costs more than running it, and the queries an
 * app issues are a small fixed set of SQL strings.
 */
const STATEMENT_CACHE_SIZE = 500;

function statementCache(connection: SQLite.Database): (sqlText: string) => SqliteStatementOf {
  const statements = new Map<string, SqliteStatementOf>();
  return (sqlText) => {
    let statement = statements.get(sqlText);
    if (!statement) {
      statement = connection.prepare(sqlText) as unknown as SqliteStatementOf;
      if (statements.size >= STATEMENT_CACHE_SIZE)
        statements.delete(statements.keys().next().value as string);
      statements.set(sqlText, statement);
    }
    return statement;
  };
}

/**
 * The embedded database serves one process: it holds SQLite's lock exclusively for its lifetime. That
 * spares every query the file-locking system calls, lets in-memory caches be exact, and makes a second
 * server on the same file fail at start instead of running with diverging in-memory state.
 */
function openSqlite(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const connection = new SQLite(path);
  let wal: ReturnType<typeof WalFlusher.forDatabase> | null = null;
  try {
    connection.pragma('busy_timeout = 2000');
    // Must precede WAL: then SQLite keeps the WAL index in private memory instead of shared memory.
    connection.pragma('locking_mode = EXCLUSIVE');
    connection.pragma('journal_mode = WAL');
    // A commit is on disk before it is acknowledged (the ledger promises durable appends, and an audited
    // act must not survive a power cut without its audit entry, or the reverse): NORMAL here, and the WAL
    // flusher syncs after the commit, off the event loop, as FULL would inside it (store/wal-flusher.ts).
    connection.pragma('synchronous = NORMAL');
    connection.pragma('foreign_keys = ON');
    // Deleted rows are overwritten with zeros, not left in free pages: destroying sealed keys (vault and
    // verification crypto-shredding, expired secrets) must leave nothing of them in the file.
    connection.pragma('secure_delete = ON');
    connection.exec('BEGIN IMMEDIATE; COMMIT;');
    // After that first commit, which makes SQLite create the WAL file.
    if (path !== ':memory:') wal = WalFlusher.forDatabase(path);
  } catch (error) {
    connection.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(
        `${path} is in use by another process. The embedded SQLite database serves one PersonaChain ` +
          'process at a time; stop the other one, or use PostgreSQL (PERSONA_DATABASE_URL) to run several.',
      );
    }
    throw error;
  }
  const db = new Kysely<Database>({
    dialect: new FlushedSqliteDialect(connection, statementCache(connection), wal?.flusher ?? null, () =>
      wal?.close(),
    ),
  });
  return { db, engine: 'sqlite', singleProcess: true, close: () => db.destroy() };
}

function openPostgres(url: string): Store {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // A broken idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, engine: 'postgres', singleProcess: false, close: () => db.destroy() };
}

/**
 * Applies pending migrations in one transaction: either all apply or the database is left as it was.
 * Returns the names applied; throws with the failing migration's name and cause.
 */
export async function migrate(
  store: Pick<Store, 'db' | 'engine'>,
  migrations: Record<string, Migration> = allMigrations,
): Promise<string[]> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'persona_migrations',
    migrationLockTableName: 'persona_migrations_lock',
    // Kysely looks for its tables in every schema unless told which; on a PostgreSQL database shared by
    // several schemas (several installations, or tests) it would then skip creating its own.
    ...(store.engine === 'postgres' ? { migrationTableSchema: await currentSchema(store.db) } : {}),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((result) => result.status === 'Error');
    throw new Error(
      `migration ${failed?.migrationName ?? '(unknown)'} failed, nothing was applied: ${String((error as Error).message ?? error)}`,
      { cause: error },
    );
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

async function currentSchema(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('PostgreSQL has no current schema: set search_path in PERSONA_DATABASE_URL');
  return schema;
}

/** True when the database answers a trivial query. */
export async function ping(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
