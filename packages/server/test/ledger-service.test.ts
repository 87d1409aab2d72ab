import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '@personachain/crypto';
import {
  decodeEntryBundle,
  hashLeaf,
  noteVerifier,
  openNote,
  parseCheckpoint,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '@personachain/ledger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKeyStore } from '../src/modules/keys/service.js';
import type { RecordWriter } from '../src/modules/ledger/sequencer.js';
import { CHECKPOINT_KEY_PURPOSE, LedgerService } from '../src/modules/ledger/service.js';
import { migrate, openStore, type Store } from '../src/store/database.js';
import { freshPgSchema, PG_URL, skipReason } from './helpers.js';

const ORIGIN = 'ledger.test/persona';

const MASTER_SECRET = randomBytes(32);

function openLedger(store: Store, origin: string | null = ORIGIN) {
  const keys = openKeyStore(store, MASTER_SECRET);
  return LedgerService.open(store, { origin, defaultOrigin: 'default.test/log', keys, maxDelayMs: 1 });
}

async function verifiedCheckpoint(ledger: LedgerService) {
  const { checkpoint } = await ledger.state();
  const opened = await openNote(checkpoint, [noteVerifier(ledger.verifierKey)]);
  return parseCheckpoint(opened.text);
}

function suite(engine: 'sqlite' | 'postgres') {
  let store: Store;
  let cleanup: () => Promise<void>;
  let ledger: LedgerService;
  let url: string;

  beforeEach(async () => {
    if (engine === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'persona-ledger-'));
      url = `sqlite:${join(dir, 'ledger.db')}`;
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const schema = await freshPgSchema(PG_URL as string);
      url = schema.url;
      cleanup = schema.drop;
    }
    store = openStore(url);
    await migrate(store);
    ledger = await openLedger(store);
  });

  afterEach(async () => {
    await ledger.close();
    await store.close();
    await cleanup();
  });

  it('starts as an empty log with a signed checkpoint of size 0', async () => {
    const checkpoint = await verifiedCheckpoint(ledger);
    expect(checkpoint).toMatchObject({ origin: ORIGIN, size: 0 });
    expect(Buffer.from(checkpoint.root).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('gives 64 concurrent appends distinct indexes, durable before they resolve', async () => {
    const entries = Array.from({ length: 64 }, (_, i) => new TextEncoder().encode(`entry ${i}`));
    const results = await Promise.all(entries.map((entry) => ledger.append(entry)));
    const indexes = results.map((result) => result.index);
    expect(new Set(indexes).size).toBe(64);
    expect(Math.max(...indexes)).toBe(63);

    const checkpoint = await verifiedCheckpoint(ledger);
    expect(checkpoint.size).toBe(64);
    const byIndex: Uint8Array[] = [];
    indexes.forEach((index, i) => {
      byIndex[index] = hashLeaf(entries[i] as Uint8Array);
    });
    expect(Buffer.from(checkpoint.root)).toEqual(Buffer.from(rootOf(byIndex)));
  });

  it('serves tiles, entry bundles and proofs that verify across tile boundaries', async () => {
    const entries: Uint8Array[] = [];
    for (const batch of [1, 255, 300, 44]) {
      const chunk = Array.from({ length: batch }, () => randomBytes(1 + (entries.length % 200)));
      const results = await Promise.all(chunk.map((entry) => ledger.append(entry)));
      results.forEach((result, i) => {
        entries[result.index] = chunk[i] as Uint8Array;
      });
    }
    const checkpoint = await verifiedCheckpoint(ledger);
    expect(checkpoint.size).toBe(600);

    const full = await ledger.tile('tile/0/001');
    expect(full).toMatchObject({ full: true });
    expect(full?.body.length).toBe(256 * 32);
    expect(Buffer.from(full?.body.subarray(0, 32) as Uint8Array)).toEqual(
      Buffer.from(hashLeaf(entries[256] as Uint8Array)),
    );
    expect((await ledger.tile('tile/0/002.p/88'))?.full).toBe(false);
    expect(await ledger.tile('tile/0/002.p/89')).toBeUndefined();
    // An older tree's partial tile stays available: it is a prefix of the tile as it is now.
    expect((await ledger.tile('tile/0/002.p/10'))?.body.length).toBe(320);
    expect((await ledger.tile('tile/1/000.p/2'))?.body.length).toBe(64);
    expect(await ledger.tile('tile/1/000.p/3')).toBeUndefined();
    expect(await ledger.tile('tile/0/x001')).toBeUndefined();

    const bundle = await ledger.tile('tile/entries/000');
    expect(decodeEntryBundle(bundle?.body as Uint8Array).map((e) => Buffer.from(e))).toEqual(
      entries.slice(0, 256).map((e) => Buffer.from(e)),
    );

    for (const index of [0, 255, 256, 511, 599]) {
      const proof = await ledger.inclusionProof(index);
      verifyInclusion(index, 600, hashLeaf(entries[index] as Uint8Array), proof.hashes, checkpoint.root);
    }
    const old = rootOf(entries.slice(0, 256).map(hashLeaf));
    const consistency = await ledger.consistencyProof(256, 600);
    verifyConsistency(256, 600, consistency.hashes, old, checkpoint.root);
    await expect(ledger.inclusionProof(600)).rejects.toMatchObject({ status: 400 });
    await expect(ledger.consistencyProof(1, 601)).rejects.toMatchObject({ status: 400 });
  });

  it('integrates a queued entry only when its transaction commits', async () => {
    const kept = new TextEncoder().encode('kept');
    await expect(
      store.db.transaction().execute(async (trx) => {
        await ledger.enqueue(trx, new TextEncoder().encode('rolled back'));
        throw new Error('the act failed');
      }),
    ).rejects.toThrow('the act failed');
    const seq = await store.db.transaction().execute((trx) => ledger.enqueue(trx, kept));
    ledger.notifyQueued();
    await ledger.flush();
    const indexes = await ledger.indexesOf([seq]);
    expect(indexes.get(seq)).toBe(0);
    const checkpoint = await verifiedCheckpoint(ledger);
    expect(checkpoint.size).toBe(1);
    expect(Buffer.from(checkpoint.root)).toEqual(Buffer.from(rootOf([hashLeaf(kept)])));
  });

  it('writes recorded rows in the transaction that appends their entries, knowing each index', async () => {
    const calls: Array<Array<{ row: string; index: number }>> = [];
    const writer: RecordWriter<string> = {
      async write(db, rows) {
        calls.push([...rows]);
        // An audit trail's rows: they hold the entry's index, and no queue sequence number.
        const values = rows.map(({ row, index }) => ({
          id: `aud_${row}`,
          org_id: null,
          project_id: null,
          type: 'test.recorded',
          ledger_seq: null,
          ledger_index: index,
          entry: `entry ${row}`,
          created_at: '2026-11-21T00:00:00.000Z',
        }));
        await db.insertInto('audit_events').values(values).execute();
      },
    };
    await ledger.append(new TextEncoder().encode('plain'));
    const rows = ['a', 'b', 'c', 'd'];
    const made: string[] = [];
    const indexes = await Promise.all(
      rows.map((row) =>
        ledger.appendRecorded({
          writer,
          make: () => {
            made.push(row);
            return { entry: new TextEncoder().encode(`entry ${row}`), row };
          },
        }),
      ),
    );
    // Each made once, in the order of the log.
    expect(made).toEqual(rows);
    // One call for the batch, rows in index order, each with its entry's index.
    expect(calls).toEqual([rows.map((row, i) => ({ row, index: 1 + i }))]);
    expect(indexes).toEqual([1, 2, 3, 4]);
    const bundle = decodeEntryBundle((await ledger.tile('tile/entries/000.p/5'))?.body as Uint8Array);
    expect(bundle.map((entry) => new TextDecoder().decode(entry))).toEqual([
      'plain',
      ...rows.map((row) => `entry ${row}`),
    ]);
    const written = await store.db
      .selectFrom('audit_events')
      .select(['id', 'ledger_index'])
      .orderBy('id')
      .execute();
    expect(written.map((row) => [row.id, Number(row.ledger_index)])).toEqual(
      rows.map((row, i) => [`aud_${row}`, 1 + i]),
    );
    expect(await ledger.indexesOfRows([...written.map((row) => ({ ...row, ledger_seq: null }))])).toEqual([
      1, 2, 3, 4,
    ]);
  });

  it('fails a whole batch whose rows cannot be written: no entry, no row; later batches are sound', async () => {
    const failing: RecordWriter<string> = {
      async write() {
        throw new Error('the row was refused');
      },
    };
    const kept: Uint8Array[] = [];
    // The failed batch would have made 249 + 1 entries; the next makes as many, of other entries, so a
    // tile kept from the failed one would have the very width asked for next.
    for (const [i, size] of [3, 1, 249, 250, 7, 300, 2].entries()) {
      const chunk = Array.from({ length: size }, (_, n) => new TextEncoder().encode(`batch ${i} entry ${n}`));
      const appended = Promise.all(chunk.map((entry) => ledger.append(entry)));
      if (i === 2) {
        // Joins the batch of the appends above, and takes them down with it.
        const refused = ledger.appendRecorded({
          writer: failing,
          make: () => ({ entry: new TextEncoder().encode('refused'), row: 'x' }),
        });
        await expect(refused).rejects.toThrow('the row was refused');
        await expect(appended).rejects.toThrow('the row was refused');
        continue;
      }
      await appended;
      kept.push(...chunk);
      // The root after every batch is the log's: the kept right-edge tiles never carry a failed batch.
      const checkpoint = await verifiedCheckpoint(ledger);
      expect(checkpoint.size).toBe(kept.length);
      expect(Buffer.from(checkpoint.root)).toEqual(Buffer.from(rootOf(kept.map(hashLeaf))));
    }
  });

  it('refuses alone an entry that cannot be made, or is too large; the rest of its batch is appended', async () => {
    const writer: RecordWriter<string> = { write: async () => {} };
    const outcomes = await Promise.allSettled([
      ledger.append(new TextEncoder().encode('before')),
      ledger.appendRecorded({
        writer,
        make: () => {
          throw new Error('no entry today');
        },
      }),
      ledger.appendRecorded({ writer, make: () => ({ entry: new Uint8Array(65_536), row: 'big' }) }),
      ledger.appendRecorded({
        writer,
        make: () => ({ entry: new TextEncoder().encode('after'), row: 'ok' }),
      }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'no entry today' });
    expect((outcomes[2] as PromiseRejectedResult).reason).toMatchObject({ status: 413 });
    expect(outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))).toEqual([
      { index: 0 },
      1,
    ]);
    const bundle = decodeEntryBundle((await ledger.tile('tile/entries/000.p/2'))?.body as Uint8Array);
    expect(bundle.map((entry) => new TextDecoder().decode(entry))).toEqual(['before', 'after']);
  });

  it('a failed batch leaves no tile behind, even when another writer then grows the log to its size', async () => {
    // Two writers on one database, as two server replicas are on PostgreSQL.
    const other = await openLedger(store);
    try {
      const failing: RecordWriter<string> = {
        async write() {
          throw new Error('the row was refused');
        },
      };
      const entry = (text: string) => new TextEncoder().encode(text);
      const kept = [entry('first')];
      await ledger.append(kept[0] as Uint8Array);
      await expect(
        Promise.all([
          ledger.append(entry('lost')),
          ledger.appendRecorded({ writer: failing, make: () => ({ entry: entry('refused'), row: 'x' }) }),
        ]),
      ).rejects.toThrow('the row was refused');
      // The other writer makes the log the size the failed batch would have made, with other entries.
      const theirs = [entry('theirs 1'), entry('theirs 2')];
      await Promise.all(theirs.map((e) => other.append(e)));
      kept.push(...theirs, entry('last'));
      await ledger.append(kept[3] as Uint8Array);
      const checkpoint = await verifiedCheckpoint(ledger);
      expect(checkpoint.size).toBe(4);
      expect(Buffer.from(checkpoint.root)).toEqual(Buffer.from(rootOf(kept.map(hashLeaf))));
    } finally {
      await other.close();
    }
  });

  it('refuses an entry too large for a tlog-tiles entry bundle', async () => {
    await expect(ledger.append(new Uint8Array(65_536))).rejects.toMatchObject({ status: 413 });
  });

  it('keeps its origin and key: another configured origin fails with a clear message', async () => {
    await ledger.append(new TextEncoder().encode('one'));
    const verifierKey = ledger.verifierKey;
    await ledger.close();
    await expect(openLedger(store, 'other.example/log')).rejects.toThrow(/origin "ledger\.test\/persona"/);
    // Without a configured origin, the log's own is kept.
    ledger = await openLedger(store, null);
    expect(ledger.origin).toBe(ORIGIN);
    expect(ledger.verifierKey).toBe(verifierKey);
    expect((await verifiedCheckpoint(ledger)).size).toBe(1);
  });

  it('signs with a KeyStore key whose private half is stored wrapped, never in clear', async () => {
    const keys = openKeyStore(store, MASTER_SECRET);
    const active = await keys.activeKey(CHECKPOINT_KEY_PURPOSE);
    expect(active?.algorithm).toBe('Ed25519');
    expect(ledger.verifierKey).toMatch(/^ledger\.test\/persona\+[0-9a-f]{8}\+/);
    // Another master secret cannot use the stored key.
    const wrongKeys = openKeyStore(store, randomBytes(32));
    await expect(wrongKeys.sign(active?.id as string, new Uint8Array([1]))).rejects.toMatchObject({
      code: 'decryption-failed',
    });
  });

  it('resolves waitForCheckpoint with the first checkpoint that includes the index', async () => {
    const waiting = ledger.waitForCheckpoint(2);
    await Promise.all([1, 2, 3].map((n) => ledger.append(new Uint8Array([n]))));
    const note = await waiting;
    const opened = await openNote(note, [noteVerifier(ledger.verifierKey)]);
    expect(parseCheckpoint(opened.text).size).toBeGreaterThan(2);
  });
}

if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

describe('ledger service on sqlite', () => suite('sqlite'));
describe.skipIf(!PG_URL)('ledger service on postgres', () => suite('postgres'));
