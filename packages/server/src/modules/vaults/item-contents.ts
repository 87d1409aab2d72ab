import { randomBytes } from 'node:crypto';
import type { BlobStore } from '../../store/blob-store.js';
import type { PlannedWrite } from './commit-plan.js';
import type { VaultsRepo } from './repo.js';
import type { VaultState } from './state.js';

/** Ciphertexts up to this size live in their version's row; larger ones in the blob store. */
export const INLINE_MAX_BYTES = 16 * 1024;

export interface StoredWrite extends PlannedWrite {
  /** Where the ciphertext is in the blob store; null when it goes in the row. */
  blobKey: string | null;
}

/** One version as a member reads it: bytes base64url-encoded for the reply. */
export interface ReadVersion {
  version: number;
  ciphertext: string;
  /** The data key sealed to the reader's key; null when the reader is no recipient of this version. */
  sealedKey: string | null;
  contentHash: string;
  createdAt: number;
  createdBy: string;
}

const toB64u = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

/**
 * Where item ciphertexts are kept: small ones inline (one row read serves a get), large ones in the blob
 * store under `vaults/<projectId>/<vaultId>/<itemId>/<version>/<random>`. The random last segment keeps two
 * racing commits of the same version apart, so the loser's cleanup never deletes the winner's blob.
 */
export class ItemContents {
  constructor(
    private readonly repo: VaultsRepo,
    private readonly blobs: BlobStore,
    private readonly warn: (fields: Record<string, unknown>, message: string) => void,
  ) {}

  /** Puts the large ciphertexts of a commit into the blob store, before its transaction. */
  async store(vault: VaultState, writes: PlannedWrite[]): Promise<StoredWrite[]> {
    const stored = writes.map((write) => ({
      ...write,
      blobKey:
        write.ciphertext.length > INLINE_MAX_BYTES
          ? `vaults/${vault.projectId}/${vault.id}/${write.itemId}/${write.version}/${randomBytes(12).toString('hex')}`
          : null,
    }));
    const puts = stored.filter((write) => write.blobKey !== null);
    const results = await Promise.allSettled(
      puts.map((write) => this.blobs.put(write.blobKey as string, write.ciphertext)),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) {
      await this.destroy(puts.map((write) => write.blobKey as string));
      throw failed.reason;
    }
    return stored;
  }

  /** Inside the commit's transaction: the version rows and the items' current versions. */
  async insert(
    repo: VaultsRepo,
    vault: VaultState,
    createdBy: string,
    writes: StoredWrite[],
    at: number,
  ): Promise<void> {
    for (const write of writes) {
      const bytes = write.ciphertext;
      await repo.insertVersion({
        vault_id: vault.id,
        item_id: write.itemId,
        version: write.version,
        content_hash: write.contentHash,
        size: bytes.length,
        ciphertext:
          write.blobKey === null ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null,
        blob_key: write.blobKey,
        created_at: at,
        created_by: createdBy,
      });
      await repo.upsertItem(vault.id, {
        item_id: write.itemId,
        version: write.version,
        content_hash: write.contentHash,
        size: bytes.length,
        updated_at: at,
      });
    }
  }

  async read(
    vaultId: string,
    itemId: string,
    version: number,
    keyId: string,
  ): Promise<ReadVersion | undefined> {
    const row = await this.repo.sealedVersion(vaultId, itemId, version, keyId);
    if (!row) return undefined;
    let ciphertext = row.ciphertext;
    if (ciphertext === null) {
      ciphertext = await this.blobs.get(row.blob_key as string);
      if (ciphertext === null) {
        // A delete removes the rows, then the blobs: the item may have been deleted since the row was read.
        if (!(await this.repo.sealedVersion(vaultId, itemId, version, keyId))) return undefined;
        throw new Error(`vault blob ${row.blob_key} is missing`);
      }
    }
    return {
      version: row.version,
      ciphertext: toB64u(ciphertext),
      sealedKey: row.sealed_key === null ? null : toB64u(row.sealed_key),
      contentHash: row.content_hash,
      createdAt: Number(row.created_at),
      createdBy: row.created_by,
    };
  }

  /**
   * Deletes blobs whose rows are gone. Their data keys are destroyed already, so a blob that cannot be
   * deleted now is unreadable ciphertext; it is reported, not retried.
   */
  async destroy(keys: string[]): Promise<void> {
    const results = await Promise.allSettled(keys.map((key) => this.blobs.delete(key)));
    results.forEach((result, i) => {
      if (result.status === 'rejected') {
        this.warn({ blobKey: keys[i], err: String(result.reason) }, 'vaults: could not delete a blob');
      }
    });
  }
}
