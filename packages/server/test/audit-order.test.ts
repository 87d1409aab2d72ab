import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '@personachain/crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEvent, AuditService } from '../src/modules/audit/service.js';
import { openKeyStore } from '../src/modules/keys/service.js';
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

  it('lists an entry recorded alone with its ledger index at once', async () => {
    await audit.recordAlone(event('credential.issued', 'iss_1'));
    const page = await audit.listForProject('prj_1', { limit: 10 });
    expect(page.data.map((entry) => entry.ledgerIndex)).toEqual([0]);
    const bundle = await ledger.tile('tile/entries/000.p/1');
    expect(new TextDecoder().decode(bundle?.body.subarray(2))).toBe(page.data[0]?.entry);
  });
});
