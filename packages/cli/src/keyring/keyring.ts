import type { RotationKey, RotationKeySigner, SignFunction } from '@personachain/credentials';
import {
  type AeadKey,
  encodePublicKeyMultibase,
  fromBase64Url,
  type SignatureAlgorithm,
  signatureAlgorithms,
  signatureScheme,
  toBase64Url,
} from '@personachain/crypto';
import { CliError, usageError } from '../errors.js';
import { readKeyringText, withKeyringLock, writeKeyringText } from './file.js';
import {
  isUsableScryptParams,
  kdfHeaderAad,
  newScryptParams,
  passphraseKey,
  SCRYPT_DEFAULTS,
  type ScryptParams,
} from './kdf.js';
import { keyringPassphrase } from './passphrase.js';

const FORMAT = 'persona-keyring/v1';
/** Encrypted under the keyring key, so that a wrong passphrase is told apart from a damaged key. */
const CHECK_TEXT = 'PersonaChain keyring v1';

/** A secret key, AES-256-GCM encrypted (nonce ‖ ciphertext ‖ tag, base64url) under the keyring key. */
interface StoredKey {
  algorithm: SignatureAlgorithm;
  sealedSecretKey: string;
  createdAt: string;
}

/** What the keyring remembers about a did:persona DID it holds keys of (the keys are found by value). */
export interface DidRecord {
  projectId: string;
}

/** The file. Public keys, DIDs and project ids are in clear; secret keys only sealed. */
interface KeyringFile {
  format: typeof FORMAT;
  kdf: ScryptParams;
  check: string;
  /** By public key (its Multikey). */
  keys: Record<string, StoredKey>;
  dids: Record<string, DidRecord>;
}

export interface OpenOptions {
  /** Create the keyring if there is none (commands that generate keys); otherwise its absence is an error. */
  create: boolean;
  /** scrypt cost of a new keyring (default SCRYPT_DEFAULTS). */
  cost?: Pick<ScryptParams, 'N' | 'r' | 'p'>;
}

/**
 * The local keyring of did:persona keys. Secret keys are generated here, sealed with AES-256-GCM under a
 * key derived from the passphrase with scrypt, and opened only inside a signature, then wiped; the
 * server never sees them. Changes are collected in memory and written by `save`, which re-reads the file
 * and applies them to what is there, so another `persona` run that saved meanwhile keeps its keys.
 */
export class Keyring {
  readonly #file: KeyringFile;
  readonly #aead: AeadKey;
  readonly #added = new Map<string, StoredKey>();
  readonly #removed = new Set<string>();
  readonly #dids = new Map<string, DidRecord | null>();

  private constructor(
    readonly path: string,
    file: KeyringFile,
    aead: AeadKey,
  ) {
    this.#file = file;
    this.#aead = aead;
  }

  static async open(path: string, options: OpenOptions): Promise<Keyring> {
    const text = await readKeyringText(path);
    if (text === undefined) {
      if (!options.create) {
        throw usageError(`there is no keyring at ${path}`, [
          '`persona did create` and `persona did key create` create one; --keyring or PERSONA_KEYRING choose another file',
        ]);
      }
      const kdf = newScryptParams(options.cost ?? SCRYPT_DEFAULTS);
      const aead = await passphraseKey(await keyringPassphrase(path, 'create'), kdf);
      const check = toBase64Url(
        await aead.encrypt(new TextEncoder().encode(CHECK_TEXT), kdfHeaderAad(FORMAT, kdf)),
      );
      return new Keyring(path, { format: FORMAT, kdf, check, keys: {}, dids: {} }, aead);
    }
    const file = parseKeyring(path, text);
    const aead = await passphraseKey(await keyringPassphrase(path, 'unlock'), file.kdf);
    try {
      await aead.decrypt(fromBase64Url(file.check), kdfHeaderAad(FORMAT, file.kdf));
    } catch {
      throw usageError(`wrong passphrase for the keyring ${path}`, [
        'PERSONA_KEYRING_PASSPHRASE (or what was typed) does not open it; nothing was changed',
      ]);
    }
    return new Keyring(path, file, aead);
  }

  /** Generates a key pair, seals its secret key, and returns its public key as a Multikey. */
  async generate(algorithm: SignatureAlgorithm): Promise<string> {
    const { publicKey, secretKey } = await signatureScheme(algorithm).generateKeyPair();
    try {
      const multikey = encodePublicKeyMultibase(algorithm, publicKey);
      const sealed = await this.#aead.encrypt(secretKey, keyAad(algorithm, multikey));
      const stored = { algorithm, sealedSecretKey: toBase64Url(sealed), createdAt: new Date().toISOString() };
      this.#file.keys[multikey] = stored;
      this.#added.set(multikey, stored);
      return multikey;
    } finally {
      secretKey.fill(0);
    }
  }

  /** A new rotation key: Ed25519, or hybrid Ed25519 + ML-DSA-65. */
  async generateRotationKey(hybrid: boolean): Promise<RotationKey> {
    const key: RotationKey = { ed25519: await this.generate('Ed25519') };
    if (hybrid) key.mlDsa65 = await this.generate('ML-DSA-65');
    return key;
  }

  has(multikey: string): boolean {
    return Object.hasOwn(this.#file.keys, multikey) && !this.#removed.has(multikey);
  }

  /** Signs with a key of the keyring; its secret key exists unsealed only during the signature. */
  signer(multikey: string): SignFunction {
    return async (message) => {
      const stored = this.#file.keys[multikey];
      if (!stored || this.#removed.has(multikey)) throw new CliError(`the keyring has no key ${multikey}`);
      let secretKey: Uint8Array;
      try {
        secretKey = await this.#aead.decrypt(
          fromBase64Url(stored.sealedSecretKey),
          keyAad(stored.algorithm, multikey),
        );
      } catch {
        throw new CliError(`the key ${multikey} in ${this.path} does not decrypt: the file was altered`);
      }
      try {
        return await signatureScheme(stored.algorithm).sign(secretKey, message);
      } finally {
        secretKey.fill(0);
      }
    };
  }

  /** A signer for the first of `keys` whose every half this keyring holds; undefined if it holds none. */
  rotationSigner(keys: readonly RotationKey[]): RotationKeySigner | undefined {
    const key = keys.find(
      (candidate) => this.has(candidate.ed25519) && (!candidate.mlDsa65 || this.has(candidate.mlDsa65)),
    );
    if (!key) return undefined;
    return {
      key,
      ed25519: this.signer(key.ed25519),
      ...(key.mlDsa65 === undefined ? {} : { mlDsa65: this.signer(key.mlDsa65) }),
    };
  }

  /** Forgets secret keys (rotation keys a rotation or recovery replaced) at the next save. */
  remove(multikeys: Iterable<string>): void {
    for (const multikey of multikeys) if (this.has(multikey)) this.#removed.add(multikey);
  }

  did(did: string): DidRecord | undefined {
    const changed = this.#dids.get(did);
    return changed === undefined ? this.#file.dids[did] : (changed ?? undefined);
  }

  /** Records (or with null forgets) a DID at the next save. */
  setDid(did: string, record: DidRecord | null): void {
    this.#dids.set(did, record);
  }

  /** Writes the changes made since opening onto the file as it is now. */
  async save(): Promise<void> {
    await withKeyringLock(this.path, async () => {
      const text = await readKeyringText(this.path);
      const current = text === undefined ? this.#empty() : parseKeyring(this.path, text);
      if (current.kdf.salt !== this.#file.kdf.salt || current.check !== this.#file.check) {
        throw new CliError(`the keyring ${this.path} was replaced by another one while this command ran`, 1, [
          'nothing was saved to it',
        ]);
      }
      for (const [multikey, stored] of this.#added) current.keys[multikey] = stored;
      for (const multikey of this.#removed) delete current.keys[multikey];
      for (const [did, record] of this.#dids) {
        if (record) current.dids[did] = record;
        else delete current.dids[did];
      }
      await writeKeyringText(this.path, `${JSON.stringify(current, null, 2)}\n`);
    });
    this.#added.clear();
    this.#removed.clear();
    this.#dids.clear();
  }

  #empty(): KeyringFile {
    return { format: FORMAT, kdf: this.#file.kdf, check: this.#file.check, keys: {}, dids: {} };
  }
}

/** A sealed secret key is bound to its algorithm and public key: moving it to another entry fails. */
function keyAad(algorithm: SignatureAlgorithm, multikey: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([FORMAT, 'secret key', algorithm, multikey]));
}

function parseKeyring(path: string, text: string): KeyringFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const file = value as Partial<KeyringFile> | undefined;
  const valid =
    typeof file === 'object' &&
    file !== null &&
    file.format === FORMAT &&
    typeof file.check === 'string' &&
    typeof file.kdf === 'object' &&
    file.kdf !== null &&
    isUsableScryptParams(file.kdf) &&
    isRecord(file.keys) &&
    Object.values(file.keys).every(isStoredKey) &&
    isRecord(file.dids) &&
    Object.values(file.dids).every((record) => isRecord(record) && typeof record.projectId === 'string');
  if (!valid) throw usageError(`${path} is not a ${FORMAT} keyring`);
  return file as KeyringFile;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStoredKey(value: unknown): value is StoredKey {
  return (
    isRecord(value) &&
    (signatureAlgorithms as readonly unknown[]).includes(value.algorithm) &&
    typeof value.sealedSecretKey === 'string' &&
    typeof value.createdAt === 'string'
  );
}
