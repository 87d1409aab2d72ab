import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import {
  type AeadKey,
  type EnvelopeKeyPair,
  envelopeKeyId,
  fromBase64Url,
  toBase64Url,
} from '@personachain/crypto';
import { checkMemberPublicKeys, MemberKeys, type MemberPublicKeys, memberKeyId } from '@personachain/vaults';
import { CliError, usageError } from '../errors.js';
import { readKeyringText, withKeyringLock, writeKeyringText } from '../keyring/file.js';
import {
  isUsableScryptParams,
  kdfHeaderAad,
  newScryptParams,
  passphraseKey,
  SCRYPT_DEFAULTS,
  type ScryptParams,
} from '../keyring/kdf.js';
import { keyringPassphrase } from '../keyring/passphrase.js';

const FORMAT = 'persona-vault-keyring/v1';
/** Encrypted under the keyring key, so that a wrong passphrase is told apart from a damaged entry. */
const CHECK_TEXT = 'PersonaChain vault keyring v1';
/** Names of member keys: what `--keys` and `--name` take. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A member's keys: the public keys in clear (shown without the passphrase), the seed sealed. */
interface StoredMember {
  keyId: string;
  publicKeys: MemberPublicKeys;
  /** The 32-byte seed every key derives from, AES-256-GCM (nonce ‖ ciphertext ‖ tag, base64url). */
  sealedSeed: string;
  createdAt: string;
}

/** What the keyring remembers about a vault, so later commands need no --project or --keys. */
export interface VaultRecord {
  projectId: string;
  /** The name of the member keys used with this vault. */
  keys: string;
  /** The member subject those keys act as. */
  subject: string;
}

/**
 * A recovery this device asked for: the ephemeral X-Wing key pair the guardians re-seal their shares to,
 * kept until `persona vault recovery complete` (its secret key sealed like a seed).
 */
interface StoredRecovery {
  vaultId: string;
  projectId: string;
  /** X-Wing public key, base64url. */
  publicKey: string;
  sealedSecretKey: string;
  createdAt: string;
}

export interface PendingRecovery {
  requestId: string;
  vaultId: string;
  projectId: string;
  ephemeral: EnvelopeKeyPair;
}

interface VaultKeyringFile {
  format: typeof FORMAT;
  kdf: ScryptParams;
  check: string;
  members: Record<string, StoredMember>;
  vaults: Record<string, VaultRecord>;
  recoveries: Record<string, StoredRecovery>;
}

/** Public facts about stored member keys. */
export interface MemberKeyInfo {
  name: string;
  keyId: string;
  publicKeys: MemberPublicKeys;
  createdAt: string;
}

export interface VaultKeyringOptions {
  /** scrypt cost of a new keyring (default SCRYPT_DEFAULTS); tests make cheap ones. */
  cost?: Pick<ScryptParams, 'N' | 'r' | 'p'>;
}

/**
 * Where the vault keyring is: `--keyring`, else PERSONA_VAULT_KEYRING, else
 * `$XDG_CONFIG_HOME/persona/vault-keyring.json` (XDG_CONFIG_HOME defaults to ~/.config), next to the
 * did:persona keyring and opened with the same passphrase variable.
 */
export function vaultKeyringPath(option: string | undefined): string {
  const chosen = option || process.env.PERSONA_VAULT_KEYRING;
  if (chosen) return resolve(chosen);
  const xdg = process.env.XDG_CONFIG_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.config');
  return join(base, 'persona', 'vault-keyring.json');
}

/**
 * The local store of vault member keys. Each member's 32-byte seed (every vault key derives from it) is
 * sealed with AES-256-GCM under a key derived from the passphrase with scrypt, the same protection as the
 * did:persona keyring (and the same file handling: mode 0600, atomic replace, a lock around saves).
 * Public keys and vault records are in clear, so showing them needs no passphrase; the passphrase is asked
 * only when a seed is sealed or opened. Changes are applied by `save` onto the file as it is then.
 */
export class VaultKeyring {
  readonly #file: VaultKeyringFile;
  /** False until the file exists on disk (a new keyring is written by its first save). */
  #exists: boolean;
  #aead: AeadKey | undefined;
  readonly #added = new Map<string, StoredMember>();
  readonly #vaults = new Map<string, VaultRecord>();
  /** Recoveries added (a record) or finished (null) since opening. */
  readonly #recoveries = new Map<string, StoredRecovery | null>();

  private constructor(
    readonly path: string,
    file: VaultKeyringFile,
    exists: boolean,
  ) {
    this.#file = file;
    this.#exists = exists;
  }

  /** Reads the keyring (an absent file reads as an empty one, created on save); asks for no passphrase. */
  static async open(path: string, options: VaultKeyringOptions = {}): Promise<VaultKeyring> {
    const text = await readKeyringText(path);
    if (text !== undefined) return new VaultKeyring(path, parseFile(path, text), true);
    const kdf = newScryptParams(options.cost ?? SCRYPT_DEFAULTS);
    const file: VaultKeyringFile = {
      format: FORMAT,
      kdf,
      check: '',
      members: {},
      vaults: {},
      recoveries: {},
    };
    return new VaultKeyring(path, file, false);
  }

  members(): MemberKeyInfo[] {
    return Object.entries(this.#file.members)
      .map(([name, stored]) => info(name, stored))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  member(name: string): MemberKeyInfo | undefined {
    // Own properties only: a name such as "constructor" must not find Object.prototype's.
    const stored = Object.hasOwn(this.#file.members, name) ? this.#file.members[name] : undefined;
    return stored && info(name, stored);
  }

  /** The member's public facts; a name the keyring does not hold is an error that lists the ones it does. */
  requireMember(name: string): MemberKeyInfo {
    const found = this.member(name);
    if (found) return found;
    const names = Object.keys(this.#file.members);
    throw usageError(`the vault keyring ${this.path} has no member keys named ${name}`, [
      names.length === 0
        ? 'create some with `persona vault keys new --name <name>`'
        : `it holds: ${names.sort().join(', ')}`,
    ]);
  }

  /** Seals a member's seed under `name` (a new name: keys are never overwritten). */
  async add(name: string, keys: MemberKeys): Promise<MemberKeyInfo> {
    if (Object.hasOwn(this.#file.members, name)) {
      throw usageError(`the vault keyring ${this.path} already has member keys named ${name}`);
    }
    const aead = await this.#unlock();
    const sealed = await aead.encrypt(keys.seed, seedAad(name, keys.keyId));
    const stored: StoredMember = {
      keyId: keys.keyId,
      publicKeys: keys.publicKeys,
      sealedSeed: toBase64Url(sealed),
      createdAt: new Date().toISOString(),
    };
    this.#file.members[name] = stored;
    this.#added.set(name, stored);
    return info(name, stored);
  }

  /** Opens a member's seed (asking for the passphrase if not yet given) and derives its keys. */
  async memberKeys(name: string): Promise<MemberKeys> {
    const { keyId } = this.requireMember(name);
    const stored = this.#file.members[name] as StoredMember;
    const aead = await this.#unlock();
    let seed: Uint8Array;
    try {
      seed = await aead.decrypt(fromBase64Url(stored.sealedSeed), seedAad(name, keyId));
    } catch {
      throw new CliError(`the member keys ${name} in ${this.path} do not decrypt: the file was altered`);
    }
    try {
      const keys = await MemberKeys.fromSeed(seed);
      // The seed is bound to its key id by the AAD; this also catches public keys edited in the file.
      if (keys.keyId !== keyId || memberKeyId(stored.publicKeys) !== keyId) {
        throw new CliError(`the member keys ${name} in ${this.path} do not match their key id`);
      }
      return keys;
    } finally {
      seed.fill(0);
    }
  }

  vault(vaultId: string): VaultRecord | undefined {
    return (
      this.#vaults.get(vaultId) ??
      (Object.hasOwn(this.#file.vaults, vaultId) ? this.#file.vaults[vaultId] : undefined)
    );
  }

  /** Remembers which project and keys a vault is used with, at the next save. */
  setVault(vaultId: string, record: VaultRecord): void {
    this.#vaults.set(vaultId, record);
  }

  /** Keeps the ephemeral key pair of a recovery request until the recovery completes. */
  async addRecovery(recovery: PendingRecovery): Promise<void> {
    const { requestId, vaultId, projectId, ephemeral } = recovery;
    const aead = await this.#unlock();
    const publicKey = toBase64Url(ephemeral.publicKey);
    const sealed = await aead.encrypt(ephemeral.secretKey, recoveryAad(requestId, vaultId, publicKey));
    const stored: StoredRecovery = {
      vaultId,
      projectId,
      publicKey,
      sealedSecretKey: toBase64Url(sealed),
      createdAt: new Date().toISOString(),
    };
    this.#file.recoveries[requestId] = stored;
    this.#recoveries.set(requestId, stored);
  }

  /** The recovery this device requested, with its ephemeral key pair opened. */
  async recovery(requestId: string): Promise<PendingRecovery> {
    const stored = this.#recoveries.has(requestId)
      ? this.#recoveries.get(requestId)
      : Object.hasOwn(this.#file.recoveries, requestId)
        ? this.#file.recoveries[requestId]
        : undefined;
    if (!stored) {
      throw usageError(`the vault keyring ${this.path} has no recovery request ${requestId}`, [
        'complete a recovery with the keyring `persona vault recovery request` used',
      ]);
    }
    const aead = await this.#unlock();
    let secretKey: Uint8Array;
    try {
      secretKey = await aead.decrypt(
        fromBase64Url(stored.sealedSecretKey),
        recoveryAad(requestId, stored.vaultId, stored.publicKey),
      );
    } catch {
      throw new CliError(`the recovery ${requestId} in ${this.path} does not decrypt: the file was altered`);
    }
    const publicKey = fromBase64Url(stored.publicKey);
    return {
      requestId,
      vaultId: stored.vaultId,
      projectId: stored.projectId,
      ephemeral: { suite: 'X-Wing', publicKey, secretKey, keyId: envelopeKeyId('X-Wing', publicKey) },
    };
  }

  /** Forgets a finished recovery's ephemeral key at the next save. */
  removeRecovery(requestId: string): void {
    delete this.#file.recoveries[requestId];
    this.#recoveries.set(requestId, null);
  }

  /** Writes the changes made since opening onto the file as it is now; a new keyring is created. */
  async save(): Promise<void> {
    const changed = this.#added.size > 0 || this.#vaults.size > 0 || this.#recoveries.size > 0;
    if (this.#exists && !changed) return;
    // A new file (even an empty one) is written with its passphrase check.
    if (!this.#exists) await this.#unlock();
    await withKeyringLock(this.path, async () => {
      const text = await readKeyringText(this.path);
      if ((text !== undefined) !== this.#exists) {
        throw new CliError(
          `the vault keyring ${this.path} was created or removed while this command ran`,
          1,
          ['nothing was saved to it'],
        );
      }
      const current =
        text === undefined
          ? { ...this.#file, members: {}, vaults: {}, recoveries: {} }
          : parseFile(this.path, text);
      if (current.kdf.salt !== this.#file.kdf.salt || current.check !== this.#file.check) {
        throw new CliError(`the vault keyring ${this.path} was replaced while this command ran`, 1, [
          'nothing was saved to it',
        ]);
      }
      for (const [name, stored] of this.#added) {
        if (Object.hasOwn(current.members, name)) {
          throw new CliError(`another persona command saved member keys named ${name} meanwhile`, 1, [
            'nothing was saved; choose another --name',
          ]);
        }
        current.members[name] = stored;
      }
      for (const [vaultId, record] of this.#vaults) current.vaults[vaultId] = record;
      for (const [requestId, record] of this.#recoveries) {
        if (record) current.recoveries[requestId] = record;
        else delete current.recoveries[requestId];
      }
      await writeKeyringText(this.path, `${JSON.stringify(current, null, 2)}\n`);
    });
    this.#exists = true;
    this.#added.clear();
    this.#vaults.clear();
    this.#recoveries.clear();
  }

  /** Asks for the passphrase now (before a step that must not happen with a wrong one). */
  async unlock(): Promise<void> {
    await this.#unlock();
  }

  /** The keyring key: derived once per command, from PERSONA_KEYRING_PASSPHRASE or the terminal. */
  async #unlock(): Promise<AeadKey> {
    if (this.#aead) return this.#aead;
    const { kdf } = this.#file;
    if (!this.#exists && this.#file.check === '') {
      const aead = await passphraseKey(await keyringPassphrase(this.path, 'create'), kdf);
      this.#file.check = toBase64Url(
        await aead.encrypt(new TextEncoder().encode(CHECK_TEXT), kdfHeaderAad(FORMAT, kdf)),
      );
      this.#aead = aead;
      return aead;
    }
    const aead = await passphraseKey(await keyringPassphrase(this.path, 'unlock'), kdf);
    try {
      await aead.decrypt(fromBase64Url(this.#file.check), kdfHeaderAad(FORMAT, kdf));
    } catch {
      throw usageError(`wrong passphrase for the vault keyring ${this.path}`, [
        'PERSONA_KEYRING_PASSPHRASE (or what was typed) does not open it; nothing was changed',
      ]);
    }
    this.#aead = aead;
    return aead;
  }
}

function info(name: string, stored: StoredMember): MemberKeyInfo {
  return { name, keyId: stored.keyId, publicKeys: stored.publicKeys, createdAt: stored.createdAt };
}

/** A sealed seed is bound to its name and key id: moving it to another entry fails to decrypt. */
function seedAad(name: string, keyId: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([FORMAT, 'member seed', name, keyId]));
}

/** A recovery's ephemeral secret key is bound to its request, vault and public key. */
function recoveryAad(requestId: string, vaultId: string, publicKey: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([FORMAT, 'recovery key', requestId, vaultId, publicKey]));
}

function parseFile(path: string, text: string): VaultKeyringFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const file = value as Partial<VaultKeyringFile> | undefined;
  const valid =
    isRecord(file) &&
    file.format === FORMAT &&
    typeof file.check === 'string' &&
    isRecord(file.kdf) &&
    isUsableScryptParams(file.kdf as ScryptParams) &&
    isRecord(file.members) &&
    Object.values(file.members).every(isStoredMember) &&
    isRecord(file.vaults) &&
    Object.values(file.vaults).every(
      (record) =>
        isRecord(record) &&
        typeof record.projectId === 'string' &&
        typeof record.keys === 'string' &&
        typeof record.subject === 'string',
    ) &&
    isRecord(file.recoveries) &&
    Object.values(file.recoveries).every(
      (record) =>
        isRecord(record) &&
        ['vaultId', 'projectId', 'publicKey', 'sealedSecretKey', 'createdAt'].every(
          (field) => typeof record[field] === 'string',
        ),
    );
  if (!valid) throw usageError(`${path} is not a ${FORMAT} keyring`);
  return file as VaultKeyringFile;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStoredMember(value: unknown): value is StoredMember {
  if (!isRecord(value)) return false;
  try {
    checkMemberPublicKeys(value.publicKeys);
  } catch {
    return false;
  }
  return (
    typeof value.keyId === 'string' &&
    typeof value.sealedSeed === 'string' &&
    typeof value.createdAt === 'string'
  );
}
