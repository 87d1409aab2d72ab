import { AES_GCM_NONCE_LENGTH, AES_GCM_TAG_LENGTH } from '@personachain/crypto';
import {
  b64u,
  checkManifestShape,
  checkMemberPublicKeys,
  contentHash,
  type ManifestItem,
  type ManifestMember,
  type MemberPublicKeys,
  memberKeyId,
  type SignedManifest,
  VAULT_LIMITS,
  VaultFormatError,
  type VaultRole,
} from '@personachain/vaults';
import { invalidField, Problem } from '../../http/problem.js';
import type { VaultAction } from '../policy/access/index.js';
import type { VaultState } from './state.js';

/** The largest ciphertext of one version: the plaintext limit plus AES-GCM's nonce and tag. */
export const MAX_CIPHERTEXT_BYTES = VAULT_LIMITS.maxItemBytes + AES_GCM_NONCE_LENGTH + AES_GCM_TAG_LENGTH;
/** A sealed data key is one X-Wing HPKE envelope around 32 bytes (about 1.2 KB); this bounds garbage. */
export const MAX_SEALED_KEY_BYTES = 4096;

/** A commit as the client sends it (contract §2.3). */
export interface CommitInput {
  manifest: unknown;
  writes?: {
    itemId: string;
    version: number;
    ciphertext: string;
    sealedKeys: { keyId: string; sealedKey: string }[];
  }[];
  deletes?: string[];
  members?: {
    add?: { subject: string; role: VaultRole; publicKeys: unknown }[];
    remove?: string[];
    change?: { subject: string; role: VaultRole }[];
  };
  reseals?: { itemId: string; version: number; keyId: string; sealedKey: string }[];
}

export interface PlannedWrite {
  itemId: string;
  version: number;
  ciphertext: Uint8Array;
  contentHash: string;
  sealedKeys: { keyId: string; sealedKey: Uint8Array }[];
}

/** A commit checked against the vault's current state: everything the transaction writes. */
export interface CommitPlan {
  manifest: SignedManifest;
  action: VaultAction;
  writes: PlannedWrite[];
  deletes: string[];
  reseals: { itemId: string; version: number; keyId: string; sealedKey: Uint8Array }[];
  added: { subject: string; role: VaultRole; keyId: string; publicKeys: MemberPublicKeys }[];
  removed: ManifestMember[];
  changed: { subject: string; role: VaultRole }[];
}

function decodeBytes(text: string, pointer: string, max: number, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = b64u.decode(text);
  } catch {
    throw invalidField('The commit', pointer, 'is not base64url');
  }
  if (bytes.length === 0 || bytes.length > max) {
    throw invalidField('The commit', pointer, `must be 1 to ${max} bytes of ${what}`);
  }
  return bytes;
}

function invalidManifest(detail: string): Problem {
  return new Problem(
    'invalid-manifest',
    `The manifest does not describe the vault after this commit: ${detail}.`,
  );
}

/** Parses the manifest's shape; malformed input is a 400 naming the field. */
export function parseManifest(value: unknown, pointer: string): SignedManifest {
  try {
    return checkManifestShape(value);
  } catch (error) {
    if (!(error instanceof VaultFormatError)) throw error;
    const at = `${pointer}${error.path && error.path !== '/' ? error.path : ''}`;
    throw new Problem(
      'validation-error',
      `The manifest is not well formed: ${at.slice(1) || '/'} ${error.message}.`,
      {
        errors: [{ in: 'body', pointer: at, detail: error.message }],
      },
    );
  }
}

/**
 * Checks a commit against the vault's current state and computes the state it leaves: member changes,
 * deletes, writes (version = previous + 1, or 1 for a new item; contentHash = SHA-256 of the ciphertext;
 * keyIds = the sealed keys' ids), reseals (more keyIds on a current version), removed members' keys
 * dropped from every item. The signed manifest must list exactly that state, or the commit is refused:
 * a client cannot make the server store anything its own signed manifest does not commit to, and the
 * server cannot accept a manifest that lies about what it stores. Signatures and chain rules are checked
 * separately (verifyManifestTransition).
 */
export function planCommit(
  state: VaultState,
  session: { subject: string; keyId: string },
  input: CommitInput,
): CommitPlan {
  const manifest = parseManifest(input.manifest, '#/manifest');
  if (manifest.vaultId !== state.id) throw invalidManifest('it names another vault');
  if (manifest.previous !== state.manifestHash) {
    throw new Problem(
      'manifest-conflict',
      `The vault is at manifest ${state.manifest.sequence} (${state.manifestHash}); this commit was built on ` +
        'another one. Fetch the current manifest and retry.',
      { extensions: { current: { sequence: state.manifest.sequence, hash: state.manifestHash } } },
    );
  }
  if (manifest.sequence !== state.manifest.sequence + 1) {
    throw invalidManifest(
      `its sequence must be ${state.manifest.sequence + 1}, the one after its previous manifest`,
    );
  }
  if (manifest.signer.subject !== session.subject || manifest.signer.keyId !== session.keyId) {
    throw invalidManifest('it must be signed by the session’s member with the session’s key');
  }

  // ---- members ----
  const members = new Map<string, ManifestMember>(state.members);
  const removed: ManifestMember[] = [];
  const added: CommitPlan['added'] = [];
  const changed: CommitPlan['changed'] = [];
  const touched = new Set<string>();
  const touch = (subject: string, pointer: string) => {
    if (touched.has(subject)) throw invalidField('The commit', pointer, 'names a member twice');
    touched.add(subject);
  };
  (input.members?.remove ?? []).forEach((subject, i) => {
    const pointer = `#/members/remove/${i}`;
    touch(subject, pointer);
    const member = members.get(subject);
    if (!member) throw invalidField('The commit', pointer, 'is no member of the vault');
    members.delete(subject);
    removed.push(member);
  });
  (input.members?.change ?? []).forEach((change, i) => {
    const pointer = `#/members/change/${i}/subject`;
    touch(change.subject, pointer);
    const member = members.get(change.subject);
    if (!member) throw invalidField('The commit', pointer, 'is no member of the vault');
    members.set(change.subject, { ...member, role: change.role });
    changed.push({ subject: change.subject, role: change.role });
  });
  const keyIdsInUse = new Set([...members.values()].map((member) => member.keyId));
  (input.members?.add ?? []).forEach((add, i) => {
    const pointer = `#/members/add/${i}`;
    touch(add.subject, `${pointer}/subject`);
    if (members.has(add.subject))
      throw invalidField('The commit', `${pointer}/subject`, 'is a member already');
    let publicKeys: MemberPublicKeys;
    try {
      publicKeys = checkMemberPublicKeys(add.publicKeys);
    } catch (error) {
      if (!(error instanceof VaultFormatError)) throw error;
      throw invalidField('The commit', `${pointer}/publicKeys${error.path ?? ''}`, error.message);
    }
    const keyId = memberKeyId(publicKeys);
    if (keyIdsInUse.has(keyId))
      throw invalidField('The commit', `${pointer}/publicKeys`, 'are another member’s keys');
    keyIdsInUse.add(keyId);
    members.set(add.subject, { subject: add.subject, role: add.role, keyId });
    added.push({ subject: add.subject, role: add.role, keyId, publicKeys });
  });
  if (members.size > VAULT_LIMITS.maxMembers) {
    throw invalidField(
      'The commit',
      '#/members/add',
      `would leave more than ${VAULT_LIMITS.maxMembers} members`,
    );
  }
  const removedKeyIds = new Set(removed.map((member) => member.keyId));

  // ---- items ----
  const items = new Map<string, ManifestItem>();
  for (const [id, item] of state.items) {
    items.set(
      id,
      removedKeyIds.size ? { ...item, keyIds: item.keyIds.filter((k) => !removedKeyIds.has(k)) } : item,
    );
  }
  const changedItems = new Set<string>();
  const deletes = input.deletes ?? [];
  deletes.forEach((itemId, i) => {
    const pointer = `#/deletes/${i}`;
    if (changedItems.has(itemId)) throw invalidField('The commit', pointer, 'names an item twice');
    if (!items.delete(itemId)) throw invalidField('The commit', pointer, 'is no item of the vault');
    changedItems.add(itemId);
  });
  const writes: PlannedWrite[] = (input.writes ?? []).map((write, i) => {
    const pointer = `#/writes/${i}`;
    if (changedItems.has(write.itemId))
      throw invalidField('The commit', `${pointer}/itemId`, 'names an item twice');
    changedItems.add(write.itemId);
    const version = (state.items.get(write.itemId)?.version ?? 0) + 1;
    if (write.version !== version) {
      throw invalidField('The commit', `${pointer}/version`, `must be ${version} (the item's next version)`);
    }
    const ciphertext = decodeBytes(
      write.ciphertext,
      `${pointer}/ciphertext`,
      MAX_CIPHERTEXT_BYTES,
      'ciphertext',
    );
    const seen = new Set<string>();
    const sealedKeys = write.sealedKeys.map((sealed, k) => {
      const keyPointer = `${pointer}/sealedKeys/${k}`;
      if (!keyIdsInUse.has(sealed.keyId))
        throw invalidField('The commit', `${keyPointer}/keyId`, 'is no member key');
      if (seen.has(sealed.keyId)) throw invalidField('The commit', `${keyPointer}/keyId`, 'is listed twice');
      seen.add(sealed.keyId);
      return {
        keyId: sealed.keyId,
        sealedKey: decodeBytes(
          sealed.sealedKey,
          `${keyPointer}/sealedKey`,
          MAX_SEALED_KEY_BYTES,
          'sealed key',
        ),
      };
    });
    const hash = contentHash(ciphertext);
    items.set(write.itemId, { id: write.itemId, version, contentHash: hash, keyIds: [...seen].sort() });
    return { itemId: write.itemId, version, ciphertext, contentHash: hash, sealedKeys };
  });
  if (items.size > VAULT_LIMITS.maxItems) {
    throw invalidField('The commit', '#/writes', `would leave more than ${VAULT_LIMITS.maxItems} items`);
  }
  const reseals = (input.reseals ?? []).map((reseal, i) => {
    const pointer = `#/reseals/${i}`;
    const item = items.get(reseal.itemId);
    if (!item || changedItems.has(reseal.itemId)) {
      throw invalidField('The commit', `${pointer}/itemId`, 'is no item this commit leaves unchanged');
    }
    if (reseal.version !== item.version) {
      throw invalidField(
        'The commit',
        `${pointer}/version`,
        `must be the item's current version ${item.version}`,
      );
    }
    if (!keyIdsInUse.has(reseal.keyId))
      throw invalidField('The commit', `${pointer}/keyId`, 'is no member key');
    if (item.keyIds.includes(reseal.keyId)) {
      throw invalidField('The commit', `${pointer}/keyId`, 'already has the version’s data key');
    }
    items.set(reseal.itemId, { ...item, keyIds: [...item.keyIds, reseal.keyId].sort() });
    return {
      itemId: reseal.itemId,
      version: reseal.version,
      keyId: reseal.keyId,
      sealedKey: decodeBytes(reseal.sealedKey, `${pointer}/sealedKey`, MAX_SEALED_KEY_BYTES, 'sealed key'),
    };
  });

  const membersChanged = removed.length + added.length + changed.length > 0;
  if (!membersChanged && deletes.length + writes.length + reseals.length === 0) {
    throw new Problem(
      'validation-error',
      'The commit changes nothing: send writes, deletes, reseals or member changes.',
    );
  }
  compareMembers([...members.values()].sort(bySubject), manifest.members);
  compareItems([...items.values()].sort(byId), manifest.items);
  return {
    manifest,
    action: membersChanged ? 'admin' : deletes.length > 0 ? 'delete' : 'write',
    writes,
    deletes,
    reseals,
    added,
    removed,
    changed,
  };
}

const bySubject = (a: ManifestMember, b: ManifestMember) => (a.subject < b.subject ? -1 : 1);
const byId = (a: ManifestItem, b: ManifestItem) => (a.id < b.id ? -1 : 1);

function compareMembers(expected: ManifestMember[], listed: ManifestMember[]): void {
  const count = Math.max(expected.length, listed.length);
  for (let i = 0; i < count; i++) {
    const want = expected[i];
    const got = listed[i];
    if (!want || !got || want.subject !== got.subject) {
      const missing = want !== undefined && (got === undefined || want.subject < got.subject);
      const subject = missing ? (want as ManifestMember).subject : (got as ManifestMember).subject;
      throw invalidManifest(missing ? `member ${subject} is missing` : `${subject} is no member`);
    }
    if (want.role !== got.role)
      throw invalidManifest(`member ${want.subject} has role ${want.role}, not ${got.role}`);
    if (want.keyId !== got.keyId)
      throw invalidManifest(`member ${want.subject} has key ${want.keyId}, not ${got.keyId}`);
  }
}

function compareItems(expected: ManifestItem[], listed: ManifestItem[]): void {
  const count = Math.max(expected.length, listed.length);
  for (let i = 0; i < count; i++) {
    const want = expected[i];
    const got = listed[i];
    if (!want || !got || want.id !== got.id) {
      const missing = want !== undefined && (got === undefined || want.id < got.id);
      const id = missing ? (want as ManifestItem).id : (got as ManifestItem).id;
      throw invalidManifest(missing ? `item ${id} is missing` : `item ${id} is no item of the vault`);
    }
    if (want.version !== got.version)
      throw invalidManifest(`item ${want.id} is at version ${want.version}, not ${got.version}`);
    if (want.contentHash !== got.contentHash) {
      throw invalidManifest(`item ${want.id}'s contentHash is not the SHA-256 of the ciphertext sent`);
    }
    if (want.keyIds.length !== got.keyIds.length || want.keyIds.some((keyId, k) => keyId !== got.keyIds[k])) {
      throw invalidManifest(
        `item ${want.id} is sealed to ${want.keyIds.join(', ') || 'no key'}, not ${got.keyIds.join(', ')}`,
      );
    }
  }
}
