import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  type DialectAdapter,
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
  sql,
} from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import pg from 'pg';
import { migrations as allMigrations } from './migrations.js';
import type { Database } from './schema.js';

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

/**
 * SQLite runs DDL inside transactions, but Kysely's adapter says it can't, which would make a failed
 * migration leave half a schema behind. This adapter lets the migrator wrap each run in one transaction.
 */
class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class TransactionalSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalSqliteAdapter();
  }
}

export function openStore(databaseUrl: string): Store {
  if (databaseUrl.startsWith('sqlite:')) return openSqlite(databaseUrl.slice('sqlite:'.length));
  return openPostgres(databaseUrl);
}

/**
 * Kysely's SQLite driver prepares every statement anew, which costs more than running it. The queries an
 * app issues are a small fixed set of SQL strings, so prepared statements are kept and reused.
 */
const STATEMENT_CACHE_SIZE = 500;

function withStatementCache(connection: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  const relaxed = relaxedCommits(connection);
  return {
    close: () => connection.close(),
    prepare(sqlText: string) {
      let statement = statements.get(sqlText);
      if (!statement) {
        const prepared = connection.prepare(sqlText) as unknown as SqliteStatement;
        statement = sqlText.endsWith(RELAXED_DURABILITY_MARK) ? relaxed(prepared) : prepared;
        if (statements.size >= STATEMENT_CACHE_SIZE)
          statements.delete(statements.keys().next().value as string);
        statements.set(sqlText, statement);
      }
      return statement;
    },
  };
}

/**
 * Marks a write whose loss in a power cut (not a process crash: WAL keeps those) costs no more than a
 * repeated step: the OIDC provider's short-lived protocol state (interactions, sessions, codes). Outside
 * a transaction, SQLite then commits it without waiting for the disk (synchronous = NORMAL); it reaches
 * the disk with the next durable commit or checkpoint, and commits stay in order, so a power cut loses a
 * suffix of them, never a middle one. Everything else (audited acts, the ledger) commits with FULL.
 * On PostgreSQL the mark is a comment and changes nothing.
 */
const RELAXED_DURABILITY_MARK = '/* persona:relaxed-durability */';
export const relaxedDurability = sql.raw(RELAXED_DURABILITY_MARK);

/**
 * Runs a marked statement with synchronous = NORMAL around it. better-sqlite3 is synchronous, so no other
 * statement can run in between; inside a transaction the statement runs as is (the commit decides).
 */
export function relaxedCommits(connection: SQLite.Database): (statement: SqliteStatement) => SqliteStatement {
  const normal = connection.prepare('PRAGMA synchronous = NORMAL');
  const full = connection.prepare('PRAGMA synchronous = FULL');
  const relaxedRun = <T>(run: () => T): T => {
    if (connection.inTransaction) return run();
    normal.run();
    try {
      return run();
    } finally {
      full.run();
    }
  };
  return (statement) => ({
    reader: statement.reader,
    all: (parameters) => relaxedRun(() => statement.all(parameters)),
    run: (parameters) => relaxedRun(() => statement.run(parameters)),
    iterate: (parameters) => statement.iterate(parameters),
  });
}

/**
 * The embedded database serves one process: it holds SQLite's lock exclusively for its lifetime. That
 * spares every query the file-locking system calls, lets in-memory caches be exact, and makes a second
 * server on the same file fail at start instead of running with diverging in-memory state.
 */
function openSqlite(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const connection = new SQLite(path);
  try {
    connection.pragma('busy_timeout = 2000');
    // Must precede WAL: then SQLite keeps the WAL index in private memory instead of shared memory.
    connection.pragma('locking_mode = EXCLUSIVE');
    connection.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before it is acknowledged (the ledger promises durable appends, and an
    // audited act must not survive a power cut without its audit entry, or the reverse).
    connection.pragma('synchronous = FULL');
    connection.pragma('foreign_keys = ON');
    // Deleted rows are overwritten with zeros, not left in free pages: destroying sealed keys (vault and
    // verification crypto-shredding, expired secrets) must leave nothing of them in the file.
    connection.pragma('secure_delete = ON');
    connection.exec('BEGIN IMMEDIATE; COMMIT;');
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
    dialect: new TransactionalSqliteDialect({ database: withStatementCache(connection) }),
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
