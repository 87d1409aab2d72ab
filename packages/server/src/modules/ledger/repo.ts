import { innerSubtreeHashes, rememberInnerSubtreeHashes, type TileId } from '@personachain/ledger';
import type { Kysely } from 'kysely';
import { inChunks, ROWS_PER_STATEMENT } from '../../store/chunks.js';
import type { Engine } from '../../store/database.js';
import { preparedStatement, rowsInserter } from '../../store/prepared.js';
import type { Database } from '../../store/schema.js';

const enqueueEntry = preparedStatement([new Uint8Array(), 'at'], (db, data: Uint8Array, at: string) =>
  db.insertInto('ledger_queue').values({ data, queued_at: at }).returning('seq'),
);

const HASH_BYTES = 32;
const FULL_TILE_WIDTH = 256;
const STATE_ROW = 1;

// The statements of every batch the sequencer integrates, compiled once (Kysely would rebuild each).
const stateReader = preparedStatement([STATE_ROW], (db, id: number) =>
  db
    .selectFrom('ledger_state')
    .select(['origin', 'size', 'root', 'checkpoint', 'signer_key_id'])
    .where('id', '=', id),
);

const stateWriter = preparedStatement(
  [0, new Uint8Array(), 'checkpoint', 'at', STATE_ROW],
  (db, size: number, root: Uint8Array, checkpoint: string, at: string, id: number) =>
    db.updateTable('ledger_state').set({ size, root, checkpoint, updated_at: at }).where('id', '=', id),
);

/** `inner` may be null: only full level-0 tiles keep their inner hashes. */
const tileWriter = preparedStatement(
  [0, 0, new Uint8Array(), new Uint8Array()],
  (db, level: number, index: number, data: Uint8Array, inner: Uint8Array | null) =>
    db
      .insertInto('ledger_tiles')
      .values({ level, idx: index, data, inner })
      .onConflict((oc) =>
        oc
          .columns(['level', 'idx'])
          .doUpdateSet((eb) => ({ data: eb.ref('excluded.data'), inner: eb.ref('excluded.inner') })),
      ),
);

const insertEntryRows = rowsInserter('ledger_entries');

export interface LedgerState {
  origin: string;
  size: number;
  root: Uint8Array;
  /** The signed note of the checkpoint for `size`. */
  checkpoint: string;
  /** The KeyStore key that signs checkpoints. */
  signerKeyId: string;
}

export interface QueuedEntry {
  seq: number;
  data: Uint8Array;
}

/** Tables of the ledger: its state row, hash tiles, entries, and the queue of transactional appends. */
export class LedgerRepo {
  constructor(
    readonly db: Kysely<Database>,
    readonly engine: Engine,
  ) {}

  transaction<T>(work: (repo: LedgerRepo) => Promise<T>): Promise<T> {
    return this.db
      .transaction()
      .execute((trx) => work(new LedgerRepo(trx as unknown as Kysely<Database>, this.engine)));
  }

  /**
   * Holds the state row until the transaction ends, so that on PostgreSQL only one server replica
   * integrates a batch at a time. SQLite transactions are already serial (one connection).
   */
  async lockState(): Promise<void> {
    if (this.engine === 'postgres') {
      await this.db.selectFrom('ledger_state').select('id').where('id', '=', STATE_ROW).forUpdate().execute();
    }
  }

  async getState(): Promise<LedgerState | undefined> {
    const row = (await stateReader(this.db, STATE_ROW)).rows[0];
    if (!row) return undefined;
    return {
      origin: row.origin,
      size: Number(row.size),
      root: new Uint8Array(row.root),
      checkpoint: row.checkpoint,
      signerKeyId: row.signer_key_id,
    };
  }

  /** Creates the state row of an empty log; false when another process created it first. */
  async initState(state: LedgerState, at: string): Promise<boolean> {
    const result = await this.db
      .insertInto('ledger_state')
      .values({
        id: STATE_ROW,
        origin: state.origin,
        size: state.size,
        root: state.root,
        checkpoint: state.checkpoint,
        signer_key_id: state.signerKeyId,
        updated_at: at,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async putState(state: Pick<LedgerState, 'size' | 'root' | 'checkpoint'>, at: string): Promise<void> {
    await stateWriter(this.db, state.size, state.root, state.checkpoint, at, STATE_ROW);
  }

  /** The latest checkpoint the witness quorum cosigned (the note with their cosignatures), if any. */
  async getPublished(): Promise<{ size: number; checkpoint: string } | undefined> {
    const row = await this.db
      .selectFrom('ledger_state')
      .select(['published_size', 'published_checkpoint'])
      .where('id', '=', STATE_ROW)
      .executeTakeFirst();
    if (row?.published_size == null || row.published_checkpoint == null) return undefined;
    return { size: Number(row.published_size), checkpoint: row.published_checkpoint };
  }

  /** Stores a cosigned checkpoint unless a larger one is already published (replicas race here). */
  async putPublished(size: number, checkpoint: string): Promise<boolean> {
    const result = await this.db
      .updateTable('ledger_state')
      .set({ published_size: size, published_checkpoint: checkpoint })
      .where('id', '=', STATE_ROW)
      .where((eb) => eb.or([eb('published_size', 'is', null), eb('published_size', '<', size)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Hash tiles as the Merkle core asks for them: exactly `width` hashes each. A stored tile may be wider
   * than asked (it grew since), and a prefix of a tile never changes, so it is cut to the width.
   */
  async readTiles(tiles: readonly TileId[]): Promise<Uint8Array[]> {
    if (tiles.length === 0) return [];
    const rows = await this.db
      .selectFrom('ledger_tiles')
      .select(['level', 'idx', 'data', 'inner'])
      .where((eb) =>
        eb.or(tiles.map((tile) => eb.and([eb('level', '=', tile.level), eb('idx', '=', tile.index)]))),
      )
      .execute();
    const stored = new Map(rows.map((row) => [`${row.level}/${Number(row.idx)}`, row]));
    return tiles.map((tile) => {
      const row = stored.get(`${tile.level}/${tile.index}`);
      const length = tile.width * HASH_BYTES;
      if (!row || row.data.length < length) {
        throw new Error(`ledger tile ${tile.level}/${tile.index} has fewer than ${tile.width} hashes`);
      }
      const data = new Uint8Array(row.data.buffer, row.data.byteOffset, length);
      if (row.inner && tile.width === FULL_TILE_WIDTH)
        rememberInnerSubtreeHashes(data, new Uint8Array(row.inner));
      return data;
    });
  }

  /**
   * On SQLite one compiled statement per tile (a batch touches a tile or two per level, and a statement
   * costs no round trip there); on PostgreSQL one statement for all, so that the batch holding the
   * ledger's lock does not wait for a round trip per tile.
   */
  async writeTiles(tiles: ReadonlyArray<{ tile: TileId; data: Uint8Array }>): Promise<void> {
    const rows = tiles.map(({ tile, data }) => ({
      level: tile.level,
      idx: tile.index,
      data,
      // Level 0 only: higher tiles are few, and the proof path keeps them in memory anyway.
      inner: tile.level === 0 && tile.width === FULL_TILE_WIDTH ? innerSubtreeHashes(data) : null,
    }));
    if (rows.length === 0) return;
    if (this.engine === 'sqlite') {
      for (const row of rows) await tileWriter(this.db, row.level, row.idx, row.data, row.inner);
      return;
    }
    await this.db
      .insertInto('ledger_tiles')
      .values(rows)
      .onConflict((oc) =>
        oc
          .columns(['level', 'idx'])
          .doUpdateSet((eb) => ({ data: eb.ref('excluded.data'), inner: eb.ref('excluded.inner') })),
      )
      .execute();
  }

  async insertEntries(firstIndex: number, entries: readonly Uint8Array[]): Promise<void> {
    await insertEntryRows(
      this.db,
      entries.map((data, i) => ({ idx: firstIndex + i, data })),
    );
  }

  /** Entries `[from, from + count)`, in index order; fewer when the log is shorter. */
  async readEntries(from: number, count: number): Promise<Uint8Array[]> {
    const rows = await this.db
      .selectFrom('ledger_entries')
      .select('data')
      .where('idx', '>=', from)
      .where('idx', '<', from + count)
      .orderBy('idx')
      .execute();
    return rows.map((row) => new Uint8Array(row.data));
  }

  async enqueue(data: Uint8Array, at: string): Promise<number> {
    const row = (await enqueueEntry(this.db, data, at)).rows[0];
    if (!row) throw new Error('the ledger queue returned no sequence number for an entry');
    return Number(row.seq);
  }

  async takeQueued(limit: number): Promise<QueuedEntry[]> {
    const rows = await this.db
      .selectFrom('ledger_queue')
      .select(['seq', 'data'])
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ seq: Number(row.seq), data: new Uint8Array(row.data) }));
  }

  async hasQueued(): Promise<boolean> {
    return (await this.db.selectFrom('ledger_queue').select('seq').limit(1).executeTakeFirst()) !== undefined;
  }

  /** Records the index each queued entry got and removes it from the queue. */
  async markSequenced(assigned: ReadonlyArray<{ seq: number; idx: number }>): Promise<void> {
    await inChunks(assigned, ROWS_PER_STATEMENT, async (chunk) => {
      await this.db.insertInto('ledger_sequence').values(chunk).execute();
      await this.db
        .deleteFrom('ledger_queue')
        .where(
          'seq',
          'in',
          chunk.map((entry) => entry.seq),
        )
        .execute();
    });
  }

  async indexesOf(seqs: readonly number[]): Promise<Map<number, number>> {
    if (seqs.length === 0) return new Map();
    const rows = await this.db.selectFrom('ledger_sequence').selectAll().where('seq', 'in', seqs).execute();
    return new Map(rows.map((row) => [Number(row.seq), Number(row.idx)]));
  }
}
