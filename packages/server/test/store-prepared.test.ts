import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openStore, type Store } from '../src/store/database.js';
import { preparedQuery } from '../src/store/prepared.js';

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

  it('refuses samples that are not distinct, and parameters that are not arguments', () => {
    const build = (projectId: string, id: string) =>
      store.db
        .selectFrom('oidc_payloads')
        .select('id')
        .where('project_id', '=', projectId)
        .where('id', '=', id);
    expect(() => preparedQuery(store.db, ['same', 'same'], build)).toThrow(/distinct/);
    expect(() =>
      preparedQuery<[string], { id: string }>(store.db, ['project'], (projectId) =>
        store.db
          .selectFrom('oidc_payloads')
          .select('id')
          .where('project_id', '=', projectId)
          .where('model', '=', 'Grant'),
      ),
    ).toThrow(/not one of the arguments/);
  });
});
