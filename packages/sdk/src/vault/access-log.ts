import {
  type Checkpoint,
  hashLeaf,
  LedgerError,
  noteVerifier,
  openNote,
  parseCheckpoint,
  verifyInclusion,
} from '@personachain/ledger';
import { VaultIntegrityError } from '@personachain/vaults';
import { base64 } from '@scure/base';
import type { AccessLogEntry, AccessLogPage } from './routes.js';

export type { AccessLogEntry, AccessLogPage };

export interface VerifiedAccessLogEntry extends AccessLogEntry {
  /** The entry is in the ledger under the verified checkpoint; false while it is not integrated yet. */
  inLedger: boolean;
}

const encoder = new TextEncoder();

/**
 * Checks a page of a vault's access log against the ledger: the checkpoint is signed by the pinned
 * ledger key, each entry's ledger text says what the listing says, and each integrated entry is in the
 * checkpoint's tree. Throws VaultIntegrityError on any mismatch.
 */
export async function verifyAccessLog(
  page: AccessLogPage,
  options: { vaultId: string; ledgerKey: string },
): Promise<{ entries: VerifiedAccessLogEntry[]; checkpoint: Checkpoint | null }> {
  const checkpoint =
    page.checkpoint === undefined ? null : await openCheckpoint(page.checkpoint, options.ledgerKey);
  const entries = page.data.map((entry) => {
    checkEntryText(entry, options.vaultId);
    if (entry.ledgerIndex === null) return { ...entry, inLedger: false };
    if (!checkpoint || !entry.proof) {
      throw new VaultIntegrityError(
        'tampered',
        `access-log entry ${entry.id} comes without its ledger proof`,
      );
    }
    if (entry.proof.size !== checkpoint.size) {
      throw new VaultIntegrityError(
        'tampered',
        `access-log entry ${entry.id} is proven in a tree of size ${entry.proof.size}, not the checkpoint's ${checkpoint.size}`,
      );
    }
    try {
      verifyInclusion(
        entry.ledgerIndex,
        checkpoint.size,
        hashLeaf(encoder.encode(entry.entry)),
        entry.proof.hashes.map((hash) => base64.decode(hash)),
        checkpoint.root,
      );
    } catch (error) {
      throw new VaultIntegrityError(
        'tampered',
        `access-log entry ${entry.id} is not in the ledger at index ${entry.ledgerIndex}: ${(error as Error).message}`,
      );
    }
    return { ...entry, inLedger: true };
  });
  return { entries, checkpoint };
}

async function openCheckpoint(note: string, ledgerKey: string): Promise<Checkpoint> {
  try {
    return parseCheckpoint((await openNote(note, [noteVerifier(ledgerKey)])).text);
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    throw new VaultIntegrityError(
      'bad-signature',
      `the access log's checkpoint is not signed by the pinned ledger key: ${error.message}`,
    );
  }
}

/** The listing must say what the ledger entry says: the entry is what the proof covers. */
function checkEntryText(entry: AccessLogEntry, vaultId: string): void {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(entry.entry);
  } catch {
    throw new VaultIntegrityError('tampered', `access-log entry ${entry.id} is not JSON`);
  }
  const expected: Record<string, unknown> = {
    type: 'vault.access',
    id: entry.id,
    vault: vaultId,
    subject: entry.subject,
    action: entry.action,
    item: entry.itemId,
    outcome: entry.outcome,
    score: entry.score,
  };
  for (const [field, value] of Object.entries(expected)) {
    if (parsed[field] !== value) {
      throw new VaultIntegrityError(
        'tampered',
        `access-log entry ${entry.id}: the listing's ${field} differs from the ledger entry's`,
      );
    }
  }
}
