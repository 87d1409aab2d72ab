import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openStore, ping, type Store } from '../src/store/database.js';
import { migrations } from '../src/store/migrations.js';
import { freshPgSchema, PG_URL, skipReason } from './helpers.js';

if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

interface Fresh {
  store: Store;
  cleanup(): Promise<void>;
}

const engines: Record<string, () => Promise<Fresh>> = {
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persona-store-'));
    const store = openStore(`sqlite:${join(dir, 'db.sqlite')}`);
    return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};
if (PG_URL) {
  engines.postgres = async () => {
    const schema = await freshPgSchema(PG_URL);
    return { store: openStore(schema.url), cleanup: () => schema.drop() };
  };
}

/** The application's tables, without the migrator's own bookkeeping tables. */
async function tableNames(store: Store): Promise<string[]> {
  const tables = await store.db.introspection.getTables();
  // Postgres lists every schema's tables; other runs' schemas may share the test database.
  const own =
    store.engine === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db)).rows[0]?.schema
      : undefined;
  return tables
    .filter((t) => own === undefined || t.schema === own)
    .map((t) => t.name)
    .filter((name) => !name.startsWith('persona_migrations'))
    .sort();
}

async function appliedMigrations(store: Store): Promise<number> {
  const result = await sql<{ n: number | string }>`select count(*) as n from persona_migrations`.execute(
    store.db,
  );
  return Number(result.rows[0]?.n);
}

describe.each(Object.keys(engines))('store on %s', (engine) => {
  let fresh: Fresh | undefined;
  afterEach(async () => {
    await fresh?.store.close();
    await fresh?.cleanup();
    fresh = undefined;
  });

  it('applies every migration once, then reports nothing to do', async () => {
    fresh = await (engines[engine] as () => Promise<Fresh>)();
    expect(await migrate(fresh.store)).toEqual(Object.keys(migrations));
    expect(await migrate(fresh.store)).toEqual([]);
    expect(await tableNames(fresh.store)).toEqual([
      'api_keys',
      'audit_events',
      'bootstrap',
      'connector_runs',
      'connector_usage',
      'connectors',
      'ephemeral_attestations',
      'idempotency_keys',
      'identity_email_codes',
      'identity_email_sends',
      'identity_mfa_challenges',
      'identity_passkeys',
      'identity_policies',
      'identity_recovery_codes',
      'identity_sessions',
      'identity_sign_ins',
      'identity_throttle',
      'identity_users',
      'identity_webauthn_challenges',
      'issuers',
      'keys',
      'kyc_documents',
      'kyc_inbox',
      'kyc_provider_calls',
      'kyc_providers',
      'kyc_sessions',
      'kyc_settings',
      'kyc_transitions',
      'ledger_entries',
      'ledger_queue',
      'ledger_sequence',
      'ledger_state',
      'ledger_tiles',
      'oid4vci_access_tokens',
      'oid4vci_configurations',
      'oid4vci_credentials',
      'oid4vci_offers',
      'oid4vci_used_nonces',
      'oidc_clients',
      'oidc_key_rotations',
      'oidc_key_states',
      'oidc_payloads',
      'org_members',
      'organizations',
      'persona_ops',
      'projects',
      'scim_group_members',
      'scim_groups',
      'status_entries',
      'status_lists',
      'user_credentials',
      'user_did_challenges',
      'user_dids',
      'vault_access_approval_votes',
      'vault_access_approvals',
      'vault_access_log',
      'vault_devices',
      'vault_item_versions',
      'vault_items',
      'vault_keys',
      'vault_manifests',
      'vault_members',
      'vault_recovery_approvals',
      'vault_recovery_guardians',
      'vault_recovery_requests',
      'vault_recovery_setups',
      'vault_sealed_keys',
      'vault_session_nonces',
      'vault_sessions',
      'vaults',
      'webhook_attempts',
      'webhook_deliveries',
      'webhook_endpoints',
      'webhook_events',
    ]);
    expect(await ping(fresh.store.db)).toBe(true);
  });

  it('a failing migration leaves the database exactly as it was', async () => {
    fresh = await (engines[engine] as () => Promise<Fresh>)();
    const broken = {
      ...migrations,
      '9999_widgets': {
        async up(db: Parameters<(typeof migrations)['0001_tenancy']['up']>[0]) {
          await db.schema
            .createTable('widgets')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .execute();
          await sql`this is not sql`.execute(db);
        },
      },
    };
    await expect(migrate(fresh.store, broken)).rejects.toThrow(
      /migration 9999_widgets failed, nothing was applied/,
    );
    // Not even the earlier migrations of the same run stayed, nor the half of the broken one.
    expect(await tableNames(fresh.store)).toEqual([]);
    expect(await appliedMigrations(fresh.store)).toBe(0);
    expect(await migrate(fresh.store)).toEqual(Object.keys(migrations));
  });

  it('0029 keeps audit and access-log rows and their queued entries, and lets new rows skip the queue', async () => {
    fresh = await (engines[engine] as () => Promise<Fresh>)();
    const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0029'));
    await migrate(fresh.store, before);
    const db = fresh.store.db;
    await sql`insert into audit_events (id, org_id, project_id, type, ledger_seq, entry, created_at)
      values ('aud_old', 'org_1', 'prj_1', 'project.created', 7, '{"v":1}', '2026-01-01')`.execute(db);
    await sql`insert into vault_access_log
      (id, project_id, vault_id, subject, action, item_id, outcome, score, ledger_seq, entry, at)
      values ('vac_old', 'prj_1', 'vlt_1', 'sub', 'read', null, 'allow', 90, 8, '{"v":1}', 1)`.execute(db);

    expect((await migrate(fresh.store))[0]).toBe('0029_recorded_ledger_index');
    expect(await db.selectFrom('audit_events').selectAll().execute()).toEqual([
      {
        id: 'aud_old',
        org_id: 'org_1',
        project_id: 'prj_1',
        type: 'project.created',
        ledger_seq: expect.anything(),
        ledger_index: null,
        entry: '{"v":1}',
        created_at: '2026-01-01',
      },
    ]);
    const [oldAudit] = await db.selectFrom('audit_events').select('ledger_seq').execute();
    const [oldAccess] = await db.selectFrom('vault_access_log').select(['ledger_seq', 'score']).execute();
    expect([Number(oldAudit?.ledger_seq), Number(oldAccess?.ledger_seq), oldAccess?.score]).toEqual([
      7, 8, 90,
    ]);

    // A row written with its ledger entry has an index and no queue sequence number.
    await db
      .insertInto('audit_events')
      .values({
        id: 'aud_new',
        org_id: null,
        project_id: 'prj_1',
        type: 'credential.issued',
        ledger_seq: null,
        ledger_index: 3,
        entry: '{"v":1}',
        created_at: '2026-01-02',
      })
      .execute();
    const listed = await db
      .selectFrom('audit_events')
      .select('id')
      .where('project_id', '=', 'prj_1')
      .orderBy('id')
      .execute();
    expect(listed.map((row) => row.id)).toEqual(['aud_new', 'aud_old']);
    // The listing indexes survive the rebuild.
    const indexes =
      engine === 'sqlite'
        ? await sql<{ name: string }>`select name from sqlite_master where type = 'index'
            and name in ('audit_events_project', 'vault_access_log_vault')`.execute(db)
        : await sql<{
            name: string;
          }>`select indexname as name from pg_indexes where schemaname = current_schema()
            and indexname in ('audit_events_project', 'vault_access_log_vault')`.execute(db);
    expect(indexes.rows.map((row) => row.name).sort()).toEqual([
      'audit_events_project',
      'vault_access_log_vault',
    ]);
  });

  it('enforces uniqueness and foreign keys the app relies on', async () => {
    fresh = await (engines[engine] as () => Promise<Fresh>)();
    await migrate(fresh.store);
    const db = fresh.store.db;
    await db.insertInto('organizations').values({ id: 'org_1', name: 'o', created_at: 'now' }).execute();
    await expect(
      db.insertInto('organizations').values({ id: 'org_1', name: 'again', created_at: 'now' }).execute(),
    ).rejects.toThrow();
    await expect(
      db
        .insertInto('projects')
        .values({ id: 'prj_1', org_id: 'org_missing', name: 'p', created_at: 'now' })
        .execute(),
    ).rejects.toThrow();
  });

  it.skipIf(engine !== 'sqlite')(
    'the embedded database refuses a second user with a clear error, until the first closes',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'persona-lock-'));
      const url = `sqlite:${join(dir, 'db.sqlite')}`;
      const first = openStore(url);
      try {
        await migrate(first);
        expect(() => openStore(url)).toThrow(/is in use by another process.*use PostgreSQL/);
      } finally {
        await first.close();
      }
      const second = openStore(url);
      expect(await ping(second.db)).toBe(true);
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  );

  it('rolls back a failed transaction completely', async () => {
    fresh = await (engines[engine] as () => Promise<Fresh>)();
    await migrate(fresh.store);
    const db = fresh.store.db;
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('organizations').values({ id: 'org_2', name: 'o', created_at: 'now' }).execute();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await db.selectFrom('organizations').selectAll().execute()).toEqual([]);
  });
});
