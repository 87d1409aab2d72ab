import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/database.js';
import {
  FlushedSqliteDialect,
  relaxedDurability,
  type SqliteStatementOf,
} from '../src/store/sqlite-driver.js';
import { type SyncFile, WalFlusher } from '../src/store/wal-flusher.js';

/** A sync the test ends by hand; `started` counts the syncs begun. */
function gatedSync() {
  const pending: ((error: Error | null) => void)[] = [];
  const gate = {
    started: 0,
    sync: ((done) => {
      gate.started++;
      pending.push(done);
    }) as SyncFile,
    /** Ends the oldest sync in progress, with `error` if given. */
    finish(error: Error | null = null) {
      const done = pending.shift();
      if (!done) throw new Error('no sync in progress');
      done(error);
    },
    get inProgress() {
      return pending.length;
    },
  };
  return gate;
}

/**
 * Settles pending promise callbacks and immediates: two turns of the event loop, so that a batch opened in
 * this one has committed (the driver commits it at the end of the turn) and its sync has begun.
 */
const settle = async () => {
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
};

function tracked<T>(promise: Promise<T>) {
  const state = { settled: false, error: undefined as unknown };
  promise.then(
    () => {
      state.settled = true;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

describe('WalFlusher', () => {
  it('resolves a flush only after a sync that began after it, and lets later flushes share the next sync', async () => {
    const gate = gatedSync();
    const flusher = new WalFlusher(gate.sync);
    const first = tracked(flusher.flush());
    expect(gate.started).toBe(1);

    // These arrive while the first sync runs: it may not cover their commits.
    const second = tracked(flusher.flush());
    const third = tracked(flusher.flush());
    await settle();
    expect(gate.started).toBe(1);

    gate.finish();
    await settle();
    expect(first.settled).toBe(true);
    expect(second.settled).toBe(false);
    expect(third.settled).toBe(false);
    // One sync for both waiting writers.
    expect(gate.started).toBe(2);

    gate.finish();
    await settle();
    expect(second).toEqual({ settled: true, error: undefined });
    expect(third).toEqual({ settled: true, error: undefined });
    expect(gate.started).toBe(2);
    await flusher.drained();
  });

  it('after a failed sync, fails every waiting and later flush and syncs no more', async () => {
    const gate = gatedSync();
    const flusher = new WalFlusher(gate.sync);
    const first = tracked(flusher.flush());
    const second = tracked(flusher.flush());
    gate.finish(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await settle();
    expect((first.error as Error).message).toMatch(/could not be synced to disk \(EIO.*restarts/);
    expect(second.error).toBe(first.error);
    await expect(flusher.flush()).rejects.toBe(first.error);
    expect(gate.started).toBe(1);
  });

  it('syncs a real WAL file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persona-wal-'));
    try {
      const path = join(dir, 'db.sqlite');
      expect(() => WalFlusher.forDatabase(path)).toThrow(/ENOENT/);
      const connection = new SQLite(path);
      connection.pragma('locking_mode = EXCLUSIVE');
      connection.pragma('journal_mode = WAL');
      connection.exec('BEGIN IMMEDIATE; COMMIT;');
      const wal = WalFlusher.forDatabase(path);
      connection.exec('create table t (v text); insert into t values (1)');
      await wal.flusher.flush();
      wal.close();
      connection.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the flushed SQLite driver', () => {
  let db: Kysely<{ t: { v: string } }> | undefined;
  afterEach(async () => {
    await db?.destroy();
    db = undefined;
  });

  function open() {
    const gate = gatedSync();
    const connection = new SQLite(':memory:');
    connection.exec('create table t (v text)');
    const counts = { commits: 0 };
    const prepare = (text: string) => {
      if (text === 'commit') counts.commits++;
      return connection.prepare(text) as unknown as SqliteStatementOf;
    };
    db = new Kysely({
      dialect: new FlushedSqliteDialect(connection, prepare, new WalFlusher(gate.sync), () => {}),
    });
    return { db, gate, connection, counts };
  }

  /** Adds a trigger that makes SQLite roll its whole transaction back when 'no' is inserted. */
  async function refuseNo(db: Kysely<{ t: { v: string } }>, gate: ReturnType<typeof gatedSync>) {
    const created =
      sql`create trigger refuse before insert on t when new.v = 'no' begin select raise(rollback, 'refused by trigger'); end`.execute(
        db,
      );
    await settle();
    gate.finish();
    await created;
  }

  const values = async (db: Kysely<{ t: { v: string } }>) =>
    (await db.selectFrom('t').select('v').orderBy('v').execute()).map((row) => row.v);

  it('answers a write once it is synced, and serves other queries while the sync runs', async () => {
    const { db, gate } = open();
    const write = tracked(db.insertInto('t').values({ v: 'a' }).execute());
    await settle();
    expect(gate.started).toBe(1);
    expect(write.settled).toBe(false);

    // The connection was handed on before the wait: a read and a relaxed write run meanwhile.
    expect(await db.selectFrom('t').select('v').execute()).toEqual([{ v: 'a' }]);
    await db.insertInto('t').values({ v: 'relaxed' }).modifyEnd(relaxedDurability).execute();
    expect(gate.started).toBe(1);

    gate.finish();
    await settle();
    expect(write).toEqual({ settled: true, error: undefined });
  });

  it('counts a write that returns rows as a write', async () => {
    const { db, gate } = open();
    const write = tracked(db.insertInto('t').values({ v: 'r' }).returning('v').execute());
    await settle();
    expect(gate.started).toBe(1);
    expect(write.settled).toBe(false);
    gate.finish();
    await settle();
    expect(write.settled).toBe(true);
  });

  it('makes a transaction that wrote wait for a sync, and one that only read or rolled back not', async () => {
    const { db, gate } = open();
    expect(await db.transaction().execute((trx) => trx.selectFrom('t').selectAll().execute())).toEqual([]);
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ v: 'lost' }).execute();
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(gate.started).toBe(0);

    const committed = tracked(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ v: 'kept' }).execute();
        await sql`savepoint inner_step`.execute(trx);
        await sql`release savepoint inner_step`.execute(trx);
      }),
    );
    await settle();
    expect(gate.started).toBe(1);
    expect(committed.settled).toBe(false);
    gate.finish();
    await settle();
    expect(committed).toEqual({ settled: true, error: undefined });
    expect(await db.selectFrom('t').select('v').execute()).toEqual([{ v: 'kept' }]);
  });

  it('lets writers that commit during one sync share the next', async () => {
    const { db, gate } = open();
    const first = tracked(db.insertInto('t').values({ v: '1' }).execute());
    await settle();
    const more = ['2', '3', '4'].map((v) => tracked(db.insertInto('t').values({ v }).execute()));
    await settle();
    expect(gate.started).toBe(1);
    gate.finish();
    await settle();
    expect(first.settled).toBe(true);
    expect(gate.started).toBe(2);
    gate.finish();
    await settle();
    expect(more.every((write) => write.settled && write.error === undefined)).toBe(true);
    expect(gate.inProgress).toBe(0);
  });

  it('reports a write failed when its sync failed, and refuses the database from then on', async () => {
    const { db, gate } = open();
    const write = tracked(db.insertInto('t').values({ v: 'a' }).execute());
    await settle();
    gate.finish(new Error('EIO'));
    await settle();
    expect((write.error as Error).message).toMatch(/could not be synced to disk/);
    await expect(db.insertInto('t').values({ v: 'b' }).execute()).rejects.toThrow(
      /refused until the server restarts/,
    );
    await expect(db.selectFrom('t').selectAll().execute()).rejects.toThrow(/refused/);
    expect(gate.started).toBe(1);
  });

  it('commits the writes of one turn of the event loop together, with one sync', async () => {
    const { db, gate, counts } = open();
    const writes = ['1', '2', '3'].map((v) => tracked(db.insertInto('t').values({ v }).execute()));
    const inTransaction = tracked(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ v: '4' }).execute();
        await trx.insertInto('t').values({ v: '5' }).execute();
      }),
    );
    await settle();
    expect(counts.commits).toBe(1);
    expect(gate.started).toBe(1);
    expect([...writes, inTransaction].some((write) => write.settled)).toBe(false);
    gate.finish();
    await settle();
    expect([...writes, inTransaction].every((write) => write.settled && !write.error)).toBe(true);
    expect(await values(db)).toEqual(['1', '2', '3', '4', '5']);
  });

  it('undoes a rolled-back transaction alone, leaving the other writes of its batch', async () => {
    const { db, gate, counts } = open();
    const before = tracked(db.insertInto('t').values({ v: 'before' }).execute());
    const failed = tracked(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ v: 'undone' }).execute();
        throw new Error('changed my mind');
      }),
    );
    const after = tracked(db.insertInto('t').values({ v: 'after' }).execute());
    await settle();
    expect(counts.commits).toBe(1);
    expect((failed.error as Error).message).toBe('changed my mind');
    gate.finish();
    await settle();
    expect([before, after].every((write) => write.settled && !write.error)).toBe(true);
    expect(await values(db)).toEqual(['after', 'before']);
  });

  it('answers a read that may have seen others\u2019 writes once they are committed, not synced', async () => {
    const { db, gate, connection } = open();
    // A read before any write of the turn sees committed rows only and is answered at once.
    const early = tracked(db.selectFrom('t').selectAll().execute());
    await new Promise((resolve) => setImmediate(resolve));
    expect(early.settled).toBe(true);

    const write = tracked(db.insertInto('t').values({ v: 'w' }).execute());
    const read = db.selectFrom('t').select('v').execute();
    let committedWhenAnswered: boolean | undefined;
    const answered = read.then((rows) => {
      committedWhenAnswered = !connection.inTransaction;
      return rows;
    });
    expect(await answered).toEqual([{ v: 'w' }]);
    expect(committedWhenAnswered).toBe(true);
    expect(gate.inProgress).toBe(1);
    expect(write.settled).toBe(false);
    gate.finish();
    await settle();
    expect(write).toEqual({ settled: true, error: undefined });
  });

  it('fails every write of a batch that SQLite rolled back for one holder', async () => {
    const { db, gate } = open();
    await refuseNo(db, gate);
    const innocent = tracked(db.insertInto('t').values({ v: 'innocent' }).execute());
    const relaxed = tracked(
      db.insertInto('t').values({ v: 'relaxed' }).modifyEnd(relaxedDurability).execute(),
    );
    const culprit = tracked(db.insertInto('t').values({ v: 'no' }).execute());
    await settle();
    expect((culprit.error as Error).message).toBe('refused by trigger');
    // A relaxed write waits for no sync, but for its commit: it is not answered as done and then lost.
    for (const write of [innocent, relaxed]) {
      expect((write.error as Error).message).toMatch(
        /SQLite rolled back the transaction this write shared: refused by trigger/,
      );
    }
    expect(gate.started).toBe(1);
    // The next write opens a new batch (the failed one had nothing left to sync).
    const next = tracked(db.insertInto('t').values({ v: 'next' }).execute());
    await settle();
    gate.finish();
    await settle();
    expect(next).toEqual({ settled: true, error: undefined });
    expect(await values(db)).toEqual(['next']);
  });

  it('commits the open batch before a statement SQLite runs only outside transactions', async () => {
    const { db, gate, connection, counts } = open();
    const write = tracked(db.insertInto('t').values({ v: 'w' }).execute());
    // Inside the batch's transaction SQLite would refuse it ("database table is locked").
    const checkpoint = tracked(sql`pragma wal_checkpoint(TRUNCATE)`.execute(db));
    await settle();
    expect(counts.commits).toBe(1);
    expect(connection.inTransaction).toBe(false);
    while (gate.inProgress > 0) {
      gate.finish();
      await settle();
    }
    expect(write).toEqual({ settled: true, error: undefined });
    expect(checkpoint).toEqual({ settled: true, error: undefined });
  });

  it('rolls back a transaction SQLite already ended, and keeps the statement error', async () => {
    const { db, gate } = open();
    await refuseNo(db, gate);
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ v: 'first' }).execute();
        await trx.insertInto('t').values({ v: 'no' }).execute();
      }),
    ).rejects.toThrow('refused by trigger');
    expect(await db.selectFrom('t').selectAll().execute()).toEqual([]);
  });
});

describe('the embedded store', () => {
  it('commits with synchronous = NORMAL and a write survives reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persona-durable-'));
    try {
      const url = `sqlite:${join(dir, 'db.sqlite')}`;
      const store = openStore(url);
      const level = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
      expect(level.rows).toEqual([{ synchronous: 1 }]);
      await sql`create table t (v text)`.execute(store.db);
      await sql`insert into t values ('kept')`.execute(store.db);
      await store.close();

      const reopened = openStore(url);
      expect((await sql<{ v: string }>`select v from t`.execute(reopened.db)).rows).toEqual([{ v: 'kept' }]);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
