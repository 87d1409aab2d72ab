import { BoundedCache } from '@personachain/crypto';
import type { MemberPublicKeys } from '@personachain/vaults';
import type { VaultsRepo } from './repo.js';

/** Public key sets remembered; a key id names one set forever, so a remembered set is always exact. */
const CAPACITY = 5_000;

/**
 * Members' public keys by key id. Key ids are self-certifying (a hash of the keys), so the cache needs
 * no invalidation and is exact with a shared database too.
 */
export class KeyDirectory {
  private readonly cache = new BoundedCache<string, MemberPublicKeys>(CAPACITY);

  constructor(private readonly repo: VaultsRepo) {}

  /** The keys of `keyIds` the vault knows, by key id (ids it does not know are absent). */
  async many(vaultId: string, keyIds: Iterable<string>): Promise<Map<string, MemberPublicKeys>> {
    const found = new Map<string, MemberPublicKeys>();
    const missing: string[] = [];
    for (const keyId of new Set(keyIds)) {
      const known = this.cache.get(keyId);
      if (known) found.set(keyId, known);
      else missing.push(keyId);
    }
    for (const row of await this.repo.keys(vaultId, missing)) {
      found.set(row.key_id, this.cache.set(row.key_id, JSON.parse(row.public_keys) as MemberPublicKeys));
    }
    return found;
  }

  /** One member's keys; every member of a manifest the server accepted has them stored. */
  async get(vaultId: string, keyId: string): Promise<MemberPublicKeys | undefined> {
    return (await this.many(vaultId, [keyId])).get(keyId);
  }
}
