import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ProviderAdapter, projectAdapter } from '../src/modules/oidc/adapter.js';
import { OidcPayloadRepo } from '../src/modules/oidc/payload-repo.js';
import { inChunks } from '../src/store/chunks.js';
import { migrate, openStore, type Store } from '../src/store/database.js';
import { freshPgSchema, PG_URL, skipReason } from './helpers.js';

if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

const engines: Record<string, () => Promise<{ store: Store; cleanup(): Promise<void> }>> = {
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persona-oidc-'));
    return {
      store: openStore(`sqlite:${join(dir, 'db.sqlite')}`),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};
if (PG_URL) {
  engines.postgres = async () => {
    const schema = await freshPgSchema(PG_URL);
    return { store: openStore(schema.url), cleanup: () => schema.drop() };
  };
}

const PROJECT_A = `prj_${'a'.repeat(32)}`;
const PROJECT_B = `prj_${'b'.repeat(32)}`;

describe.each(Object.keys(engines))('OIDC adapter on %s', (engine) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let repo: OidcPayloadRepo;
  const adapter = (projectId: string, model: string): ProviderAdapter => {
    const Adapter = projectAdapter(projectId, repo, async () => undefined, new Set());
    return new Adapter(model);
  };

  beforeEach(async () => {
    const fresh = await (engines[engine] as () => Promise<{ store: Store; cleanup(): Promise<void> }>)();
    store = fresh.store;
    cleanup = fresh.cleanup;
    await migrate(store);
    repo = new OidcPayloadRepo(store.db);
  });

  afterEach(async () => {
    await store.close();
    await cleanup();
  });

  it('stores, replaces and destroys payloads by model and id', async () => {
    const tokens = adapter(PROJECT_A, 'AccessToken');
    await tokens.upsert('t1', { jti: 't1', scope: 'a' }, 60);
    await tokens.upsert('t1', { jti: 't1', scope: 'b' }, 60);
    expect(await tokens.find('t1')).toEqual({ jti: 't1', scope: 'b' });
    expect(await adapter(PROJECT_A, 'RefreshToken').find('t1')).toBeUndefined();
    await tokens.destroy('t1');
    expect(await tokens.find('t1')).toBeUndefined();
  });

  it('keeps each project\u2019s records apart', async () => {
    await adapter(PROJECT_A, 'AccessToken').upsert('t1', { jti: 't1' }, 60);
    expect(await adapter(PROJECT_B, 'AccessToken').find('t1')).toBeUndefined();
  });

  it('marks consumed records, and a new upsert clears the mark', async () => {
    const codes = adapter(PROJECT_A, 'AuthorizationCode');
    await codes.upsert('c1', { jti: 'c1' }, 60);
    await codes.consume('c1');
    const consumed = await codes.find('c1');
    expect(typeof consumed?.consumed).toBe('number');
    await codes.upsert('c1', { jti: 'c1' }, 60);
    expect((await codes.find('c1'))?.consumed).toBeUndefined();
  });

  it('revokes every record of a grant, and only of that grant and project', async () => {
    const tokens = adapter(PROJECT_A, 'RefreshToken');
    await tokens.upsert('r1', { grantId: 'g1' }, 60);
    await tokens.upsert('r2', { grantId: 'g1' }, 60);
    await tokens.upsert('r3', { grantId: 'g2' }, 60);
    await adapter(PROJECT_B, 'RefreshToken').upsert('r1', { grantId: 'g1' }, 60);
    await tokens.revokeByGrantId('g1');
    expect(await tokens.find('r1')).toBeUndefined();
    expect(await tokens.find('r2')).toBeUndefined();
    expect(await tokens.find('r3')).toEqual({ grantId: 'g2' });
    expect(await adapter(PROJECT_B, 'RefreshToken').find('r1')).toEqual({ grantId: 'g1' });
  });

  it('writes consumptions, revocations and destroyed sessions that arrive together in one transaction', async () => {
    const codes = adapter(PROJECT_A, 'AuthorizationCode');
    const sessions = adapter(PROJECT_A, 'Session');
    const tokens = adapter(PROJECT_A, 'RefreshToken');
    await codes.upsert('c1', { jti: 'c1' }, 60);
    await sessions.upsert('s1', { uid: 'u1' }, 60);
    await tokens.upsert('r1', { grantId: 'g1' }, 60);
    const transactions = vi.spyOn(store.db, 'transaction');
    await Promise.all([codes.consume('c1'), sessions.destroy('s1'), tokens.revokeByGrantId('g1')]);
    expect(transactions).toHaveBeenCalledTimes(1);
    // Each caller went on only once its write had committed.
    expect(typeof (await codes.find('c1'))?.consumed).toBe('number');
    expect(await sessions.find('s1')).toBeUndefined();
    expect(await tokens.find('r1')).toBeUndefined();
  });

  it('runs a batch of durable writes again when its transaction failed as a whole', async () => {
    const codes = adapter(PROJECT_A, 'AuthorizationCode');
    await codes.upsert('c1', { jti: 'c1' }, 60);
    const transactions = vi.spyOn(store.db, 'transaction').mockImplementationOnce(() => {
      throw new Error('deadlock detected');
    });
    await codes.consume('c1');
    expect(transactions).toHaveBeenCalledTimes(2);
    expect(typeof (await codes.find('c1'))?.consumed).toBe('number');
  });

  it('finds by user code and by uid', async () => {
    await adapter(PROJECT_A, 'DeviceCode').upsert('d1', { userCode: 'ABCD-EFGH' }, 60);
    await adapter(PROJECT_A, 'Session').upsert('s1', { uid: 'u1' }, 60);
    expect(await adapter(PROJECT_A, 'DeviceCode').findByUserCode('ABCD-EFGH')).toEqual({
      userCode: 'ABCD-EFGH',
    });
    expect(await adapter(PROJECT_A, 'Session').findByUid('u1')).toEqual({ uid: 'u1' });
    expect(await adapter(PROJECT_B, 'Session').findByUid('u1')).toBeUndefined();
  });

  it('looks records up by grant id, user code and uid in indexes holding only the records that have one', async () => {
    // Mostly records without the three values, as in production (interactions, grants, sessions).
    const rows = Array.from({ length: 2_000 }, (_, i) => ({
      project_id: i % 2 === 0 ? PROJECT_A : PROJECT_B,
      model: ['Interaction', 'Session', 'AccessToken', 'DeviceCode'][i % 4] as string,
      id: `r${i}`,
      payload: '{}',
      grant_id: i % 4 === 2 ? `g${i}` : null,
      user_code: i % 4 === 3 ? `c${i}` : null,
      uid: i % 4 === 1 ? `u${i}` : null,
      expires_at: 2_000_000_000,
      consumed_at: null,
    }));
    await inChunks(rows, 250, async (chunk) => {
      await store.db.insertInto('oidc_payloads').values(chunk).execute();
    });
    if (engine === 'postgres') await sql`analyze oidc_payloads`.execute(store.db);
    for (const [model, column, value] of [
      ['AccessToken', 'grant_id', 'g2'],
      ['DeviceCode', 'user_code', 'c3'],
      ['Session', 'uid', 'u1'],
    ] as const) {
      // The shape of the repository's lookups (payload-repo.ts) and of revocation by grant.
      const query = store.db
        .selectFrom('oidc_payloads')
        .select(['payload', 'consumed_at'])
        .where('project_id', '=', PROJECT_A)
        .where('model', '=', model)
        .where(column, '=', value)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', 1)]))
        .compile();
      const index = `oidc_payloads_${column}`;
      if (engine === 'postgres') {
        const { rows: plan } = await store.db.executeQuery<{ 'QUERY PLAN': string }>(
          CompiledQuery.raw(`explain ${query.sql}`, [...query.parameters]),
        );
        const text = plan.map((row) => row['QUERY PLAN']).join('\n');
        expect(text).toContain(index);
        expect(text).not.toContain('Seq Scan');
      } else {
        const { rows: plan } = await store.db.executeQuery<{ detail: string }>(
          CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
        );
        expect(plan.map((row) => row.detail)).toEqual([
          `SEARCH oidc_payloads USING INDEX ${index} (project_id=? AND model=? AND ${column}=?)`,
        ]);
      }
      // Partial: records without the value are not in it.
      const definition =
        engine === 'postgres'
          ? sql<{ text: string }>`select indexdef as text from pg_indexes
              where indexname = ${index} and schemaname = current_schema()`
          : sql<{ text: string }>`select sql as text from sqlite_master where name = ${index}`;
      const [indexed] = (await definition.execute(store.db)).rows;
      expect(indexed?.text).toMatch(new RegExp(`where \\(?"?${column}"? is not null`, 'i'));
    }
    await adapter(PROJECT_A, 'AccessToken').revokeByGrantId('g2');
    expect(await adapter(PROJECT_A, 'AccessToken').find('r2')).toBeUndefined();
  });

  it('hides expired records and purges them', async () => {
    const tokens = adapter(PROJECT_A, 'AccessToken');
    await tokens.upsert('old', { jti: 'old' }, 60);
    await tokens.upsert('kept', { jti: 'kept' });
    await store.db.updateTable('oidc_payloads').set({ expires_at: 1 }).where('id', '=', 'old').execute();
    expect(await tokens.find('old')).toBeUndefined();
    await repo.purgeExpired();
    const ids = (await store.db.selectFrom('oidc_payloads').select('id').execute()).map((row) => row.id);
    expect(ids).toEqual(['kept']);
    expect(await tokens.find('kept')).toEqual({ jti: 'kept' });
  });
});
