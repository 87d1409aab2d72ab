import { CryptoError } from '@personachain/crypto';
import {
  b64u,
  contentHash,
  isItemId,
  type MemberKeys,
  openItem,
  type SignedManifest,
  VaultFormatError,
  VaultIntegrityError,
} from '@personachain/vaults';
import { findItem, type ManifestHead, type TrustedChain, type VerifiedManifest } from './chain.js';
import { isProblem } from './errors.js';
import type { ItemSummary, ItemVersionAnswer, MemberAuth, VaultRoutes, VersionSummary } from './routes.js';

/** An item version whose ciphertext matches what a verified manifest committed to. */
export interface CheckedVersion {
  itemId: string;
  version: number;
  ciphertext: Uint8Array;
  /** This member's sealed data key (not yet opened). */
  sealedKey: Uint8Array;
  answer: ItemVersionAnswer;
}

/** How often a read is repeated when the vault moved too far during it to judge the answer. */
const MAX_READ_ATTEMPTS = 3;

/**
 * Reads item versions and listings and checks each answer against the trusted manifest chain: the
 * manifest it was served under is the verified one (no rollback, no fork), and the bytes, versions and
 * item sets are exactly what that manifest lists.
 */
export class ItemReader {
  constructor(
    private readonly vaultId: string,
    private readonly routes: VaultRoutes,
    private readonly chain: TrustedChain,
    private readonly keys: MemberKeys,
    private readonly asMember: <T>(call: (auth: MemberAuth) => Promise<T>) => Promise<T>,
  ) {}

  /** The current version of an item (or `version`), its ciphertext checked against the verified chain. */
  async fetch(itemId: string, version?: number): Promise<CheckedVersion> {
    if (!isItemId(itemId)) throw new VaultFormatError('not an item id', '/itemId');
    if (version !== undefined && !(Number.isSafeInteger(version) && version >= 1)) {
      throw new VaultFormatError('a version is an integer ≥ 1', '/version');
    }
    for (let attempt = 1; ; attempt++) {
      const floor = this.chain.head.manifest.sequence;
      let answer: ItemVersionAnswer;
      try {
        answer = await this.asMember((auth) => this.routes.item(auth, itemId, version));
      } catch (error) {
        if (isProblem(error, 'not-found')) await this.checkGone(itemId, version);
        throw error;
      }
      const verified = await this.chain.at(answer.manifest, floor);
      if (verified) return this.check(answer, itemId, version, verified);
      if (attempt >= MAX_READ_ATTEMPTS) throw movedTooFast();
    }
  }

  /** Opens a checked version with this member's key. */
  async decrypt(checked: CheckedVersion): Promise<Uint8Array> {
    try {
      return await openItem({
        vaultId: this.vaultId,
        itemId: checked.itemId,
        version: checked.version,
        ciphertext: checked.ciphertext,
        sealedKey: checked.sealedKey,
        member: this.keys,
      });
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
      throw new VaultIntegrityError(
        'tampered',
        `version ${checked.version} of ${checked.itemId} does not open with this member's key (${error.message})`,
      );
    }
  }

  /** Every live item, checked against the verified manifest: none missing, none extra, none altered. */
  async list(): Promise<ItemSummary[]> {
    for (let attempt = 1; attempt <= MAX_READ_ATTEMPTS; attempt++) {
      const floor = this.chain.head.manifest.sequence;
      const entries: ItemSummary[] = [];
      let head: ManifestHead | undefined;
      let moved = false;
      let cursor: string | undefined;
      do {
        const page = await this.asMember((auth) => this.routes.items(auth, cursor));
        await this.chain.at(page.manifest, floor);
        if (head && (head.sequence !== page.manifest.sequence || head.hash !== page.manifest.hash))
          moved = true;
        head ??= page.manifest;
        entries.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      // A commit between two pages: the pages describe different states, so list again.
      if (moved || !head) continue;
      const verified = await this.chain.at(head, floor);
      if (!verified) continue;
      checkListing(entries, verified.manifest);
      return entries;
    }
    throw movedTooFast();
  }

  /** An item's versions, each checked against the content hash a verified manifest listed for it. */
  async versions(itemId: string): Promise<VersionSummary[]> {
    if (!isItemId(itemId)) throw new VaultFormatError('not an item id', '/itemId');
    for (let attempt = 1; attempt <= MAX_READ_ATTEMPTS; attempt++) {
      // Versions the manifest listed before the request left must all be there.
      const expectedUpTo = findItem(this.chain.head.manifest, itemId)?.version ?? 0;
      const entries: VersionSummary[] = [];
      let cursor: string | undefined;
      do {
        const page = await this.asMember((auth) => this.routes.versions(auth, itemId, cursor));
        entries.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      if (entries.some((entry) => this.chain.knownHash(itemId, entry.version) === undefined)) {
        // Versions written since this client last verified the chain: catch up, then list again.
        if (attempt === 1) {
          await this.chain.sync();
          continue;
        }
        throw new VaultIntegrityError(
          'tampered',
          `the server lists versions of ${itemId} that no verified manifest listed`,
        );
      }
      const listed = new Map(entries.map((entry) => [entry.version, entry]));
      for (const version of this.chain.knownVersions(itemId)) {
        const entry = listed.get(version);
        if (!entry) {
          if (version > expectedUpTo) continue;
          throw new VaultIntegrityError(
            'dropped-item',
            `the server no longer lists version ${version} of ${itemId}`,
          );
        }
        if (entry.contentHash !== this.chain.knownHash(itemId, version)) {
          throw new VaultIntegrityError(
            'tampered',
            `version ${version} of ${itemId} has another content hash`,
          );
        }
      }
      return entries;
    }
    throw movedTooFast();
  }

  /** A 404 for something a verified manifest lists is a dropped item, unless it was deleted since. */
  private async checkGone(itemId: string, version: number | undefined): Promise<void> {
    const listed = () =>
      version === undefined
        ? findItem(this.chain.head.manifest, itemId) !== undefined
        : this.chain.knownHash(itemId, version) !== undefined;
    if (!listed()) return;
    await this.chain.sync();
    if (listed()) {
      throw new VaultIntegrityError(
        'dropped-item',
        `the server answers not-found for ${itemId}${version === undefined ? '' : ` version ${version}`}, which manifest ${this.chain.head.manifest.sequence} lists`,
      );
    }
  }

  private check(
    answer: ItemVersionAnswer,
    itemId: string,
    version: number | undefined,
    verified: VerifiedManifest,
  ): CheckedVersion {
    const { sequence } = verified.manifest;
    if (answer.itemId !== itemId) {
      throw new VaultIntegrityError('tampered', `asked for ${itemId}, the server answered ${answer.itemId}`);
    }
    let expected: string | undefined;
    if (version === undefined) {
      const item = findItem(verified.manifest, itemId);
      if (!item) throw new VaultIntegrityError('tampered', `manifest ${sequence} lists no item ${itemId}`);
      if (answer.version !== item.version) {
        throw new VaultIntegrityError(
          'tampered',
          `the server served version ${answer.version} of ${itemId}; manifest ${sequence} lists version ${item.version}`,
        );
      }
      if (!item.keyIds.includes(this.keys.keyId)) {
        throw new VaultIntegrityError(
          'tampered',
          `manifest ${sequence} does not seal ${itemId} to this member, yet the server served a key`,
        );
      }
      expected = item.contentHash;
    } else {
      if (answer.version !== version) {
        throw new VaultIntegrityError(
          'tampered',
          `asked for version ${version}, the server answered ${answer.version}`,
        );
      }
      expected = this.chain.knownHash(itemId, version);
      if (expected === undefined) {
        throw new VaultIntegrityError(
          'tampered',
          `no verified manifest lists version ${version} of ${itemId}`,
        );
      }
    }
    let ciphertext: Uint8Array;
    let sealedKey: Uint8Array;
    try {
      ciphertext = b64u.decode(answer.ciphertext);
      sealedKey = b64u.decode(answer.sealedKey);
    } catch {
      throw new VaultIntegrityError('tampered', `the server's answer for ${itemId} is not base64url`);
    }
    if (contentHash(ciphertext) !== expected) {
      throw new VaultIntegrityError(
        'tampered',
        `the ciphertext of ${itemId} version ${answer.version} is not the one the verified manifest lists`,
      );
    }
    return { itemId, version: answer.version, ciphertext, sealedKey, answer };
  }
}

function checkListing(entries: ItemSummary[], manifest: SignedManifest): void {
  const listed = new Map<string, ItemSummary>();
  for (const entry of entries) {
    if (listed.has(entry.itemId)) {
      throw new VaultIntegrityError('tampered', `the server lists ${entry.itemId} twice`);
    }
    listed.set(entry.itemId, entry);
  }
  for (const item of manifest.items) {
    const entry = listed.get(item.id);
    if (!entry) {
      throw new VaultIntegrityError(
        'dropped-item',
        `the server's listing leaves out ${item.id}, which manifest ${manifest.sequence} lists`,
      );
    }
    if (entry.version !== item.version || entry.contentHash !== item.contentHash) {
      throw new VaultIntegrityError(
        'tampered',
        `the server lists ${item.id} at version ${entry.version}; manifest ${manifest.sequence} lists version ${item.version}`,
      );
    }
    listed.delete(item.id);
  }
  const extra = listed.keys().next();
  if (!extra.done) {
    throw new VaultIntegrityError(
      'tampered',
      `the server lists ${extra.value}, which manifest ${manifest.sequence} does not list`,
    );
  }
}

function movedTooFast(): Error {
  return new Error('the vault changed faster than its answers could be checked; try again');
}
