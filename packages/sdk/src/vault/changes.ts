import type {
  ManifestItem,
  ManifestMember,
  SignedManifest,
  UnsignedManifest,
  VaultRole,
} from '@personachain/vaults';
import { VaultFormatError } from '@personachain/vaults';

/** What one commit changes; the manifest it produces is what the server checks the commit against. */
export interface ManifestChanges {
  members?: {
    add?: ManifestMember[];
    remove?: string[];
    change?: { subject: string; role: VaultRole }[];
  };
  writes?: { itemId: string; version: number; contentHash: string; keyIds: string[] }[];
  deletes?: string[];
  /** Data keys of current item versions sealed to one more member key. */
  reseals?: { itemId: string; keyId: string }[];
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The successor of `current` with `changes` applied, unsigned. Members change first (a removed member's
 * key ids leave every item), then writes replace or add items, deletes drop them and reseals add key ids
 * to current versions. Item objects that do not change are shared with `current`.
 */
export function nextManifest(
  head: { manifest: SignedManifest; hash: string },
  changes: ManifestChanges,
  signer: { subject: string; keyId: string },
  issuedAt: string = new Date().toISOString(),
): UnsignedManifest {
  const current = head.manifest;
  const members = applyMemberChanges(current.members, changes.members);
  const removedKeyIds = new Set(
    current.members
      .filter((member) => !members.some((kept) => kept.keyId === member.keyId))
      .map((member) => member.keyId),
  );
  const items = new Map<string, ManifestItem>();
  for (const item of current.items) {
    items.set(
      item.id,
      removedKeyIds.size === 0 || !item.keyIds.some((keyId) => removedKeyIds.has(keyId))
        ? item
        : { ...item, keyIds: item.keyIds.filter((keyId) => !removedKeyIds.has(keyId)) },
    );
  }
  for (const write of changes.writes ?? []) {
    items.set(write.itemId, {
      id: write.itemId,
      version: write.version,
      contentHash: write.contentHash,
      keyIds: [...write.keyIds].sort(byString),
    });
  }
  for (const itemId of changes.deletes ?? []) {
    if (!items.delete(itemId)) throw new VaultFormatError(`${itemId} is not an item of the vault`);
  }
  for (const reseal of changes.reseals ?? []) {
    const item = items.get(reseal.itemId);
    if (!item) throw new VaultFormatError(`${reseal.itemId} is not an item of the vault`);
    if (!item.keyIds.includes(reseal.keyId)) {
      items.set(reseal.itemId, { ...item, keyIds: [...item.keyIds, reseal.keyId].sort(byString) });
    }
  }
  const changedItems =
    (changes.writes?.length ?? 0) + (changes.deletes?.length ?? 0) + (changes.reseals?.length ?? 0) > 0 ||
    removedKeyIds.size > 0;
  return {
    v: 1,
    vaultId: current.vaultId,
    sequence: current.sequence + 1,
    previous: head.hash,
    owner: current.owner,
    members,
    items: changedItems ? [...items.values()].sort((a, b) => byString(a.id, b.id)) : current.items,
    signer,
    issuedAt,
  };
}

function applyMemberChanges(
  current: ManifestMember[],
  changes: ManifestChanges['members'],
): ManifestMember[] {
  if (!changes) return current;
  const members = new Map(current.map((member) => [member.subject, member]));
  for (const subject of changes.remove ?? []) {
    if (!members.delete(subject)) throw new VaultFormatError(`${subject} is not a member of the vault`);
  }
  for (const member of changes.add ?? []) {
    if (members.has(member.subject)) {
      throw new VaultFormatError(`${member.subject} is already a member of the vault`);
    }
    members.set(member.subject, member);
  }
  for (const { subject, role } of changes.change ?? []) {
    const member = members.get(subject);
    if (!member) throw new VaultFormatError(`${subject} is not a member of the vault`);
    members.set(subject, { ...member, role });
  }
  return [...members.values()].sort((a, b) => byString(a.subject, b.subject));
}
