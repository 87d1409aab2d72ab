import type { LedgerOperation, LoadedOperations } from '@personachain/credentials';
import { decodeEntryBundle, entriesPath, formatTlogProof, TILE_WIDTH } from '@personachain/ledger';
import type { LedgerService } from '../ledger/service.js';
import { decodePersonaEntry } from './framing.js';
import type { PersonaOpRow, PersonaRepo } from './repo.js';

/**
 * The read side of did:persona: a DID's operations as the ledger holds them, found through the
 * persona_ops index and read from the log's entry bundles, with inclusion proofs on request.
 */
export class PersonaLog {
  constructor(
    private readonly repo: PersonaRepo,
    private readonly ledger: LedgerService,
  ) {}

  /**
   * The DID's index rows, each with its ledger index when integrated (looked up for rows written before
   * the integration was known). Rows after the first not yet integrated one are cut off with it.
   */
  async integratedRows(did: string): Promise<{ rows: PersonaOpRow[]; pending: PersonaOpRow[] }> {
    const all = await this.repo.operations(did);
    const unknown = all.filter((row) => row.ledgerIndex === null).map((row) => row.ledgerSeq);
    const found = await this.ledger.indexesOf(unknown);
    const rows = all.map((row) => ({
      ...row,
      ledgerIndex: row.ledgerIndex ?? found.get(row.ledgerSeq) ?? null,
    }));
    const cut = rows.findIndex((row) => row.ledgerIndex === null);
    return cut < 0 ? { rows, pending: [] } : { rows: rows.slice(0, cut), pending: rows.slice(cut) };
  }

  /** For `personaMethod`: the integrated operations, and with `withProofs` tlog-proofs and their checkpoint. */
  async loadOperations(did: string, options: { withProofs: boolean }): Promise<LoadedOperations> {
    const operations: LedgerOperation[] = await this.operationsOf((await this.integratedRows(did)).rows);
    if (!options.withProofs || operations.length === 0) return { operations };
    const { size, checkpoint } = await this.ledger.state();
    for (const operation of operations) {
      const { hashes } = await this.ledger.inclusionProof(operation.ledgerIndex, size);
      operation.inclusionProof = formatTlogProof({
        index: operation.ledgerIndex,
        proof: hashes,
        note: checkpoint,
      });
    }
    return { operations, checkpoint };
  }

  /** The ledger entries of integrated index rows of one DID, unframed, in order. */
  async operationsOf(rows: readonly PersonaOpRow[]): Promise<LedgerOperation[]> {
    const entries = await this.entries(rows.map((row) => row.ledgerIndex as number));
    return rows.map((row, i) => {
      const entry = decodePersonaEntry(entries[i] as Uint8Array);
      if (!entry || entry.did !== row.did) {
        throw new Error(`ledger entry ${row.ledgerIndex} is not an operation of ${row.did}`);
      }
      return { bytes: entry.op, ledgerIndex: row.ledgerIndex as number, integratedAt: entry.at };
    });
  }

  /**
   * Entries by index, read through the ledger's public entry bundles (C2SP tlog-tiles), as a monitor
   * would: one partial bundle per tile, up to the last index wanted in it.
   */
  async entries(indexes: readonly number[]): Promise<Uint8Array[]> {
    const byTile = new Map<number, number>();
    for (const index of indexes) {
      const tile = Math.floor(index / TILE_WIDTH);
      byTile.set(tile, Math.max(byTile.get(tile) ?? 0, (index % TILE_WIDTH) + 1));
    }
    const bundles = new Map<number, Uint8Array[]>();
    for (const [tile, width] of byTile) {
      const read = await this.ledger.tile(entriesPath(tile, width));
      if (!read) throw new Error(`ledger entry bundle ${tile} (width ${width}) is not in the log`);
      bundles.set(tile, decodeEntryBundle(read.body));
    }
    return indexes.map(
      (index) => bundles.get(Math.floor(index / TILE_WIDTH))?.[index % TILE_WIDTH] as Uint8Array,
    );
  }
}
