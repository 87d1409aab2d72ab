import type { Kysely, Selectable } from 'kysely';
import { preparedStatement, rowsInserter } from '../../store/prepared.js';
import type {
  Database,
  VaultAccessLogTable,
  VaultDevicesTable,
  VaultItemVersionsTable,
  VaultSessionsTable,
  VaultsTable,
} from '../../store/schema.js';

/**
 * The query of every item read, compiled once. The key is a scalar subquery, not a left join: on SQLite
 * the join form took ~4× as long for the same index lookups (55 µs against 12 µs, measured on a 4 KiB
 * item).
 */
const sealedVersionQuery = preparedStatement(
  ['vault', 'item', 1, 'key'],
  (db, vaultId: string, itemId: string, version: number, keyId: string) =>
    db
      .selectFrom('vault_item_versions as v')
      .selectAll('v')
      .select((eb) =>
        eb
          .selectFrom('vault_sealed_keys as s')
          .select('s.sealed_key')
          .whereRef('s.vault_id', '=', 'v.vault_id')
          .whereRef('s.item_id', '=', 'v.item_id')
          .whereRef('s.version', '=', 'v.version')
          .where('s.key_id', '=', keyId)
          .as('sealed_key'),
      )
      .where('v.vault_id', '=', vaultId)
      .where('v.item_id', '=', itemId)
      .where('v.version', '=', version),
);

const insertAccessLogRows = rowsInserter('vault_access_log');

export type VaultRow = Selectable<VaultsTable>;
/** What a request needs to know whether its cached vault state is still current. */
export type VaultHeadRow = Omit<VaultRow, 'manifest'>;
export type SessionRow = Selectable<VaultSessionsTable>;
export type DeviceRow = Selectable<VaultDevicesTable>;
export type AccessLogRow = Selectable<VaultAccessLogTable>;
export type VersionRow = Selectable<VaultItemVersionsTable>;

export interface ItemRow {
  item_id: string;
  version: number;
  content_hash: string;
  size: number | string;
  updated_at: number | string;
}

export interface MemberRow {
  subject: string;
  key_id: string;
  role: string;
  added_at: number | string;
  public_keys: string;
}

/** A version and the data key sealed to one member key (null when that key is no recipient). */
export interface SealedVersionRow extends VersionRow {
  sealed_key: Uint8Array | null;
}

const HEAD_COLUMNS = [
  'id',
  'project_id',
  'owner',
  'label',
  'status',
  'template',
  'manifest_sequence',
  'manifest_hash',
  'created_at',
  'updated_at',
  'shredded_at',
] as const;

/** The vault_* tables. Only the vaults module calls this; every tenant-facing read is scoped by project. */
export class VaultsRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: VaultsRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new VaultsRepo(trx as unknown as Kysely<Database>)));
  }

  // ---- vaults ----
  async insertVault(row: VaultRow): Promise<void> {
    await this.db.insertInto('vaults').values(row).execute();
  }

  vault(projectId: string, id: string): Promise<VaultRow | undefined> {
    return this.db
      .selectFrom('vaults')
      .selectAll()
      .where('id', '=', id)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
  }

  /** The vault without its manifest: enough to tell whether a cached copy is current. */
  vaultHead(projectId: string, id: string): Promise<VaultHeadRow | undefined> {
    return this.db
      .selectFrom('vaults')
      .select(HEAD_COLUMNS)
      .where('id', '=', id)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
  }

  listVaults(
    projectId: string,
    options: { after?: string | undefined; limit: number },
  ): Promise<VaultHeadRow[]> {
    let query = this.db
      .selectFrom('vaults')
      .select(HEAD_COLUMNS)
      .where('project_id', '=', projectId)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }

  async setTemplate(id: string, template: string | null, at: number): Promise<void> {
    await this.db.updateTable('vaults').set({ template, updated_at: at }).where('id', '=', id).execute();
  }

  /**
   * Moves the vault to its next manifest if its current one is still `previousHash`: false when another
   * commit got there first (the optimistic-concurrency check that makes concurrent commits safe).
   */
  async advanceManifest(
    id: string,
    previousHash: string,
    next: { manifest: string; sequence: number; hash: string; at: number },
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('vaults')
      .set({
        manifest: next.manifest,
        manifest_sequence: next.sequence,
        manifest_hash: next.hash,
        updated_at: next.at,
      })
      .where('id', '=', id)
      .where('manifest_hash', '=', previousHash)
      .where('status', '=', 'active')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Marks an active vault shredded; false when it was not active (already shredded meanwhile). */
  async markShredded(id: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('vaults')
      .set({ status: 'shredded', shredded_at: at, updated_at: at })
      .where('id', '=', id)
      .where('status', '=', 'active')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  // ---- manifests and keys ----
  async insertManifest(vaultId: string, sequence: number, hash: string, manifest: string, at: number) {
    await this.db
      .insertInto('vault_manifests')
      .values({ vault_id: vaultId, sequence, hash, manifest, created_at: at })
      .execute();
  }

  manifests(vaultId: string, after: number, limit: number): Promise<{ manifest: string }[]> {
    return this.db
      .selectFrom('vault_manifests')
      .select('manifest')
      .where('vault_id', '=', vaultId)
      .where('sequence', '>', after)
      .orderBy('sequence')
      .limit(limit)
      .execute();
  }

  /** Stores public key sets by their (self-certifying) ids; ids already stored are left as they are. */
  async insertKeys(
    vaultId: string,
    keys: { keyId: string; publicKeys: string }[],
    at: number,
  ): Promise<void> {
    if (keys.length === 0) return;
    await this.db
      .insertInto('vault_keys')
      .values(
        keys.map((key) => ({
          vault_id: vaultId,
          key_id: key.keyId,
          public_keys: key.publicKeys,
          created_at: at,
        })),
      )
      .onConflict((oc) => oc.columns(['vault_id', 'key_id']).doNothing())
      .execute();
  }

  keys(vaultId: string, keyIds: string[]): Promise<{ key_id: string; public_keys: string }[]> {
    if (keyIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('vault_keys')
      .select(['key_id', 'public_keys'])
      .where('vault_id', '=', vaultId)
      .where('key_id', 'in', keyIds)
      .execute();
  }

  // ---- members ----
  async insertMembers(
    vaultId: string,
    members: { subject: string; keyId: string; role: string }[],
    at: number,
  ): Promise<void> {
    if (members.length === 0) return;
    await this.db
      .insertInto('vault_members')
      .values(
        members.map((member) => ({
          vault_id: vaultId,
          subject: member.subject,
          key_id: member.keyId,
          role: member.role,
          added_at: at,
        })),
      )
      .execute();
  }

  async deleteMember(vaultId: string, subject: string): Promise<void> {
    await this.db
      .deleteFrom('vault_members')
      .where('vault_id', '=', vaultId)
      .where('subject', '=', subject)
      .execute();
  }

  async setMemberRole(vaultId: string, subject: string, role: string): Promise<void> {
    await this.db
      .updateTable('vault_members')
      .set({ role })
      .where('vault_id', '=', vaultId)
      .where('subject', '=', subject)
      .execute();
  }

  members(vaultId: string): Promise<MemberRow[]> {
    return this.db
      .selectFrom('vault_members as m')
      .innerJoin('vault_keys as k', (join) =>
        join.onRef('k.vault_id', '=', 'm.vault_id').onRef('k.key_id', '=', 'm.key_id'),
      )
      .select(['m.subject', 'm.key_id', 'm.role', 'm.added_at', 'k.public_keys'])
      .where('m.vault_id', '=', vaultId)
      .orderBy('m.subject')
      .execute();
  }

  // ---- items, versions, sealed keys ----
  async upsertItem(vaultId: string, item: ItemRow): Promise<void> {
    await this.db
      .insertInto('vault_items')
      .values({ vault_id: vaultId, ...item })
      .onConflict((oc) =>
        oc.columns(['vault_id', 'item_id']).doUpdateSet({
          version: item.version,
          content_hash: item.content_hash,
          size: item.size,
          updated_at: item.updated_at,
        }),
      )
      .execute();
  }

  listItems(vaultId: string, options: { after?: string | undefined; limit: number }): Promise<ItemRow[]> {
    let query = this.db
      .selectFrom('vault_items')
      .select(['item_id', 'version', 'content_hash', 'size', 'updated_at'])
      .where('vault_id', '=', vaultId)
      .orderBy('item_id')
      .limit(options.limit);
    if (options.after) query = query.where('item_id', '>', options.after);
    return query.execute();
  }

  async insertVersion(row: VersionRow): Promise<void> {
    await this.db.insertInto('vault_item_versions').values(row).execute();
  }

  async insertSealedKeys(
    vaultId: string,
    keys: { itemId: string; version: number; keyId: string; sealedKey: Uint8Array }[],
  ): Promise<void> {
    if (keys.length === 0) return;
    await this.db
      .insertInto('vault_sealed_keys')
      .values(
        keys.map((key) => ({
          vault_id: vaultId,
          item_id: key.itemId,
          version: key.version,
          key_id: key.keyId,
          sealed_key: Buffer.from(key.sealedKey.buffer, key.sealedKey.byteOffset, key.sealedKey.byteLength),
        })),
      )
      .execute();
  }

  /** One version with the data key sealed to `keyId`, in one query (see `sealedVersionQuery`). */
  async sealedVersion(
    vaultId: string,
    itemId: string,
    version: number,
    keyId: string,
  ): Promise<SealedVersionRow | undefined> {
    return (await sealedVersionQuery(this.db, vaultId, itemId, version, keyId)).rows[0];
  }

  listVersions(
    vaultId: string,
    itemId: string,
    options: { after?: number | undefined; limit: number },
  ): Promise<Omit<VersionRow, 'ciphertext'>[]> {
    let query = this.db
      .selectFrom('vault_item_versions')
      .select([
        'vault_id',
        'item_id',
        'version',
        'content_hash',
        'size',
        'blob_key',
        'created_at',
        'created_by',
      ])
      .where('vault_id', '=', vaultId)
      .where('item_id', '=', itemId)
      .orderBy('version')
      .limit(options.limit);
    if (options.after !== undefined) query = query.where('version', '>', options.after);
    return query.execute();
  }

  /**
   * Destroys an item: every version's ciphertext row and sealed keys, and its live-item row. Returns the
   * blob keys of its versions, which the caller deletes once the transaction committed.
   */
  async destroyItem(vaultId: string, itemId: string): Promise<string[]> {
    const blobs = await this.db
      .selectFrom('vault_item_versions')
      .select('blob_key')
      .where('vault_id', '=', vaultId)
      .where('item_id', '=', itemId)
      .where('blob_key', 'is not', null)
      .execute();
    await this.db
      .deleteFrom('vault_sealed_keys')
      .where('vault_id', '=', vaultId)
      .where('item_id', '=', itemId)
      .execute();
    await this.db
      .deleteFrom('vault_item_versions')
      .where('vault_id', '=', vaultId)
      .where('item_id', '=', itemId)
      .execute();
    await this.db
      .deleteFrom('vault_items')
      .where('vault_id', '=', vaultId)
      .where('item_id', '=', itemId)
      .execute();
    return blobs.map((row) => row.blob_key as string);
  }

  /** Destroys every data key sealed to `keyId` in the vault, of every version (a removed member's). */
  async deleteSealedKeysOf(vaultId: string, keyId: string): Promise<void> {
    await this.db
      .deleteFrom('vault_sealed_keys')
      .where('vault_id', '=', vaultId)
      .where('key_id', '=', keyId)
      .execute();
  }

  /** Crypto-shredding: every sealed key, ciphertext row and live item of the vault. Returns its blob keys. */
  async destroyContents(vaultId: string): Promise<string[]> {
    const blobs = await this.db
      .selectFrom('vault_item_versions')
      .select('blob_key')
      .where('vault_id', '=', vaultId)
      .where('blob_key', 'is not', null)
      .execute();
    await this.db.deleteFrom('vault_sealed_keys').where('vault_id', '=', vaultId).execute();
    await this.db.deleteFrom('vault_item_versions').where('vault_id', '=', vaultId).execute();
    await this.db.deleteFrom('vault_items').where('vault_id', '=', vaultId).execute();
    return blobs.map((row) => row.blob_key as string);
  }

  // ---- sessions ----
  async insertSession(row: SessionRow): Promise<void> {
    await this.db.insertInto('vault_sessions').values(row).execute();
  }

  /** Records a session proof's nonce; false when the vault has seen it before (a replay). */
  async useNonce(vaultId: string, nonce: string, expiresAt: number): Promise<boolean> {
    const result = await this.db
      .insertInto('vault_session_nonces')
      .values({ vault_id: vaultId, nonce, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['vault_id', 'nonce']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** A session by its token's hash, with whether its device fingerprint is a registered device now. */
  sessionByToken(
    tokenHash: string,
  ): Promise<(SessionRow & { device_registered: number | boolean }) | undefined> {
    return this.db
      .selectFrom('vault_sessions as s')
      .selectAll('s')
      .select((eb) =>
        eb
          .case()
          .when(
            eb.exists(
              eb
                .selectFrom('vault_devices as d')
                .select('d.id')
                .whereRef('d.project_id', '=', 's.project_id')
                .whereRef('d.subject', '=', 's.subject')
                .whereRef('d.fingerprint_hash', '=', 's.fingerprint_hash'),
            ),
          )
          .then(1)
          .else(0)
          .end()
          .as('device_registered'),
      )
      .where('s.token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  /** Whether the fingerprint hash is a device registered for the subject. */
  async deviceRegistered(projectId: string, subject: string, fingerprintHash: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('vault_devices')
      .select('id')
      .where('project_id', '=', projectId)
      .where('subject', '=', subject)
      .where('fingerprint_hash', '=', fingerprintHash)
      .executeTakeFirst();
    return row !== undefined;
  }

  async setSessionAuthentication(id: string, methods: string, authenticatedAt: number): Promise<void> {
    await this.db
      .updateTable('vault_sessions')
      .set({ auth_methods: methods, authenticated_at: authenticatedAt })
      .where('id', '=', id)
      .execute();
  }

  async revokeSession(id: string, at: number): Promise<void> {
    await this.db
      .updateTable('vault_sessions')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /** Ends every live session of a member (or, without `subject`, of the whole vault). */
  async revokeSessions(vaultId: string, subject: string | null, at: number): Promise<void> {
    let query = this.db
      .updateTable('vault_sessions')
      .set({ revoked_at: at })
      .where('vault_id', '=', vaultId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', at);
    if (subject !== null) query = query.where('subject', '=', subject);
    await query.execute();
  }

  /** Forgets sessions and nonces whose time is over. */
  async purgeExpired(now: number): Promise<void> {
    await this.db.deleteFrom('vault_sessions').where('expires_at', '<', now).execute();
    await this.db.deleteFrom('vault_session_nonces').where('expires_at', '<', now).execute();
  }

  // ---- devices ----
  async insertDevice(row: DeviceRow): Promise<void> {
    await this.db.insertInto('vault_devices').values(row).execute();
  }

  listDevices(
    projectId: string,
    options: { subject?: string | undefined; after?: string | undefined; limit: number },
  ): Promise<DeviceRow[]> {
    let query = this.db
      .selectFrom('vault_devices')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .limit(options.limit);
    if (options.subject !== undefined) query = query.where('subject', '=', options.subject);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }

  device(projectId: string, id: string): Promise<DeviceRow | undefined> {
    return this.db
      .selectFrom('vault_devices')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async deleteDevice(projectId: string, id: string): Promise<void> {
    await this.db
      .deleteFrom('vault_devices')
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .execute();
  }

  // ---- access log ----
  async insertAccessLog(row: AccessLogRow): Promise<void> {
    await insertAccessLogRows(this.db, [row]);
  }

  async insertAccessLogs(rows: readonly AccessLogRow[]): Promise<void> {
    await insertAccessLogRows(this.db, rows);
  }

  listAccessLog(
    vaultId: string,
    options: { after?: string | undefined; limit: number },
  ): Promise<AccessLogRow[]> {
    let query = this.db
      .selectFrom('vault_access_log')
      .selectAll()
      .where('vault_id', '=', vaultId)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }
}
