import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ProviderAdapter, projectAdapter } from '../src/modules/oidc/adapter.js';
import { OidcPayloadRepo } from '../src/modules/oidc/payload-repo.js';
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
