export { deriveKeyEncryptionKey, KEK_HKDF_INFO } from './kek.js';
export { LocalKeyStore, type LocalKeyStoreOptions } from './local-keystore.js';
export { MemoryKeyRepository } from './memory-repository.js';
export type {
  CreateKeyInput,
  KeyRecord,
  KeyRepository,
  KeyStatus,
  KeyStore,
  ListKeysFilter,
  RotateKeyOptions,
  SignMessagesInput,
  StoredKey,
} from './types.js';
