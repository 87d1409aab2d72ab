import type { KeyRepository, StoredKey } from '@personachain/crypto';
import type { Kysely } from 'kysely';
import type { Database, KeysTable } from '../../store/schema.js';

/** The JSON kept per key: the record with its bytes in base64url (the secret stays wrapped). */
interface KeyDocument {
  algorithm: StoredKey['algorithm'];
  status: StoredKey['status'];
  publicKey: string;
  wrappedSecretKey: string;
  retiredAt: string | null;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'));

/**
 * The keys table as the crypto package's KeyStore sees it. Private keys are stored wrapped only.
 *
 * With `cache` (embedded SQLite: this process is the database's only user, so its own writes keep the
 * cache exact) rows once read are kept in memory, still wrapped. Besides saving a query per signature,
 * this lets a signature be made inside another transaction: SQLite has one connection, and a query
 * outside the running transaction would wait for it to end.
 */
export class SqlKeyRepository implements KeyRepository {
  private readonly cached = new Map<string, StoredKey>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly cache: boolean,
  ) {}

  async get(id: string): Promise<StoredKey | undefined> {
    const hit = this.cached.get(id);
    if (hit) return hit;
    const row = await this.db.selectFrom('keys').selectAll().where('id', '=', id).executeTakeFirst();
    const key = row && toStoredKey(row);
    if (key && this.cache) this.cached.set(id, key);
    return key;
  }

  async put(key: StoredKey): Promise<void> {
    const document: KeyDocument = {
      algorithm: key.algorithm,
      status: key.status,
      publicKey: b64(key.publicKey),
      wrappedSecretKey: b64(key.wrappedSecretKey),
      retiredAt: key.retiredAt,
    };
    const row: KeysTable = {
      id: key.id,
      purpose: key.purpose,
      record: JSON.stringify(document),
      created_at: key.createdAt,
    };
    await this.db
      .insertInto('keys')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ record: row.record }))
      .execute();
    if (this.cache) this.cached.set(key.id, key);
  }

  async list(filter: { purpose?: string } = {}): Promise<StoredKey[]> {
    let query = this.db.selectFrom('keys').selectAll().orderBy('id');
    if (filter.purpose !== undefined) query = query.where('purpose', '=', filter.purpose);
    return (await query.execute()).map(toStoredKey);
  }
}

function toStoredKey(row: KeysTable): StoredKey {
  const document = JSON.parse(row.record) as KeyDocument;
  return {
    id: row.id,
    purpose: row.purpose,
    algorithm: document.algorithm,
    status: document.status,
    publicKey: unb64(document.publicKey),
    wrappedSecretKey: unb64(document.wrappedSecretKey),
    createdAt: row.created_at,
    retiredAt: document.retiredAt,
  };
}
