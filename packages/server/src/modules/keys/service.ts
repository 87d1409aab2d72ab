import { deriveKeyEncryptionKey, type KeyStore, LocalKeyStore } from '@personachain/crypto';
import type { Store } from '../../store/database.js';
import { SqlKeyRepository } from './repo.js';

/**
 * The platform's key store: private keys live in the `keys` table wrapped (AES-256-GCM) under a KEK
 * derived from the master secret; an HSM adapter can replace it behind the same KeyStore interface.
 */
export function openKeyStore(store: Pick<Store, 'db' | 'singleProcess'>, masterSecret: Uint8Array): KeyStore {
  return new LocalKeyStore({
    kek: deriveKeyEncryptionKey(masterSecret),
    repository: new SqlKeyRepository(store.db, store.singleProcess),
  });
}
