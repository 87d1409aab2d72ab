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

/** Statements SQLite runs only outside a transaction: the open batch commits before them. */
const OUTSIDE_TRANSACTIONS = /^\s*(?:pragma\s+(?:"?main"?\.)?wal_checkpoint|vacuum)\b/i;
/** The savepoint a holder's transaction is inside the batch (one holder at a time, so one name). */
const HOLDER_SAVEPOINT = 'persona_holder';

/** A promise and what settles it. */
function settleable(): { promise: Promise<void>; resolve(): void; reject(error: unknown): void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Holders await it only if they joined; nobody awaiting it is no unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** The holders' work one SQLite transaction commits together, and what they wait for. */
class Batch {
  /** A holder committed a durable write into it: it is synced after it commits. */
  durable = false;
  private readonly commit = settleable();
  private readonly sync = settleable();

  /** Settles once the batch has committed: what a holder read of other holders' writes is then kept. */
  get committed(): Promise<void> {
    return this.commit.promise;
  }

  /** Settles once the batch has committed and, if it holds durable writes, is on disk. */
  get synced(): Promise<void> {
    return this.sync.promise;
  }

  settle(flushed: Promise<void> | null): void {
    this.commit.resolve();
    if (!flushed) this.sync.resolve();
    else flushed.then(this.sync.resolve, this.sync.reject);
  }

  fail(error: unknown): void {
    this.commit.reject(error);
    this.sync.reject(error);
  }
}

/**
 * Batched commits: holders' writes share one SQLite transaction, opened by the first write (or
 * transaction) and committed at the end of the event loop's turn, when the connection is next free. A
 * commit writes every page its transaction changed to the WAL, and the holders of one turn change many of
 * the same pages (the tables' last leaves, the ledger's queue, the audit log): together they write each of
 * those once instead of once each, and the disk syncs them once.
 *
 * A holder's transaction is a savepoint in the batch: its rollback undoes its own work only. A holder that
 * wrote waits until the batch is committed and synced (a relaxed write: committed); one that read while
 * the batch held others' durable writes waits until it is committed, so nothing it saw is lost to a
 * process crash (only a power cut in the sync's window loses what a read showed, as without batches). An error after which SQLite rolled the
 * whole transaction back (a full disk, an I/O error, RAISE(ROLLBACK)) fails every holder of the batch.
 */
class Batches {
  current: Batch | null = null;

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly prepare: (sqlText: string) => SqliteStatementOf,
    private readonly turnstile: Turnstile,
    private readonly flusher: WalFlusher | null,
  ) {}

  /** The open batch, opened now if there is none. The caller holds the connection. */
  join(): Batch {
    if (this.current) return this.current;
    // Still in a transaction with no batch open: a failed batch that could not be rolled back then.
    if (this.sqlite.inTransaction) this.prepare('rollback').run([]);
    this.prepare('begin').run([]);
    const batch = new Batch();
    this.current = batch;
    setImmediate(() => void this.commitWhenFree(batch));
    return batch;
  }

  /** Runs a statement of the holder's; after an error that ended SQLite's transaction, the batch is lost. */
  run<T>(statement: () => T): T {
    try {
      return statement();
    } catch (error) {
      if (this.current && !this.sqlite.inTransaction) {
        const lost = this.current;
        this.current = null;
        lost.fail(
          new Error(`SQLite rolled back the transaction this write shared: ${(error as Error).message}`, {
            cause: error,
          }),
        );
      }
      throw error;
    }
  }

  /** Resolves once everything committed so far is on disk. */
  flushed(): Promise<void> {
    return this.flusher ? this.flusher.flush() : Promise.resolve();
  }

  /** Commits the open batch now; the caller holds the connection. */
  commit(): void {
    const batch = this.current;
    if (!batch) return;
    this.current = null;
    const failure = this.flusher?.failure;
    try {
      // After a failed sync nothing more may commit (see WalFlusher).
      if (failure) throw failure;
      this.prepare('commit').run([]);
    } catch (error) {
      batch.fail(error);
      try {
        if (this.sqlite.inTransaction) this.prepare('rollback').run([]);
      } catch {
        // The next batch's join rolls it back first.
      }
      return;
    }
    // A sync that begins after the commit covers it.
    batch.settle(batch.durable && this.flusher ? this.flusher.flush() : null);
  }

  private async commitWhenFree(batch: Batch): Promise<void> {
    await this.turnstile.enter();
    try {
      if (this.current === batch) this.commit();
    } finally {
      this.turnstile.leave();
    }
  }
}

/**
 * The one connection, used by one holder at a time. It notes the batch the holder's statements ran in
 * and whether it wrote, so that releasing it can wait for what the holder needs.
 */
class FlushedConnection implements DatabaseConnection {
  /** The batch the holder's statements ran in; null when they ran outside one. */
  joined: Batch | null = null;
  /** The holder committed a durable write. */
  wrote = false;
  /** The holder committed a write that need not wait for the disk (it still waits for the commit). */
  private wroteRelaxed = false;
  /** The holder's own statement made SQLite roll the batch back: its error is the holder's answer. */
  private lostBatch = false;
  /** The holder's transaction is open: a savepoint in `joined`. */
  private inTransaction = false;
  /** The open transaction has written durably / at all. */
  private transactionWrote = false;
  private transactionWroteRelaxed = false;

  constructor(
    private readonly batches: Batches,
    private readonly prepare: (sqlText: string) => SqliteStatementOf,
  ) {}

  async executeQuery<Row>(compiledQuery: CompiledQuery): Promise<QueryResult<Row>> {
    const { sql: sqlText, parameters } = compiledQuery;
    const statement = this.prepare(sqlText);
    // Whether it may write, not whether it returns rows: `insert … returning` does both.
    const writes = !statement.readonly;
    this.enter(sqlText, writes);
    const result = this.run((): QueryResult<Row> => {
      if (statement.reader) return { rows: statement.all(parameters) as Row[] };
      const { changes, lastInsertRowid } = statement.run(parameters);
      return {
        insertId: lastInsertRowid != null ? BigInt(lastInsertRowid) : undefined,
        numAffectedRows: changes != null ? BigInt(changes) : undefined,
        rows: [],
      };
    });
    if (writes) {
      const durable = !sqlText.endsWith(RELAXED_DURABILITY_MARK);
      if (this.inTransaction) {
        if (durable) this.transactionWrote = true;
        else this.transactionWroteRelaxed = true;
      } else if (durable) this.wroteDurably();
      else this.wroteRelaxed = true;
    }
    return result;
  }

  async *streamQuery<Row>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<Row>> {
    const { sql: sqlText, parameters } = compiledQuery;
    const statement = this.prepare(sqlText);
    if (!statement.reader) throw new Error('only queries that return rows can be streamed');
    this.enter(sqlText, false);
    for (const row of statement.iterate(parameters)) yield { rows: [row as Row] };
  }

  begin(): void {
    this.joined = this.batches.join();
    this.run(() => this.prepare(`savepoint ${HOLDER_SAVEPOINT}`).run([]));
    this.inTransaction = true;
  }

  commit(): void {
    this.ownBatch();
    this.run(() => this.prepare(`release ${HOLDER_SAVEPOINT}`).run([]));
    this.inTransaction = false;
    if (this.transactionWrote) this.wroteDurably();
    if (this.transactionWroteRelaxed) this.wroteRelaxed = true;
    this.transactionWrote = false;
    this.transactionWroteRelaxed = false;
  }

  /** Undoes the holder's transaction; nothing to undo if SQLite already rolled the batch back. */
  rollback(): void {
    const open = this.inTransaction && this.batches.current === this.joined;
    this.inTransaction = false;
    this.transactionWrote = false;
    this.transactionWroteRelaxed = false;
    if (!open) return;
    this.run(() => {
      this.prepare(`rollback to ${HOLDER_SAVEPOINT}`).run([]);
      this.prepare(`release ${HOLDER_SAVEPOINT}`).run([]);
    });
  }

  /**
   * What the holder waits for once it has handed the connection on (nothing when its own statement made
   * SQLite roll the batch back: its error is the answer); resets for the next holder.
   */
  released(): Promise<void> | undefined {
    const { joined, wrote, wroteRelaxed, lostBatch } = this;
    this.joined = null;
    this.wrote = false;
    this.wroteRelaxed = false;
    this.lostBatch = false;
    this.inTransaction = false;
    this.transactionWrote = false;
    this.transactionWroteRelaxed = false;
    if (lostBatch) return undefined;
    // Outside a batch a write was a statement SQLite runs outside transactions; the next sync covers it.
    if (wrote) return joined ? joined.synced : this.batches.flushed();
    // Whatever it wrote or read of others' writes is kept once committed.
    if (joined && (wroteRelaxed || joined.durable)) return joined.committed;
    return undefined;
  }

  private run<T>(statement: () => T): T {
    const before = this.batches.current;
    try {
      return this.batches.run(statement);
    } catch (error) {
      if (before && this.batches.current !== before) this.lostBatch = true;
      throw error;
    }
  }

  /** Puts the statement in the batch: a write opens one; a read joins one that is open. */
  private enter(sqlText: string, writes: boolean): void {
    if (this.inTransaction) {
      this.ownBatch();
      return;
    }
    if (OUTSIDE_TRANSACTIONS.test(sqlText)) {
      // The holder's earlier statements are committed now; a durable write among them waits for a sync.
      this.batches.commit();
      this.joined = null;
    } else if (writes || this.batches.current) {
      this.joined = this.batches.join();
      // A holder whose durable write an earlier batch committed waits for this one's sync, which covers it.
      if (this.wrote) this.joined.durable = true;
    }
  }

  /** A transaction whose batch SQLite rolled back takes no more statements: they would commit alone. */
  private ownBatch(): void {
    if (this.batches.current !== this.joined) {
      throw new Error('SQLite rolled this transaction back after an error; roll it back and retry');
    }
  }

  private wroteDurably(): void {
    this.wrote = true;
    if (this.joined) this.joined.durable = true;
  }
}

/**
 * Kysely's SQLite driver, with batched, durable commits that leave the event loop free (see Batches): the
 * connection commits with synchronous = NORMAL, and a holder that wrote waits for its batch's commit and
 * the WAL flusher only after it has handed the connection on, so the next holders run meanwhile, and the
 * batches committed during one sync share the next.
 *
 * No write is ever answered before everything committed ahead of it is on disk. Without a flusher (an
 * in-memory database) a write waits for its batch's commit only.
 *
 * After a failed sync the connection is refused to everyone (see WalFlusher): SQLite would otherwise go on
 * committing writes whose callers were told they failed, and checkpointing pages the disk may have lost.
 *
 * Kysely's controlled transactions (`startTransaction`) and aborted operations release the connection in
 * the background, so their commit would not wait for the disk; the platform uses neither. A holder must
 * not await, inside its transaction, another holder's write: that write waits for the batch, which cannot
 * commit while the transaction is open.
 */
class FlushedSqliteDriver implements Driver {
  private readonly turnstile = new Turnstile();
  private readonly batches: Batches;
  private readonly connection: FlushedConnection;

  constructor(
    private readonly sqlite: SQLite.Database,
    prepare: (sqlText: string) => SqliteStatementOf,
    private readonly flusher: WalFlusher | null,
    private readonly onDestroy: () => void,
  ) {
    this.batches = new Batches(sqlite, prepare, this.turnstile, flusher);
    this.connection = new FlushedConnection(this.batches, prepare);
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
    const owed = this.connection.released();
    this.turnstile.leave();
    await owed;
  }

  async destroy(): Promise<void> {
    await this.turnstile.enter();
    try {
      this.batches.commit();
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
