import { CryptoError } from '@personachain/crypto';
import {
  b64u,
  checkMemberPublicKeys,
  type MemberKeys,
  type MemberPublicKeys,
  memberKeyId,
  type Recipient,
  resealItemKey,
  type SealedItemVersion,
  sealItem,
  VaultFormatError,
  VaultIntegrityError,
  type VaultRole,
} from '@personachain/vaults';
import { findItem, findMember, type VerifiedManifest } from './chain.js';
import { type CommitJob, type PreparedCommit, StaleHead } from './committer.js';
import type { ItemReader } from './reader.js';
import type { CommitAnswer } from './routes.js';

/** Items read at once while preparing a member change (a reseal or a re-encryption reads each item). */
const READ_CONCURRENCY = 8;

/** What the client needs to prepare commits. */
export interface JobContext {
  vaultId: string;
  keys: MemberKeys;
  reader: ItemReader;
  /** The current members as recipients of a new version. */
  recipients(): Recipient[];
}

export interface PlainWrite {
  itemId: string;
  plaintext: Uint8Array;
}

export interface WrittenItem {
  itemId: string;
  version: number;
}

/** Encrypts each write as the item's next version, sealed to every member; one commit. */
export function writeJob(
  context: JobContext,
  writes: PlainWrite[],
): CommitJob<{ answer: CommitAnswer; items: WrittenItem[] }> {
  let written: WrittenItem[] = [];
  return {
    writes: { itemIds: writes.map((write) => write.itemId) },
    async prepare(head) {
      const recipients = context.recipients();
      const sealed = await Promise.all(
        writes.map((write) =>
          sealItem({
            vaultId: context.vaultId,
            itemId: write.itemId,
            version: (findItem(head.manifest, write.itemId)?.version ?? 0) + 1,
            plaintext: write.plaintext,
            recipients,
          }),
        ),
      );
      written = sealed.map(({ itemId, version }) => ({ itemId, version }));
      return writesCommit(sealed);
    },
    finish: (answer) => ({ answer, items: written }),
  };
}

export function deleteJob(itemIds: string[]): CommitJob<CommitAnswer> {
  return {
    async prepare(head) {
      for (const itemId of itemIds) {
        if (!findItem(head.manifest, itemId))
          throw new VaultFormatError(`${itemId} is not an item of the vault`);
      }
      return { changes: { deletes: itemIds }, body: { deletes: itemIds } };
    },
    finish: (answer) => answer,
  };
}

/**
 * Adds a member and, in the same commit, seals the data key of every current item version to it
 * (opened with this member's own sealed key), so the new member reads existing items at once.
 */
export function addMemberJob(
  context: JobContext,
  member: { subject: string; role: VaultRole; publicKeys: MemberPublicKeys },
): CommitJob<CommitAnswer> {
  const publicKeys = checkMemberPublicKeys(member.publicKeys);
  const keyId = memberKeyId(publicKeys);
  return {
    async prepare(head) {
      if (findMember(head.manifest, member.subject)) {
        throw new VaultFormatError(`${member.subject} is already a member of the vault`);
      }
      const reseals = await mapLimit(head.manifest.items, READ_CONCURRENCY, async (item) => {
        const checked = await context.reader.fetch(item.id);
        if (checked.version !== item.version) throw new StaleHead(`${item.id} has a newer version`);
        let sealedKey: Uint8Array;
        try {
          sealedKey = await resealItemKey({
            vaultId: context.vaultId,
            itemId: item.id,
            version: item.version,
            sealedKey: checked.sealedKey,
            member: context.keys,
            recipient: { keyId, keys: publicKeys },
          });
        } catch (error) {
          if (!(error instanceof CryptoError)) throw error;
          throw new VaultIntegrityError(
            'tampered',
            `the data key of ${item.id} version ${item.version} does not open with this member's key`,
          );
        }
        return { itemId: item.id, version: item.version, keyId, sealedKey: b64u.encode(sealedKey) };
      });
      const added = { subject: member.subject, role: member.role };
      return {
        changes: {
          members: { add: [{ ...added, keyId }] },
          reseals: reseals.map(({ itemId }) => ({ itemId, keyId })),
        },
        body: {
          members: { add: [{ ...added, publicKeys }] },
          ...(reseals.length > 0 ? { reseals } : {}),
        },
        keys: { [keyId]: publicKeys },
      };
    },
    finish: (answer) => answer,
  };
}

/** Removes a member: its key ids leave every item and the server destroys its sealed keys. */
export function removeMemberJob(subject: string): CommitJob<CommitAnswer> {
  return {
    async prepare(head) {
      if (subject === head.manifest.owner) throw new VaultFormatError('the vault owner cannot be removed');
      if (!findMember(head.manifest, subject))
        throw new VaultFormatError(`${subject} is not a member of the vault`);
      return { changes: { members: { remove: [subject] } }, body: { members: { remove: [subject] } } };
    },
    finish: (answer) => answer,
  };
}

export function changeRoleJob(subject: string, role: VaultRole): CommitJob<CommitAnswer> {
  return {
    async prepare(head) {
      if (subject === head.manifest.owner) throw new VaultFormatError('the vault owner stays an admin');
      if (!findMember(head.manifest, subject))
        throw new VaultFormatError(`${subject} is not a member of the vault`);
      return {
        changes: { members: { change: [{ subject, role }] } },
        body: { members: { change: [{ subject, role }] } },
      };
    },
    finish: (answer) => answer,
  };
}

/**
 * Re-encrypts items (those still live) under fresh data keys as new versions sealed to the current
 * members only: after a removal, what is written from now on is out of the removed member's reach even
 * with every sealed key it ever held.
 */
export function reencryptJob(
  context: JobContext,
  itemIds: string[],
): CommitJob<{ answer: CommitAnswer; items: WrittenItem[] }> {
  let written: WrittenItem[] = [];
  return {
    async prepare(head: VerifiedManifest): Promise<PreparedCommit> {
      const recipients = context.recipients();
      const live = itemIds.filter((itemId) => findItem(head.manifest, itemId));
      const sealed = await mapLimit(live, READ_CONCURRENCY, async (itemId) => {
        const current = findItem(head.manifest, itemId)?.version ?? 0;
        const checked = await context.reader.fetch(itemId);
        if (checked.version !== current) throw new StaleHead(`${itemId} has a newer version`);
        const plaintext = await context.reader.decrypt(checked);
        try {
          return await sealItem({
            vaultId: context.vaultId,
            itemId,
            version: current + 1,
            plaintext,
            recipients,
          });
        } finally {
          plaintext.fill(0);
        }
      });
      written = sealed.map(({ itemId, version }) => ({ itemId, version }));
      return writesCommit(sealed);
    },
    finish: (answer) => ({ answer, items: written }),
  };
}

function writesCommit(sealed: SealedItemVersion[]): PreparedCommit {
  return {
    changes: {
      writes: sealed.map((version) => ({
        itemId: version.itemId,
        version: version.version,
        contentHash: version.contentHash,
        keyIds: version.sealedKeys.map((sealedKey) => sealedKey.keyId),
      })),
    },
    body: {
      writes: sealed.map((version) => ({
        itemId: version.itemId,
        version: version.version,
        ciphertext: b64u.encode(version.ciphertext),
        sealedKeys: version.sealedKeys.map(({ keyId, sealedKey }) => ({
          keyId,
          sealedKey: b64u.encode(sealedKey),
        })),
      })),
    },
  };
}

/** `fn` over `values` with at most `limit` calls in flight, results in order. */
async function mapLimit<T, R>(
  values: readonly T[],
  limit: number,
  fn: (value: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(values.length);
  let next = 0;
  const worker = async () => {
    while (next < values.length) {
      const index = next++;
      results[index] = await fn(values[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, values.length) }, worker));
  return results;
}
