import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '@personachain/crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEvent, AuditService } from '../src/modules/audit/service.js';
import { openKeyStore } from '../src/modules/keys/service.js';
import type { RecordWriter } from '../src/modules/ledger/sequencer.js';
import { LedgerService } from '../src/modules/ledger/service.js';
import { migrate, openStore, type Store } from '../src/store/database.js';

const event = (type: AuditEvent['type'], subject: string): AuditEvent => ({
  type,
  orgId: 'org_1',
  projectId: 'prj_1',
  actor: 'key_1',
  subject,
});

describe('audit entries on the embedded database', () => {
  let dir: string;
  let store: Store;
  let ledger: LedgerService;
  let audit: AuditService;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'persona-audit-order-'));
    store = openStore(`sqlite:${join(dir, 'db.sqlite')}`);
    await migrate(store);
    const keys = openKeyStore(store, randomBytes(32));
    ledger = await LedgerService.open(store, { origin: 'audit.test/log', defaultOrigin: 'x', keys });
    audit = new AuditService(store.db, ledger);
  });

  afterEach(async () => {
    await ledger.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('get ids in the order they commit, whether recorded alone or in an act of their own', async () => {
    // A client pages the audit list by id cursor: an entry committed after a page was read must sort
    // after it, or the client never sees it.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? audit.recordAlone(event('credential.issued', `alone ${i}`))
          : store.db.transaction().execute(async (trx) => {
              await audit.record(trx, event('api_key.created', `in a transaction ${i}`));
            }),
      ),
    );
    const { rows } = await sql<{ id: string }>`select id from audit_events order by rowid`.execute(store.db);
    expect(rows).toHaveLength(40);
    expect(rows.map((row) => row.id)).toEqual(rows.map((row) => row.id).sort());
  });

  it("writes an act's own row with its audit row in the ledger's transaction, concurrent acts in one call", async () => {
    const calls: { subject: string; index: number }[][] = [];
    const writer: RecordWriter<{ subject: string }> = {
      write: async (db, rows) => {
        // Inside the ledger's transaction: the audit rows of the batch are not written yet.
        const written = await db.selectFrom('audit_events').select('id').execute();
        expect(written).toHaveLength(0);
        calls.push(rows.map(({ row, index }) => ({ subject: row.subject, index })));
      },
    };
    const subjects = Array.from({ length: 10 }, (_, i) => `ses_${i}`);
    await Promise.all(
      subjects.map((subject) =>
        audit.recordWith(event('session.created', subject), { writer, row: { subject } }),
      ),
    );
    expect(calls).toHaveLength(1);
    const audited = await store.db
      .selectFrom('audit_events')
      .select(['ledger_index', 'entry'])
      .orderBy('ledger_index')
      .execute();
    expect(audited).toHaveLength(10);
    // Each row went with its own entry: the same ledger index.
    for (const { subject, index } of calls[0] ?? []) {
      const entry = audited.find((row) => row.ledger_index === index)?.entry;
      expect(JSON.parse(entry ?? '{}').subject).toBe(subject);
    }
  });

  it('writes neither the row, the audit row nor the entry when the act\u2019s writer fails', async () => {
    const failing: RecordWriter<{ subject: string }> = {
      write: async () => {
        throw new Error('disk full');
      },
    };
    await expect(
      audit.recordWith(event('session.created', 'ses_1'), { writer: failing, row: { subject: 'ses_1' } }),
    ).rejects.toThrow(/disk full/);
    expect(await store.db.selectFrom('audit_events').select('id').execute()).toHaveLength(0);
    expect((await ledger.state()).size).toBe(0);
  });

  it('lists an entry recorded alone with its ledger index at once', async () => {
    await audit.recordAlone(event('credential.issued', 'iss_1'));
    const page = await audit.listForProject('prj_1', { limit: 10 });
    expect(page.data.map((entry) => entry.ledgerIndex)).toEqual([0]);
    const bundle = await ledger.tile('tile/entries/000.p/1');
    expect(new TextDecoder().decode(bundle?.body.subarray(2))).toBe(page.data[0]?.entry);
  });
});
