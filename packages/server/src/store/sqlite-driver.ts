import type SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type SqliteStatement,
  sql,
} from 'kysely';
import type { WalFlusher } from './wal-flusher.js';

/**
 * Marks a write whose loss in a power cut (not a process crash: the WAL keeps those) costs no more than a
 * repeated step: the OIDC provider's short-lived protocol state, processing leases, delivery claims. Its
 * writer does not wait for the disk; it reaches it with the next flushed commit or checkpoint, and commits
 * stay in order, so a power cut loses a suffix of them, never a middle one. On PostgreSQL the mark is a
 * comment and changes nothing.
 */
const RELAXED_DURABILITY_MARK = '/* persona:relaxed-durability */';
export const relaxedDurability = sql.raw(RELAXED_DURABILITY_MARK);

/** One holder at a time, served in arrival order. */
class Turnstile {
  private held = false;
  private readonly queue: (() => void)[] = [];

  enter(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  leave(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.held = false;
  }
}

/** A prepared statement as better-sqlite3 gives it: `readonly` is false for anything that may write. */
export type SqliteStatementOf = SqliteStatement & { readonly readonly: boolean };

/**
 * The one connection, used by one holder at a time. It notes whether the holder wrote, so that releasing
 * it can wait for the disk when something durable was committed.
 */
class FlushedConnection implements DatabaseConnection {
  /** The holder committed a write outside a transaction, or a transaction that wrote. */
  wrote = false;
  /** The open transaction has written. */
  transactionWrote = false;

  constructor(
    private readonly connection: SQLite.Database,
    private readonly prepare: (sqlText: string) => SqliteStatementOf,
  ) {}

  async executeQuery<Row>(compiledQuery: CompiledQuery): Promise<QueryResult<Row>> {
    const { sql: sqlText, parameters } = compiledQuery;
    const statement = this.prepare(sqlText);
    // Whether it may write, not whether it returns rows: `insert … returning` does both.
    if (!statement.readonly && !sqlText.endsWith(RELAXED_DURABILITY_MARK)) {
      if (this.connection.inTransaction) this.transactionWrote = true;
      else this.wrote = true;
    }
    if (statement.reader) return { rows: statement.all(parameters) as Row[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return {
      insertId: lastInsertRowid != null ? BigInt(lastInsertRowid) : undefined,
      numAffectedRows: changes != null ? BigInt(changes) : undefined,
      rows: [],
    };
  }

  async *streamQuery<Row>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<Row>> {
    const { sql: sqlText, parameters } = compiledQuery;
    const statement = this.prepare(sqlText);
    if (!statement.reader) throw new Error('only queries that return rows can be streamed');
    for (const row of statement.iterate(parameters)) yield { rows: [row as Row] };
  }

  begin(): void {
    this.prepare('begin').run([]);
  }

  commit(): void {
    this.prepare('commit').run([]);
    if (this.transactionWrote) this.wrote = true;
    this.transactionWrote = false;
  }

  /** Rolls back what is open: SQLite may have rolled back already, on an I/O error or RAISE(ROLLBACK). */
  rollback(): void {
    this.transactionWrote = false;
    if (this.connection.inTransaction) this.prepare('rollback').run([]);
  }
}

/**
 * Kysely's SQLite driver, with durable commits that leave the event loop free: the connection commits with
 * synchronous = NORMAL and a holder that wrote waits for the WAL flusher only after it has handed the
 * connection on, so the next holders run (and commit) while the disk syncs, and share the next sync.
 *
 * Unlike synchronous = FULL, a holder may read a commit whose sync is still running (well under a
 * millisecond): a power cut in that window loses the write and what the read showed of it. No write is
 * ever answered before everything committed ahead of it is on disk. Without a flusher (an in-memory
 * database) nothing waits.
 *
 * After a failed sync the connection is refused to everyone (see WalFlusher): SQLite would otherwise go on
 * committing writes whose callers were told they failed, and checkpointing pages the disk may have lost.
 *
 * Kysely's controlled transactions (`startTransaction`) and aborted operations release the connection in
 * the background, so their commit would not wait for the disk; the platform uses neither.
 */
class FlushedSqliteDriver implements Driver {
  private readonly turnstile = new Turnstile();
  private readonly connection: FlushedConnection;

  constructor(
    private readonly sqlite: SQLite.Database,
    prepare: (sqlText: string) => SqliteStatementOf,
    private readonly flusher: WalFlusher | null,
    private readonly onDestroy: () => void,
  ) {
    this.connection = new FlushedConnection(sqlite, prepare);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.turnstile.enter();
    const failure = this.flusher?.failure;
    if (failure) {
      this.turnstile.leave();
      throw failure;
    }
    return this.connection;
  }

  async beginTransaction(): Promise<void> {
    this.connection.begin();
  }

  async commitTransaction(): Promise<void> {
    this.connection.commit();
  }

  async rollbackTransaction(): Promise<void> {
    this.connection.rollback();
  }

  async savepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    await this.connection.executeQuery(CompiledQuery.raw(`savepoint ${quoted(name)}`));
  }

  async rollbackToSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    await this.connection.executeQuery(CompiledQuery.raw(`rollback to ${quoted(name)}`));
  }

  async releaseSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    await this.connection.executeQuery(CompiledQuery.raw(`release ${quoted(name)}`));
  }

  async releaseConnection(): Promise<void> {
    const { wrote } = this.connection;
    this.connection.wrote = false;
    this.connection.transactionWrote = false;
    this.turnstile.leave();
    // A sync that begins after this point covers the holder's commit.
    if (wrote) await this.flusher?.flush();
  }

  async destroy(): Promise<void> {
    await this.turnstile.enter();
    try {
      await this.flusher?.drained();
      this.sqlite.close();
    } finally {
      this.onDestroy();
    }
  }
}

/** An SQL identifier in double quotes. */
function quoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * SQLite runs DDL inside transactions, but Kysely's adapter says it can't, which would make a failed
 * migration leave half a schema behind; this adapter lets the migrator wrap each run in one transaction.
 * It also leaves the connection's exclusive use to the driver (which hands it on before waiting for the
 * disk) instead of Kysely's own lock (which would hold it until the sync ended).
 */
class FlushedSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }

  override get supportsMultipleConnections(): boolean {
    return true;
  }
}

/** Kysely's SQLite dialect on the flushed driver. */
export class FlushedSqliteDialect implements Dialect {
  private readonly driver: FlushedSqliteDriver;

  constructor(
    sqlite: SQLite.Database,
    prepare: (sqlText: string) => SqliteStatementOf,
    flusher: WalFlusher | null,
    onDestroy: () => void,
  ) {
    this.driver = new FlushedSqliteDriver(sqlite, prepare, flusher, onDestroy);
  }

  createDriver(): Driver {
    return this.driver;
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new FlushedSqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
