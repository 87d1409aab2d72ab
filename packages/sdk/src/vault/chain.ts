import {
  checkManifestShape,
  checkMemberPublicKeys,
  type ManifestItem,
  type ManifestMember,
  type MemberPublicKeys,
  manifestHash,
  memberKeyId,
  type Recipient,
  type SignedManifest,
  VaultFormatError,
  VaultIntegrityError,
  verifyManifestTransition,
} from '@personachain/vaults';
import type { TrustedVaultState, VaultStateStore } from './state.js';

/** The manifest an answer was served under, as every member route reports it. */
export interface ManifestHead {
  sequence: number;
  hash: string;
}

export interface VerifiedManifest {
  manifest: SignedManifest;
  hash: string;
}

/** One page of `GET …/manifests?after=`: manifests oldest first, and the public keys they name. */
export interface ManifestPage {
  data: unknown[];
  keys: Record<string, unknown>;
}

export type ManifestSource = (after: number) => Promise<ManifestPage>;

/**
 * Manifests verified during the last few commits stay at hand, so that an answer served under a manifest
 * that was current when its request left (but has been superseded since) is still checked, not refetched.
 */
const RECENT_MANIFESTS = 256;

/** The item `id` of a manifest (items are sorted by id), or undefined. */
export function findItem(manifest: SignedManifest, id: string): ManifestItem | undefined {
  const { items } = manifest;
  let low = 0;
  let high = items.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const item = items[middle] as ManifestItem;
    if (item.id === id) return item;
    if (item.id < id) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}

export function findMember(manifest: SignedManifest, subject: string): ManifestMember | undefined {
  return manifest.members.find((member) => member.subject === subject);
}

/**
 * The chain of a vault's manifests as far as this client has verified it. It only moves forward: to a
 * manifest the client itself signed (`accept`) or to manifests fetched from the server, each checked as
 * the successor of the last (`sync`). Every other answer is judged against it (`at`).
 */
export class TrustedChain {
  private current: VerifiedManifest;
  private readonly recent = new Map<number, VerifiedManifest>();
  private syncing: Promise<void> | null = null;
  private recipientsOf: { manifest: SignedManifest; recipients: Recipient[] } | null = null;

  constructor(
    private readonly state: TrustedVaultState,
    private readonly source: ManifestSource,
    private readonly store: VaultStateStore,
  ) {
    this.current = { manifest: state.manifest, hash: manifestHash(state.manifest) };
    this.recent.set(state.manifest.sequence, this.current);
  }

  /**
   * Verifies a vault's whole chain from its genesis manifest, for a client that has no state for it yet.
   * The owner key is pinned to `ownerKeyId` when given (learned out of band), else to the genesis
   * manifest's (trust on first use).
   */
  static async fromGenesis(input: {
    vaultId: string;
    ownerKeyId?: string;
    source: ManifestSource;
    store: VaultStateStore;
  }): Promise<TrustedChain> {
    const page = await input.source(-1);
    const genesis = parseManifest(page.data[0]);
    const keys = pageKeys(page);
    if (genesis.vaultId !== input.vaultId) {
      throw new VaultIntegrityError('broken-chain', 'the server sent the genesis manifest of another vault');
    }
    await verifyManifestTransition(null, genesis, (keyId) => keys.get(keyId));
    const ownerKeyId = genesis.signer.keyId;
    if (input.ownerKeyId !== undefined && input.ownerKeyId !== ownerKeyId) {
      throw new VaultIntegrityError(
        'owner-changed',
        `the vault's genesis manifest is signed by owner key ${ownerKeyId}, not the expected ${input.ownerKeyId}`,
      );
    }
    const state: TrustedVaultState = {
      v: 1,
      vaultId: input.vaultId,
      ownerKeyId,
      manifest: genesis,
      keys: { [ownerKeyId]: keys.get(ownerKeyId) as MemberPublicKeys },
      versions: {},
    };
    const chain = new TrustedChain(state, input.source, input.store);
    await input.store.save(state);
    await chain.extendWith(page.data.slice(1), keys);
    await chain.sync();
    return chain;
  }

  get head(): VerifiedManifest {
    return this.current;
  }

  get vaultState(): TrustedVaultState {
    return this.state;
  }

  /** Every member of the current manifest, as recipients of an item version's data key. */
  recipients(): Recipient[] {
    const { manifest } = this.current;
    if (this.recipientsOf?.manifest !== manifest) {
      const recipients = manifest.members.map((member) => ({
        keyId: member.keyId,
        keys: this.state.keys[member.keyId] as MemberPublicKeys,
      }));
      this.recipientsOf = { manifest, recipients };
    }
    return this.recipientsOf.recipients;
  }

  /** The content hash a verified manifest listed for this item version. */
  knownHash(itemId: string, version: number): string | undefined {
    return this.state.versions[itemId]?.[version];
  }

  /** The versions of an item seen in verified manifests, oldest first. */
  knownVersions(itemId: string): number[] {
    return Object.keys(this.state.versions[itemId] ?? {})
      .map(Number)
      .sort((a, b) => a - b);
  }

  /**
   * The verified manifest an answer was served under. `floor` is the sequence this client had verified
   * when it sent the request: an answer under an older manifest is a rollback; one under a newer
   * manifest makes the client fetch and verify the chain up to it. Undefined when the manifest was
   * verified but has left the recent window (the caller asks again).
   */
  async at(answer: ManifestHead, floor: number): Promise<VerifiedManifest | undefined> {
    if (answer.sequence < floor) {
      throw new VaultIntegrityError(
        'rollback',
        `the server answered under manifest ${answer.sequence}; manifest ${floor} was verified before`,
      );
    }
    if (answer.sequence > this.current.manifest.sequence) await this.sync(answer);
    const found = this.recent.get(answer.sequence);
    if (found && found.hash !== answer.hash) {
      throw new VaultIntegrityError(
        'tampered',
        `the server shows another manifest ${answer.sequence} than the one verified (a forked chain)`,
      );
    }
    return found;
  }

  /**
   * Fetches and verifies the manifests after the current one: up to `target` (which must then match),
   * or, without a target, up to the server's latest. Concurrent calls share one fetch.
   */
  async sync(target?: ManifestHead): Promise<void> {
    for (;;) {
      if (target && this.current.manifest.sequence >= target.sequence) return;
      const running = this.syncing;
      if (!running) break;
      await running.catch(() => {});
      if (!target) return;
    }
    const run = this.pull(target);
    this.syncing = run;
    try {
      await run;
    } finally {
      if (this.syncing === run) this.syncing = null;
    }
  }

  /** Moves to a manifest this client signed and the server accepted; `keys` adds new members' keys. */
  async accept(manifest: SignedManifest, hash: string, keys: Record<string, MemberPublicKeys> = {}) {
    const previous = this.current;
    if (manifest.sequence <= previous.manifest.sequence) {
      // A sync already fetched it (an answer under it arrived before the commit's own answer).
      const seen = this.recent.get(manifest.sequence);
      if (seen && seen.hash !== hash) {
        throw new VaultIntegrityError(
          'tampered',
          `the server accepted manifest ${manifest.sequence} but serves another one under that sequence`,
        );
      }
      return;
    }
    if (manifest.sequence !== previous.manifest.sequence + 1 || manifest.previous !== previous.hash) {
      throw new VaultIntegrityError(
        'broken-chain',
        `manifest ${manifest.sequence} does not follow the verified manifest ${previous.manifest.sequence}`,
      );
    }
    await this.install({ manifest, hash }, (keyId) => keys[keyId] ?? this.state.keys[keyId]);
  }

  private async pull(target: ManifestHead | undefined): Promise<void> {
    for (;;) {
      const after = this.current.manifest.sequence;
      if (target && after >= target.sequence) break;
      const page = await this.source(after);
      await this.extendWith(page.data, pageKeys(page));
      // An empty page is the end of the chain; so is one that only repeats known manifests.
      if (this.current.manifest.sequence === after) break;
    }
    if (target && this.current.manifest.sequence < target.sequence) {
      throw new VaultIntegrityError(
        'broken-chain',
        `the server answered under manifest ${target.sequence} but its chain ends at ${this.current.manifest.sequence}`,
      );
    }
  }

  private async extendWith(raw: unknown[], keys: Map<string, MemberPublicKeys>): Promise<void> {
    const lookup = (keyId: string) => keys.get(keyId) ?? this.state.keys[keyId];
    for (const item of raw) {
      const next = parseManifest(item);
      const hash = manifestHash(next);
      const previous = this.current;
      if (next.sequence <= previous.manifest.sequence) {
        this.checkSeen(next.sequence, hash);
        continue;
      }
      await verifyManifestTransition(previous.manifest, next, lookup, previous.hash);
      if (this.current !== previous) {
        // The client's own commit moved the chain while the signature was being checked.
        this.checkSeen(next.sequence, hash);
        continue;
      }
      await this.install({ manifest: next, hash }, lookup);
    }
  }

  private checkSeen(sequence: number, hash: string): void {
    const seen = this.recent.get(sequence);
    if (seen && seen.hash !== hash) {
      throw new VaultIntegrityError(
        'tampered',
        `the server shows another manifest ${sequence} than the one verified (a forked chain)`,
      );
    }
  }

  private async install(
    verified: VerifiedManifest,
    lookup: (keyId: string) => MemberPublicKeys | undefined,
  ): Promise<void> {
    const { manifest } = verified;
    const owner = findMember(manifest, manifest.owner);
    if (owner?.keyId !== this.state.ownerKeyId) {
      throw new VaultIntegrityError(
        'owner-changed',
        `manifest ${manifest.sequence} gives the owner key ${owner?.keyId}, not the pinned ${this.state.ownerKeyId}`,
      );
    }
    const keys: Record<string, MemberPublicKeys> = {};
    for (const member of manifest.members) {
      const found = lookup(member.keyId);
      if (!found || memberKeyId(found) !== member.keyId) {
        throw new VaultIntegrityError('unknown-key', `no public keys that hash to ${member.keyId}`);
      }
      keys[member.keyId] = found;
    }
    rememberVersions(this.state.versions, this.state.manifest.items, manifest.items);
    this.state.manifest = manifest;
    this.state.keys = keys;
    this.current = verified;
    this.recent.set(manifest.sequence, verified);
    if (this.recent.size > RECENT_MANIFESTS) {
      this.recent.delete(manifest.sequence - RECENT_MANIFESTS);
    }
    await this.store.save(this.state);
  }
}

/**
 * Records the versions `next` lists and forgets the items it no longer lists (a deleted item's versions
 * are destroyed with it). Both lists are sorted by id, so one walk over them finds every change.
 */
function rememberVersions(
  versions: TrustedVaultState['versions'],
  previous: ManifestItem[],
  next: ManifestItem[],
): void {
  let p = 0;
  for (const item of next) {
    while (p < previous.length && (previous[p] as ManifestItem).id < item.id) {
      delete versions[(previous[p] as ManifestItem).id];
      p++;
    }
    const before = previous[p];
    if (before?.id === item.id) p++;
    if (before === item) continue;
    const known = versions[item.id] ?? {};
    known[item.version] = item.contentHash;
    versions[item.id] = known;
  }
  for (; p < previous.length; p++) delete versions[(previous[p] as ManifestItem).id];
}

/** A manifest from the server; a malformed one is the server's fault, so it counts as tampering. */
function parseManifest(value: unknown): SignedManifest {
  try {
    return checkManifestShape(value);
  } catch (error) {
    if (!(error instanceof VaultFormatError)) throw error;
    throw new VaultIntegrityError(
      'tampered',
      `the server sent a malformed manifest (${error.path ?? '/'}: ${error.message})`,
    );
  }
}

/** A page's public keys, keeping only those that hash to the key id they are listed under. */
function pageKeys(page: ManifestPage): Map<string, MemberPublicKeys> {
  const keys = new Map<string, MemberPublicKeys>();
  for (const [keyId, value] of Object.entries(page.keys ?? {})) {
    try {
      const checked = checkMemberPublicKeys(value);
      if (memberKeyId(checked) === keyId) keys.set(keyId, checked);
    } catch (error) {
      if (!(error instanceof VaultFormatError)) throw error;
    }
  }
  return keys;
}
