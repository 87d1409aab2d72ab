import {
  checkManifestShape,
  checkMemberPublicKeys,
  isVaultId,
  type MemberPublicKeys,
  memberKeyId,
  type SignedManifest,
  VaultFormatError,
} from '@personachain/vaults';

/**
 * What a client trusts about one vault: the last manifest it verified, the owner key it pinned, the
 * members' public keys and the content hash of every item version it has seen in a verified manifest.
 * A server that later shows an older manifest, another manifest for the same sequence, or another
 * ciphertext for a known version is caught against this.
 */
export interface TrustedVaultState {
  v: 1;
  vaultId: string;
  /** The owner's key id, pinned at create or open: a manifest giving the owner another key is refused. */
  ownerKeyId: string;
  /** The last verified manifest. */
  manifest: SignedManifest;
  /** The public keys of the manifest's members, by key id (each hashes to its id). */
  keys: Record<string, MemberPublicKeys>;
  /** itemId → version → content hash, for every item version a verified manifest listed. */
  versions: Record<string, Record<string, string>>;
  /** The ledger's signed-note verifier key, pinned at the first access-log verification. */
  ledgerKey?: string;
}

/**
 * Where a client keeps its trusted state between calls and runs. `save` is called after every change;
 * the client keeps using (and may change) the object afterwards, so a store that persists elsewhere
 * serializes it during the call.
 */
export interface VaultStateStore {
  load(vaultId: string): Promise<TrustedVaultState | undefined>;
  save(state: TrustedVaultState): Promise<void>;
}

/** Trusted state in memory, for one process: the default. */
export class MemoryVaultStateStore implements VaultStateStore {
  private readonly states = new Map<string, TrustedVaultState>();

  async load(vaultId: string): Promise<TrustedVaultState | undefined> {
    return this.states.get(vaultId);
  }

  async save(state: TrustedVaultState): Promise<void> {
    this.states.set(state.vaultId, state);
  }
}

interface NodeFs {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, data: string, options: { mode: number }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
}

/**
 * Trusted state in a directory, one JSON file per vault (`<vaultId>.json`), for the CLI and other
 * long-lived Node clients. Writes go to a temporary file renamed over the old one, one at a time per
 * vault, so a crash leaves the previous state or the new one, never half of either.
 */
export class FileVaultStateStore implements VaultStateStore {
  private readonly fs: NodeFs;
  private readonly writes = new Map<string, Promise<void>>();

  constructor(private readonly directory: string) {
    // Loaded lazily through getBuiltinModule so that the SDK still loads in browsers.
    const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const fs = process?.getBuiltinModule?.('node:fs/promises') as NodeFs | undefined;
    if (!fs) throw new Error('FileVaultStateStore needs Node.js (node:fs/promises)');
    this.fs = fs;
  }

  async load(vaultId: string): Promise<TrustedVaultState | undefined> {
    let text: string;
    try {
      text = await this.fs.readFile(this.path(vaultId), 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return undefined;
      throw error;
    }
    return parseTrustedState(JSON.parse(text), vaultId);
  }

  save(state: TrustedVaultState): Promise<void> {
    const text = `${JSON.stringify(state)}\n`;
    const previous = this.writes.get(state.vaultId) ?? Promise.resolve();
    const write = previous.then(async () => {
      await this.fs.mkdir(this.directory, { recursive: true, mode: 0o700 });
      const temporary = `${this.path(state.vaultId)}.${Math.random().toString(36).slice(2)}.tmp`;
      await this.fs.writeFile(temporary, text, { mode: 0o600 });
      await this.fs.rename(temporary, this.path(state.vaultId));
    });
    // Later saves wait for this one, whatever its outcome; the caller sees its own failure.
    this.writes.set(
      state.vaultId,
      write.catch(() => {}),
    );
    return write;
  }

  private path(vaultId: string): string {
    if (!isVaultId(vaultId)) throw new VaultFormatError('not a vault id', '/vaultId');
    return `${this.directory.replace(/\/+$/, '')}/${vaultId}.json`;
  }
}

/** Checks a stored state's shape (a corrupted or foreign file must not become trust). */
export function parseTrustedState(value: unknown, vaultId: string): TrustedVaultState {
  const state = value as Partial<TrustedVaultState> | null;
  if (
    typeof state !== 'object' ||
    state === null ||
    state.v !== 1 ||
    state.vaultId !== vaultId ||
    typeof state.ownerKeyId !== 'string' ||
    typeof state.keys !== 'object' ||
    state.keys === null ||
    typeof state.versions !== 'object' ||
    state.versions === null ||
    (state.ledgerKey !== undefined && typeof state.ledgerKey !== 'string')
  ) {
    throw new VaultFormatError(`the stored state of ${vaultId} is not a trusted vault state`);
  }
  const manifest = checkManifestShape(state.manifest);
  if (manifest.vaultId !== vaultId) {
    throw new VaultFormatError(`the stored state of ${vaultId} holds another vault's manifest`);
  }
  // Items are sealed to these keys: each must be the one its member's key id was computed from.
  const keys: Record<string, MemberPublicKeys> = {};
  for (const member of manifest.members) {
    const found = checkMemberPublicKeys(state.keys[member.keyId]);
    if (memberKeyId(found) !== member.keyId) {
      throw new VaultFormatError(`the stored keys of ${member.subject} do not match its key id`);
    }
    keys[member.keyId] = found;
  }
  return { ...(state as TrustedVaultState), manifest, keys };
}
