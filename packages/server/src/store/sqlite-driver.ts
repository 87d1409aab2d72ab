import type SQLite from 'better-sqlite3';
import {
  type CompiledQuery,
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

/**
 * The one connection, used by one holder at a time. It notes whether the holder wrote, so that releasing
 * it can wait for the disk when (and only when) something durable was committed.
 */
class FlushedConnection implements DatabaseConnection {
  /** The holder committed a write outside a transaction, or a transaction that wrote. */
  wrote = false;
  /** The open transaction has written. */
  transactionWrote = false;

  constructor(
    private readonly connection: SQLite.Database,
    private readonly prepare: (sqlText: string) => SqliteStatement,
  ) {}

  async executeQuery<Row>(compiledQuery: CompiledQuery): Promise<QueryResult<Row>> {
    const { sql: sqlText, parameters } = compiledQuery;
    const statement = this.prepare(sqlText);
    if (statement.reader) return { rows: statement.all(parameters) as Row[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    if (!sqlText.endsWith(RELAXED_DURABILITY_MARK)) {
      if (this.connection.inTransaction) this.transactionWrote = true;
      else this.wrote = true;
    }
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

  /** Transaction control, which is not a write of its own. */
  control(statement: 'begin' | 'commit' | 'rollback'): void {
    this.prepare(statement).run([]);
    if (statement === 'commit' && this.transactionWrote) this.wrote = true;
    if (statement !== 'begin') this.transactionWrote = false;
  }
}

/**
 * Kysely's SQLite driver, with durable commits that leave the event loop free: the connection commits with
 * synchronous = NORMAL and a holder that wrote waits for the WAL flusher only after it has handed the
 * connection on, so the next holders run (and commit) while the disk syncs, and share the next sync.
 * Without a flusher (an in-memory database) nothing waits.
 */
class FlushedSqliteDriver implements Driver {
  private readonly turnstile = new Turnstile();
  private readonly connection: FlushedConnection;

  constructor(
    private readonly sqlite: SQLite.Database,
    prepare: (sqlText: string) => SqliteStatement,
    private readonly flusher: WalFlusher | null,
    private readonly onDestroy: () => void,
  ) {
    this.connection = new FlushedConnection(sqlite, prepare);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.turnstile.enter();
    return this.connection;
  }

  async beginTransaction(): Promise<void> {
    this.connection.control('begin');
  }

  async commitTransaction(): Promise<void> {
    this.connection.control('commit');
  }

  async rollbackTransaction(): Promise<void> {
    this.connection.control('rollback');
  }

  async releaseConnection(): Promise<void> {
    const mustFlush = this.connection.wrote && this.flusher !== null;
    this.connection.wrote = false;
    this.turnstile.leave();
    if (mustFlush) await this.flusher?.flush();
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
    prepare: (sqlText: string) => SqliteStatement,
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
