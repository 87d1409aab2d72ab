import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityRepo } from '../src/modules/identity/repo.js';
import { inChunks } from '../src/store/chunks.js';
import { migrate, type Store } from '../src/store/database.js';
import { openFreshStore, planNodes } from './helpers.js';
import { ENGINES } from './identity-helpers.js';

/** Enough rows over two projects that a planner with statistics prefers an index to a scan. */
const ROWS = 2_000;

// Sign-in looks a user up by username or email on every attempt: that must stay a search of the unique
// index, O(log n) in all users of all projects, never a scan (bench/oidc-login.mjs measures it at 10^6 users).
describe.each(ENGINES)('user lookup query plan (%s)', (engine) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let repo: IdentityRepo;

  beforeAll(async () => {
    ({ store, cleanup } = await openFreshStore(engine));
    await migrate(store);
    repo = new IdentityRepo(store.db);
    const at = new Date().toISOString();
    const rows = Array.from({ length: ROWS }, (_, i) => ({
      id: `usr_${i.toString(16).padStart(32, '0')}`,
      project_id: i % 2 === 0 ? 'prj_a' : 'prj_b',
      username: `user-${i}`,
      username_normalized: `user-${i}`,
      email: `user-${i}@example.test`,
      email_normalized: `user-${i}@example.test`,
      status: 'active',
      created_at: at,
      updated_at: at,
    }));
    await inChunks(rows, 200, async (chunk) => {
      await store.db.insertInto('identity_users').values(chunk).execute();
    });
    if (engine === 'postgres') await store.db.executeQuery(CompiledQuery.raw('analyze identity_users'));
  });

  afterAll(async () => {
    await cleanup?.();
  });

  async function explain(column: 'username_normalized' | 'email_normalized', value: string) {
    const query = repo.userByQuery('prj_a', column, value).compile();
    if (engine === 'postgres') {
      const result = await store.db.executeQuery<{ 'QUERY PLAN': [{ Plan: Record<string, unknown> }] }>(
        CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]),
      );
      return planNodes(result.rows[0]?.['QUERY PLAN'][0].Plan ?? {});
    }
    const result = await store.db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
    );
    return result.rows.map((row) => row.detail);
  }

  it.each([
    ['username_normalized', 'user-42', 'identity_users_username'],
    ['email_normalized', 'user-42@example.test', 'identity_users_email'],
  ] as const)('by %s searches the unique index', async (column, value, index) => {
    expect((await repo.findUserBy('prj_a', column, value))?.username).toBe('user-42');
    const plan = await explain(column, value);
    if (engine === 'postgres') {
      const nodes = plan as Record<string, unknown>[];
      expect(nodes.some((node) => node['Index Name'] === index)).toBe(true);
      expect(nodes.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    } else {
      expect(plan).toEqual([`SEARCH identity_users USING INDEX ${index} (project_id=? AND ${column}=?)`]);
    }
  });
});
