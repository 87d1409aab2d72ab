import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openStore, type Store } from '../src/store/database.js';
import {
  preparedLookup,
  preparedQuery,
  preparedStatement,
  rowInserter,
  rowsInserter,
  rowUpdater,
} from '../src/store/prepared.js';
import { relaxedDurability } from '../src/store/sqlite-driver.js';

describe('preparedQuery', () => {
  let store: Store;

  beforeAll(async () => {
    store = openStore('sqlite::memory:');
    await migrate(store);
    await store.db
      .insertInto('oidc_payloads')
      .values(
        [
          ['prj_a', 'AccessToken', 'one', 100],
          ['prj_a', 'AccessToken', 'two', 200],
          ['prj_b', 'AccessToken', 'one', 300],
        ].map(([project_id, model, id, expires_at]) => ({
          project_id: project_id as string,
          model: model as string,
          id: id as string,
          payload: JSON.stringify({ id, project_id }),
          grant_id: null,
          user_code: null,
          uid: null,
          expires_at: expires_at as number,
          consumed_at: null,
        })),
      )
      .execute();
  });

  afterAll(async () => {
    await store?.close();
  });

  it('runs the compiled query with each call’s values, whatever order the query uses them in', async () => {
    const find = preparedQuery<[number, string, string], { payload: string }>(
      store.db,
      [0, 'id', 'project'],
      (after, id, projectId) =>
        store.db
          .selectFrom('oidc_payloads')
          .select('payload')
          .where('project_id', '=', projectId)
          .where('id', '=', id)
          .where('expires_at', '>', after),
    );
    expect(await find(0, 'one', 'prj_b')).toEqual([{ payload: '{"id":"one","project_id":"prj_b"}' }]);
    expect(await find(0, 'two', 'prj_a')).toEqual([{ payload: '{"id":"two","project_id":"prj_a"}' }]);
    expect(await find(250, 'one', 'prj_a')).toEqual([]);
  });

  it('never takes a constant of the query for an argument whose sample value equals it', async () => {
    // The sample for projectId is the very constant the query compares `model` with: mapping parameters
    // by value would bind the caller's project id to `model` (and find nothing) instead of refusing.
    expect(() =>
      preparedQuery<[string, string], { id: string }>(store.db, ['AccessToken', 'one'], (projectId, id) =>
        store.db
          .selectFrom('oidc_payloads')
          .select('id')
          .where('model', '=', 'AccessToken')
          .where('project_id', '=', projectId)
          .where('id', '=', id),
      ),
    ).toThrow(/not one of the arguments/);
    const find = preparedQuery<[string, string], { id: string }>(
      store.db,
      ['same', 'same'],
      (projectId, id) =>
        store.db
          .selectFrom('oidc_payloads')
          .select('id')
          .where('project_id', '=', projectId)
          .where('id', '=', id),
    );
    expect(await find('prj_a', 'two')).toEqual([{ id: 'two' }]);
    expect(await find('prj_b', 'one')).toEqual([{ id: 'one' }]);
    expect(await find('prj_b', 'two')).toEqual([]);
  });

  it('binds an argument used twice at both places', async () => {
    const find = preparedQuery<[string], { id: string }>(store.db, ['x'], (value) =>
      store.db
        .selectFrom('oidc_payloads')
        .select('id')
        .where((eb) => eb.or([eb('id', '=', value), eb('project_id', '=', value)]))
        .orderBy('id'),
    );
    expect(await find('two')).toEqual([{ id: 'two' }]);
    expect(await find('prj_b')).toEqual([{ id: 'one' }]);
  });

  it('refuses parameters that are not arguments: constants and transformed values', () => {
    expect(() =>
      preparedQuery<[string], { id: string }>(store.db, ['project'], (projectId) =>
        store.db
          .selectFrom('oidc_payloads')
          .select('id')
          .where('project_id', '=', projectId)
          .where('model', '=', 'Grant'),
      ),
    ).toThrow(/not one of the arguments/);
    expect(() =>
      preparedQuery<[number], { id: string }>(store.db, [0], (after) =>
        store.db
          .selectFrom('oidc_payloads')
          .select('id')
          .where('expires_at', '>', after + 1),
      ),
    ).toThrow(/not one of the arguments/);
  });
});

describe('preparedLookup', () => {
  it('looks up by its value, and refuses a query whose one parameter is a constant', async () => {
    const store = openStore('sqlite::memory:');
    try {
      await migrate(store);
      const find = preparedLookup(store.db, (id) =>
        store.db.selectFrom('projects').select('id').where('id', '=', id),
      );
      expect(await find('prj_none')).toBeUndefined();
      expect(() =>
        preparedLookup(store.db, () =>
          store.db.selectFrom('projects').select('id').where('id', '=', 'prj_fixed'),
        ),
      ).toThrow(/exactly one parameter, the value/);
    } finally {
      await store.close();
    }
  });
});

describe('preparedStatement and rowInserter', () => {
  let store: Store;
  beforeAll(async () => {
    store = openStore('sqlite::memory:');
    await migrate(store);
  });
  afterAll(async () => {
    await store?.close();
  });

  const insertPayload = rowInserter('oidc_payloads');
  const expiry = preparedStatement(['prj', 'id'], (db, projectId: string, id: string) =>
    db
      .selectFrom('oidc_payloads')
      .select('expires_at')
      .where('project_id', '=', projectId)
      .where('id', '=', id),
  );
  const extend = preparedStatement([1, 'prj'], (db, expiresAt: number, projectId: string) =>
    db.updateTable('oidc_payloads').set({ expires_at: expiresAt }).where('project_id', '=', projectId),
  );
  const row = (id: string, extra: { uid?: string | null } = {}) => ({
    project_id: 'prj_p',
    model: 'Session',
    id,
    payload: '{}',
    grant_id: null,
    user_code: null,
    expires_at: 100,
    consumed_at: null,
    ...extra,
  });

  it('run on the database and inside a transaction of it alike, and answer the rows changed', async () => {
    await insertPayload(store.db, { ...row('one'), uid: 'u1' });
    await store.db.transaction().execute(async (trx) => {
      // A statement bound to the database would wait here for the connection the transaction holds.
      await insertPayload(trx, { ...row('two'), uid: 'u2' });
      expect((await expiry(trx, 'prj_p', 'two')).rows).toEqual([{ expires_at: 100 }]);
      expect(Number((await extend(trx, 200, 'prj_p')).numAffectedRows)).toBe(2);
    });
    expect((await expiry(store.db, 'prj_p', 'one')).rows).toEqual([{ expires_at: 200 }]);
    expect((await expiry(store.db, 'prj_p', 'none')).rows).toEqual([]);
  });

  it('inserts each set of columns a row has, leaving out undefined ones as Kysely does', async () => {
    await insertPayload(store.db, { ...row('three'), uid: undefined });
    await insertPayload(store.db, { ...row('four'), uid: 'u4' });
    const rows = await store.db
      .selectFrom('oidc_payloads')
      .select(['id', 'uid'])
      .where('id', 'in', ['three', 'four'])
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { id: 'four', uid: 'u4' },
      { id: 'three', uid: null },
    ]);
  });

  it('inserts many rows per statement, each in its place, and refuses rows that differ in columns', async () => {
    const insertPayloads = rowsInserter('oidc_payloads');
    const ids = (count: number, prefix: string) =>
      Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
    // Three rows, then one, then more than one statement holds (compiled per number of rows).
    for (const [prefix, count] of [
      ['many-a', 3],
      ['many-b', 1],
      ['many-c', 1_001],
    ] as const) {
      await store.db.transaction().execute(async (trx) => {
        await insertPayloads(
          trx,
          ids(count, prefix).map((id, i) => ({ ...row(id), uid: `${id}-uid`, expires_at: i })),
        );
      });
      const stored = await store.db
        .selectFrom('oidc_payloads')
        .select(['id', 'uid', 'expires_at'])
        .where('id', 'like', `${prefix}-%`)
        .orderBy('id')
        .execute();
      expect(stored).toEqual(ids(count, prefix).map((id, i) => ({ id, uid: `${id}-uid`, expires_at: i })));
    }
    await expect(
      insertPayloads(store.db, [
        { ...row('mixed-1'), uid: 'u' },
        { ...row('mixed-2'), uid: undefined },
      ]),
    ).rejects.toThrow(/same columns/);
    await insertPayloads(store.db, []);
    // The same columns in another order are the same columns.
    const { id: _id, ...rest } = row('reordered-2');
    await insertPayloads(store.db, [row('reordered-1'), { ...rest, id: 'reordered-2' }]);
    expect(
      await store.db.selectFrom('oidc_payloads').select('id').where('id', 'like', 'reordered-%').execute(),
    ).toHaveLength(2);
  });

  it('updates the rows its keys select, with each set of columns a patch has', async () => {
    const update = rowUpdater('oidc_payloads', ['project_id', 'id']);
    await insertPayload(store.db, row('five'));
    const changed = await update(
      store.db,
      { project_id: 'prj_p', id: 'five' },
      { uid: 'u5', grant_id: undefined },
    );
    expect(Number(changed.numAffectedRows)).toBe(1);
    await store.db.transaction().execute(async (trx) => {
      await update(trx, { project_id: 'prj_p', id: 'five' }, { expires_at: 500, consumed_at: 1 });
    });
    const missed = await update(store.db, { project_id: 'prj_other', id: 'five' }, { uid: 'nobody' });
    expect(Number(missed.numAffectedRows)).toBe(0);
    expect(
      await store.db
        .selectFrom('oidc_payloads')
        .select(['uid', 'expires_at', 'consumed_at', 'grant_id'])
        .where('id', '=', 'five')
        .execute(),
    ).toEqual([{ uid: 'u5', expires_at: 500, consumed_at: 1, grant_id: null }]);
    await expect(update(store.db, { project_id: 'prj_p', id: 'five' }, {})).rejects.toThrow(/sets no column/);
  });

  it('refuses a statement with a parameter that is not an argument, at its first run', async () => {
    const constant = preparedStatement(['prj'], (db, projectId: string) =>
      db
        .selectFrom('oidc_payloads')
        .select('id')
        .where('project_id', '=', projectId)
        .where('model', '=', 'Session'),
    );
    await expect(async () => constant(store.db, 'prj_p')).rejects.toThrow(/not one of the arguments/);
  });
});

describe('relaxed durability', () => {
  it('marks only the writes that ask for it: the mark reaches the SQL text the store prepares', () => {
    const store = openStore('sqlite::memory:');
    const marked = store.db.deleteFrom('oidc_payloads').where('id', '=', 'x').modifyEnd(relaxedDurability);
    expect(marked.compile().sql).toMatch(/\/\* persona:relaxed-durability \*\/$/);
    return store.close();
  });
});
