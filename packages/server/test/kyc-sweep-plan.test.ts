import { type Compilable, CompiledQuery, type Insertable } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KycRepo } from '../src/modules/kyc/repo.js';
import { inChunks } from '../src/store/chunks.js';
import { migrate, type Store } from '../src/store/database.js';
import type { KycSessionsTable } from '../src/store/schema.js';
import { openFreshStore, planNodes } from './helpers.js';
import { ENGINES } from './identity-helpers.js';

/** Sessions still awaiting input (none expired), and decided ones (none due for purge). */
const PENDING = 2_000;
const DECIDED = 2_000;
const NOW = 1_800_000_000;

/** A session as the sweeps see it; the columns left out are null. */
function session(i: number, status: string): Insertable<KycSessionsTable> {
  const decided = status === 'approved';
  return {
    id: `vrf_${i.toString(16).padStart(32, '0')}`,
    project_id: 'prj_a',
    org_id: 'org_a',
    subject: 'did:key:z6Mkplan',
    checks: '[{"type":"document"}]',
    status,
    version: 0,
    attempt: 1,
    client_token_hash: `hash-${i}`,
    expires_at: NOW + 3_600,
    created_at: NOW,
    updated_at: NOW,
    ...(decided
      ? { provider_id: 'kyp_a', provider_ref: `ref-${i}`, decided_at: NOW, purge_at: NOW + 86_400 }
      : {}),
  };
}

// The worker's sweeps run every few seconds over all sessions of all projects: each must search its own
// index and read only what is due, however many sessions are waiting for their users or are decided.
describe.each(ENGINES)('verification sweep query plans (%s)', (engine) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let repo: KycRepo;

  beforeAll(async () => {
    ({ store, cleanup } = await openFreshStore(engine));
    await migrate(store);
    repo = new KycRepo(store.db);
    const rows = [
      ...Array.from({ length: PENDING }, (_, i) => session(i, 'awaiting_input')),
      ...Array.from({ length: DECIDED }, (_, i) => session(PENDING + i, 'approved')),
    ];
    await inChunks(rows, 100, async (chunk) => {
      await store.db.insertInto('kyc_sessions').values(chunk).execute();
    });
    if (engine === 'postgres') await store.db.executeQuery(CompiledQuery.raw('analyze kyc_sessions'));
  });

  afterAll(async () => {
    await cleanup?.();
  });

  async function indexesSearched(query: Compilable<unknown>): Promise<string[]> {
    const { sql, parameters } = query.compile();
    if (engine === 'postgres') {
      const result = await store.db.executeQuery<{ 'QUERY PLAN': [{ Plan: Record<string, unknown> }] }>(
        CompiledQuery.raw(`explain (format json) ${sql}`, [...parameters]),
      );
      const nodes = planNodes(result.rows[0]?.['QUERY PLAN'][0].Plan ?? {});
      expect(nodes.map((node) => node['Node Type'])).not.toContain('Seq Scan');
      return nodes.flatMap((node) => (typeof node['Index Name'] === 'string' ? [node['Index Name']] : []));
    }
    const result = await store.db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${sql}`, [...parameters]),
    );
    return result.rows.map((row) => row.detail.match(/USING (?:COVERING )?INDEX (\w+)/)?.[1] ?? row.detail);
  }

  it('finds expired sessions in the expiry index, not among every session awaiting input', async () => {
    expect(await repo.expiredSessions(NOW, 100)).toEqual([]);
    expect((await repo.expiredSessions(NOW + 7_200, 3)).map((row) => row.status)).toEqual([
      'awaiting_input',
      'awaiting_input',
      'awaiting_input',
    ]);
    expect(await indexesSearched(repo.expiredSessionsQuery(NOW, 100))).toEqual(['kyc_sessions_expiry']);
  });

  it('finds sessions due for purge in the purge index', async () => {
    expect(await repo.sessionsToPurge(NOW, 100)).toEqual([]);
    expect(await repo.sessionsToPurge(NOW + 86_400, 5)).toHaveLength(5);
    expect(await indexesSearched(repo.sessionsToPurgeQuery(NOW, 100))).toEqual(['kyc_sessions_purge']);
  });
});
