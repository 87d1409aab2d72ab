import type { BbsMessages } from '../signatures/bls12-381.js';
import type { SignatureAlgorithm } from '../types.js';

/** What `signMessages` signs: a header and an ordered list of messages (BBS). */
export type SignMessagesInput = BbsMessages;

export type KeyStatus = 'active' | 'retired';

/** What the store tells about a key. Never contains private key material. */
export interface KeyRecord {
  /**
   * `kid_` (unlike the platform's API key ids, `key_…`) + 12 hex digits of creation time in ms + 20 random
   * hex digits: unique and sortable by creation.
   */
  id: string;
  /** What the key is for (`ledger-checkpoint`, `credential-issuer`, …); rotation keeps one active key per purpose. */
  purpose: string;
  algorithm: SignatureAlgorithm;
  status: KeyStatus;
  publicKey: Uint8Array;
  /** ISO 8601 timestamps. */
  createdAt: string;
  retiredAt: string | null;
}

/** The row a repository persists: the record plus the wrapped (encrypted) secret key. */
export interface StoredKey extends KeyRecord {
  /** AES-256-GCM under the KEK: nonce (12) ‖ ciphertext ‖ tag (16); see LocalKeyStore for the AAD. */
  wrappedSecretKey: Uint8Array;
}

/**
 * Where a LocalKeyStore keeps its rows: the server implements it on its database, tests and browsers use
 * MemoryKeyRepository. `put` inserts or replaces by id.
 */
export interface KeyRepository {
  get(id: string): Promise<StoredKey | undefined>;
  put(key: StoredKey): Promise<void>;
  /** Every key, or with `purpose` only that purpose's keys (an index lookup for a database). */
  list(filter?: { purpose?: string }): Promise<StoredKey[]>;
}

export interface CreateKeyInput {
  algorithm: SignatureAlgorithm;
  purpose: string;
}

export interface RotateKeyOptions {
  /**
   * Leave the current key active next to the new one: a staged rotation, where the caller publishes the
   * new key first and retires the old one itself once the new one has taken over.
   */
  keepCurrent?: boolean;
}

export interface ListKeysFilter {
  purpose?: string;
  status?: KeyStatus;
}

/**
 * Signing keys whose private halves never leave the store: callers get ids, public keys and signatures.
 * An HSM (PKCS#11) adapter will implement the same interface.
 */
export interface KeyStore {
  /** A new active key. Fails if `purpose` already has an active key: use rotateKey for that. */
  createKey(input: CreateKeyInput): Promise<KeyRecord>;
  getKey(id: string): Promise<KeyRecord>;
  getPublicKey(id: string): Promise<Uint8Array>;
  /** The active key of a purpose, if any. */
  activeKey(purpose: string): Promise<KeyRecord | undefined>;
  listKeys(filter?: ListKeysFilter): Promise<KeyRecord[]>;
  /** Signs with an active key; a retired key refuses. */
  sign(id: string, message: Uint8Array): Promise<Uint8Array>;
  /**
   * A multi-message signature with an active BLS12-381-G2 key: BBS (draft-irtf-cfrg-bbs-signatures,
   * ciphersuite BBS-BLS12-381-SHA-256) over the header and each message, 80 bytes, as bbs-2023 base proofs
   * need. Keys of other algorithms refuse with CryptoError('unsupported-algorithm').
   */
  signMessages(id: string, input: SignMessagesInput): Promise<Uint8Array>;
  /** Verifies with an active or a retired key (retired keys keep verifying what they signed). */
  verify(id: string, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /**
   * A new active key for `purpose` (same algorithm as the current one unless given) and the current one
   * retired, unless `options.keepCurrent`. Returns the new key.
   */
  rotateKey(purpose: string, algorithm?: SignatureAlgorithm, options?: RotateKeyOptions): Promise<KeyRecord>;
  /** Retires a key: it stops signing, keeps verifying. Retiring a retired key is a no-op. */
  retireKey(id: string): Promise<KeyRecord>;
}
