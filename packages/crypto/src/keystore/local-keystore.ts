import { AeadKey } from '../aead.js';
import { BoundedCache } from '../bounded-cache.js';
import { toHex } from '../encoding.js';
import { CryptoError } from '../errors.js';
import { randomBytes } from '../random.js';
import { bbsSign } from '../signatures/bls12-381.js';
import { signatureAlgorithms, signatureScheme } from '../signatures/index.js';
import type { SignatureAlgorithm } from '../types.js';
import type {
  CreateKeyInput,
  KeyRecord,
  KeyRepository,
  KeyStore,
  ListKeysFilter,
  RotateKeyOptions,
  SignMessagesInput,
  StoredKey,
} from './types.js';

export interface LocalKeyStoreOptions {
  /** The 32-byte key-encryption key, e.g. deriveKeyEncryptionKey(master secret). */
  kek: Uint8Array;
  repository: KeyRepository;
  /** Clock for createdAt/retiredAt (tests pass a fixed one). */
  now?: () => Date;
}

const WRAP_LABEL = 'PersonaChain keystore v1';
const MAX_PURPOSE_LENGTH = 128;
/** Keys kept ready to sign (see `sign`). */
const READY_SIGNERS = 1024;

/**
 * The AAD of a wrapped secret key: everything about the key that does not change after creation. A row
 * whose wrapped key is moved to another id, or whose algorithm, purpose, public key or creation time is
 * edited, no longer decrypts. (`status` and `retiredAt` change on retirement and are not bound: whoever
 * can write the table can un-retire a key; the server's audit log is the control for that.)
 */
function wrapAad(id: string, key: Omit<KeyRecord, 'id' | 'status' | 'retiredAt'>): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify([WRAP_LABEL, id, key.purpose, key.algorithm, toHex(key.publicKey), key.createdAt]),
  );
}

/** Everything of a row that authenticating it covers: its AAD and its wrapped key. */
function rowFingerprint(id: string, key: StoredKey): string {
  return `${new TextDecoder().decode(wrapAad(id, key))}|${toHex(key.wrappedSecretKey)}`;
}

function newKeyId(now: Date): string {
  return `kid_${now.getTime().toString(16).padStart(12, '0')}${toHex(randomBytes(10))}`;
}

function publicRecord(key: StoredKey): KeyRecord {
  return {
    id: key.id,
    purpose: key.purpose,
    algorithm: key.algorithm,
    status: key.status,
    publicKey: key.publicKey.slice(),
    createdAt: key.createdAt,
    retiredAt: key.retiredAt,
  };
}

/**
 * The KeyStore on this process: each secret key is wrapped with AES-256-GCM under the KEK and persisted
 * through the repository; it is unwrapped only to sign, and the unwrapped bytes are wiped after use.
 * Every read unwraps the row once more to authenticate it, so a tampered row fails with
 * CryptoError('decryption-failed') — as does a store opened with the wrong KEK.
 *
 * `sign` keeps up to 1,024 keys ready as native key objects (outside the JavaScript heap; algorithms
 * without them are unwrapped for each signature), as a secrets engine keeps its unsealed keys: importing
 * a key costs more than signing with it. A ready key is used only while its row is byte for byte the one
 * it was unwrapped from and still active, and retiring it drops it, so both take effect at once.
 */
export class LocalKeyStore implements KeyStore {
  readonly #kek: AeadKey;
  readonly #repository: KeyRepository;
  readonly #now: () => Date;
  /** The last pending key change per purpose (see #exclusive). */
  readonly #changing = new Map<string, Promise<void>>();
  readonly #ready = new BoundedCache<string, { row: string; sign(message: Uint8Array): Promise<Uint8Array> }>(
    READY_SIGNERS,
  );

  constructor(options: LocalKeyStoreOptions) {
    this.#kek = new AeadKey(options.kek);
    this.#repository = options.repository;
    this.#now = options.now ?? (() => new Date());
  }

  async createKey(input: CreateKeyInput): Promise<KeyRecord> {
    if (!signatureAlgorithms.includes(input.algorithm)) {
      throw new CryptoError('unsupported-algorithm', `no signature algorithm ${String(input.algorithm)}`);
    }
    if (
      typeof input.purpose !== 'string' ||
      input.purpose.length === 0 ||
      input.purpose.length > MAX_PURPOSE_LENGTH
    ) {
      throw new CryptoError(
        'invalid-argument',
        `purpose must be a string of 1 to ${MAX_PURPOSE_LENGTH} characters`,
      );
    }
    return this.#exclusive(input.purpose, async () => {
      if (await this.activeKey(input.purpose)) {
        throw new CryptoError(
          'invalid-argument',
          `purpose ${input.purpose} already has an active key; rotate it`,
        );
      }
      return this.#create(input.algorithm, input.purpose);
    });
  }

  /**
   * Runs the purpose's key changes one after another: a check for the active key and the write that
   * depends on it must not interleave with another caller's (two first uses would create two keys).
   */
  #exclusive<T>(purpose: string, change: () => Promise<T>): Promise<T> {
    const previous = this.#changing.get(purpose) ?? Promise.resolve();
    const result = previous.then(change, change);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.#changing.set(purpose, settled);
    void settled.then(() => {
      if (this.#changing.get(purpose) === settled) this.#changing.delete(purpose);
    });
    return result;
  }

  async #create(algorithm: SignatureAlgorithm, purpose: string): Promise<KeyRecord> {
    const { publicKey, secretKey } = await signatureScheme(algorithm).generateKeyPair();
    const now = this.#now();
    const id = newKeyId(now);
    const fields = { purpose, algorithm, publicKey, createdAt: now.toISOString() };
    try {
      const wrappedSecretKey = await this.#kek.encrypt(secretKey, wrapAad(id, fields));
      const stored: StoredKey = { id, ...fields, status: 'active', retiredAt: null, wrappedSecretKey };
      await this.#repository.put(stored);
      return publicRecord(stored);
    } finally {
      secretKey.fill(0);
    }
  }

  /** Loads a row and authenticates it; returns the row and its secret key (the caller wipes it). */
  async #load(id: string): Promise<{ key: StoredKey; secretKey: Uint8Array }> {
    if (typeof id !== 'string') throw new CryptoError('invalid-argument', 'a key id is a string');
    const key = await this.#repository.get(id);
    if (!key) throw new CryptoError('invalid-argument', `no key ${id}`);
    if (key.status !== 'active' && key.status !== 'retired') {
      throw new CryptoError('malformed-input', `key ${id} has an unknown status`);
    }
    const secretKey = await this.#kek.decrypt(key.wrappedSecretKey, wrapAad(id, key));
    return { key: { ...key, id }, secretKey };
  }

  async #authenticated(id: string): Promise<StoredKey> {
    const stored = typeof id === 'string' ? await this.#repository.get(id) : undefined;
    // A row identical to one unwrapped to sign was authenticated then.
    const knownStatus = stored?.status === 'active' || stored?.status === 'retired';
    if (stored && knownStatus && this.#ready.get(id)?.row === rowFingerprint(id, stored)) {
      return { ...stored, id };
    }
    const { key, secretKey } = await this.#load(id);
    secretKey.fill(0);
    return key;
  }

  async getKey(id: string): Promise<KeyRecord> {
    return publicRecord(await this.#authenticated(id));
  }

  async getPublicKey(id: string): Promise<Uint8Array> {
    return (await this.#authenticated(id)).publicKey.slice();
  }

  async activeKey(purpose: string): Promise<KeyRecord | undefined> {
    const active = await this.listKeys({ purpose, status: 'active' });
    // Newest first: after an interrupted rotation two keys may be active, and the new one wins.
    return active.at(-1);
  }

  async listKeys(filter: ListKeysFilter = {}): Promise<KeyRecord[]> {
    const rows = await this.#repository.list(filter.purpose === undefined ? {} : { purpose: filter.purpose });
    const matching = rows.filter(
      (row) =>
        (filter.purpose === undefined || row.purpose === filter.purpose) &&
        (filter.status === undefined || row.status === filter.status),
    );
    const records = await Promise.all(matching.map((row) => this.getKey(row.id)));
    return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async sign(id: string, message: Uint8Array): Promise<Uint8Array> {
    const stored = typeof id === 'string' ? await this.#repository.get(id) : undefined;
    const ready = stored && this.#ready.get(id);
    if (stored?.status === 'active' && ready?.row === rowFingerprint(id, stored)) return ready.sign(message);
    return this.#withActiveSecretKey(id, async (key, secretKey) => {
      const scheme = signatureScheme(key.algorithm);
      if (!scheme.nativeSigningKeys) return scheme.sign(secretKey, message);
      const sign = await scheme.signerFor(secretKey);
      this.#ready.set(id, { row: rowFingerprint(id, key), sign });
      return sign(message);
    });
  }

  async signMessages(id: string, input: SignMessagesInput): Promise<Uint8Array> {
    return this.#withActiveSecretKey(id, (key, secretKey) => {
      if (key.algorithm !== 'BLS12-381-G2') {
        throw new CryptoError(
          'unsupported-algorithm',
          `key ${id} is ${key.algorithm}: only BLS12-381-G2 keys sign several messages (BBS)`,
        );
      }
      return bbsSign(secretKey, key.publicKey, input);
    });
  }

  /** Runs `use` with the secret key of an active key, wiping it afterwards whatever happens. */
  async #withActiveSecretKey<T>(
    id: string,
    use: (key: StoredKey, secretKey: Uint8Array) => Promise<T>,
  ): Promise<T> {
    const { key, secretKey } = await this.#load(id);
    try {
      if (key.status !== 'active')
        throw new CryptoError('invalid-argument', `key ${id} is retired and cannot sign`);
      return await use(key, secretKey);
    } finally {
      secretKey.fill(0);
    }
  }

  async verify(id: string, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const key = await this.#authenticated(id);
    return signatureScheme(key.algorithm).verify(key.publicKey, message, signature);
  }

  async rotateKey(
    purpose: string,
    algorithm?: SignatureAlgorithm,
    options: RotateKeyOptions = {},
  ): Promise<KeyRecord> {
    return this.#exclusive(purpose, async () => {
      const current = await this.activeKey(purpose);
      if (!current)
        throw new CryptoError('invalid-argument', `purpose ${purpose} has no active key to rotate`);
      const chosen = algorithm ?? current.algorithm;
      if (!signatureAlgorithms.includes(chosen)) {
        throw new CryptoError('unsupported-algorithm', `no signature algorithm ${String(chosen)}`);
      }
      // The new key is stored before the old one is retired, so a crash in between never leaves none.
      const next = await this.#create(chosen, purpose);
      if (!options.keepCurrent) await this.retireKey(current.id);
      return next;
    });
  }

  async retireKey(id: string): Promise<KeyRecord> {
    const key = await this.#authenticated(id);
    if (key.status === 'retired') return publicRecord(key);
    const retired: StoredKey = { ...key, status: 'retired', retiredAt: this.#now().toISOString() };
    await this.#repository.put(retired);
    this.#ready.delete(id);
    return publicRecord(retired);
  }
}
