import { sha256 } from '@personachain/crypto';
import { b64u, canonicalJson, decodeField } from './encoding.js';
import { VaultFormatError, VaultIntegrityError } from './errors.js';
import { ITEM_ID_PATTERN, SUBJECT_PATTERN, VAULT_ID_PATTERN } from './ids.js';
import {
  type HybridSignature,
  MEMBER_KEY_ID_PATTERN,
  type MemberKeys,
  type MemberPublicKeys,
  memberKeyId,
  verifyHybrid,
} from './keys.js';
import { VAULT_LIMITS } from './limits.js';

export type VaultRole = 'read' | 'write' | 'admin';
export const VAULT_ROLES: readonly VaultRole[] = ['read', 'write', 'admin'];

export interface ManifestMember {
  subject: string;
  role: VaultRole;
  keyId: string;
}

/** One live item: its current version and what that version's ciphertext hashes to. */
export interface ManifestItem {
  id: string;
  version: number;
  /** base64url SHA-256 of the version's ciphertext. */
  contentHash: string;
  /** The members' key ids the version's data key is sealed to, sorted. */
  keyIds: string[];
}

/**
 * The signed state of a vault: who its members are and which version of which item is current. Each
 * manifest names the hash of the one before, so the manifests form a chain that only members with the
 * right role can extend; a client that verified sequence n detects a server that serves an older state,
 * drops or swaps an item, or forges a member.
 */
export interface UnsignedManifest {
  v: 1;
  vaultId: string;
  sequence: number;
  /** manifestHash of the previous manifest; null for the genesis manifest (sequence 0). */
  previous: string | null;
  owner: string;
  /** Sorted by subject. */
  members: ManifestMember[];
  /** Sorted by id; deleted items are absent. */
  items: ManifestItem[];
  signer: { subject: string; keyId: string };
  issuedAt: string;
}

export interface SignedManifest extends UnsignedManifest {
  signature: HybridSignature;
}

const HASH_LENGTH = { min: 32, max: 32 };

export function manifestHash(manifest: SignedManifest): string {
  return b64u.encode(sha256(canonicalJson(manifest)));
}

function unsignedPart(manifest: SignedManifest | UnsignedManifest): UnsignedManifest {
  const { v, vaultId, sequence, previous, owner, members, items, signer, issuedAt } = manifest;
  return { v, vaultId, sequence, previous, owner, members, items, signer, issuedAt };
}

export async function signManifest(unsigned: UnsignedManifest, signer: MemberKeys): Promise<SignedManifest> {
  const body = unsignedPart(unsigned);
  if (body.signer.keyId !== signer.keyId) {
    throw new VaultFormatError(
      'the manifest names another signer key than the one signing it',
      '/signer/keyId',
    );
  }
  const signature = await signer.sign('manifest', canonicalJson(body));
  return { ...body, signature };
}

export async function genesisManifest(input: {
  vaultId: string;
  owner: string;
  ownerKeys: MemberKeys;
  issuedAt?: string;
}): Promise<SignedManifest> {
  return signManifest(
    {
      v: 1,
      vaultId: input.vaultId,
      sequence: 0,
      previous: null,
      owner: input.owner,
      members: [{ subject: input.owner, role: 'admin', keyId: input.ownerKeys.keyId }],
      items: [],
      signer: { subject: input.owner, keyId: input.ownerKeys.keyId },
      issuedAt: input.issuedAt ?? new Date().toISOString(),
    },
    input.ownerKeys,
  );
}

// ---- shape ----

function object(value: unknown, path: string, fields: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VaultFormatError('expected an object', path || '/');
  }
  for (const key of Object.keys(value)) {
    if (!fields.includes(key)) throw new VaultFormatError(`unknown field "${key}"`, `${path}/${key}`);
  }
  return value as Record<string, unknown>;
}

function string(value: unknown, path: string, pattern?: RegExp): string {
  if (typeof value !== 'string') throw new VaultFormatError('expected a string', path);
  if (pattern && !pattern.test(value)) throw new VaultFormatError(`does not match ${pattern.source}`, path);
  return value;
}

function integer(value: unknown, path: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new VaultFormatError(`expected an integer ≥ ${min}`, path);
  }
  return value;
}

function subject(value: unknown, path: string): string {
  const text = string(value, path, SUBJECT_PATTERN);
  if (text.length > VAULT_LIMITS.maxSubjectLength) {
    throw new VaultFormatError(`longer than ${VAULT_LIMITS.maxSubjectLength} characters`, path);
  }
  return text;
}

function array(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new VaultFormatError('expected an array', path);
  if (value.length > max) throw new VaultFormatError(`more than ${max} entries`, path);
  return value;
}

function strictlyAscending(values: string[], path: string, what: string): void {
  for (let i = 1; i < values.length; i++) {
    if ((values[i - 1] as string) >= (values[i] as string)) {
      throw new VaultFormatError(`${what} must be sorted and unique`, `${path}/${i}`);
    }
  }
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses a manifest received over the wire: every field present with its type, lists sorted and unique,
 * limits respected, and every item sealed only to the manifest's own members. Returns a copy holding
 * exactly the manifest's fields. Throws VaultFormatError with the failing path.
 */
export function checkManifestShape(value: unknown): SignedManifest {
  const m = object(value, '', [
    'v',
    'vaultId',
    'sequence',
    'previous',
    'owner',
    'members',
    'items',
    'signer',
    'issuedAt',
    'signature',
  ]);
  if (m.v !== 1) throw new VaultFormatError('unsupported manifest version (expected 1)', '/v');
  const vaultId = string(m.vaultId, '/vaultId', VAULT_ID_PATTERN);
  const sequence = integer(m.sequence, '/sequence', 0);
  let previous: string | null = null;
  if (m.previous !== null) {
    decodeField(m.previous, '/previous', HASH_LENGTH);
    previous = m.previous as string;
  }
  const owner = subject(m.owner, '/owner');
  const members = array(m.members, '/members', VAULT_LIMITS.maxMembers).map((raw, i) => {
    const path = `/members/${i}`;
    const member = object(raw, path, ['subject', 'role', 'keyId']);
    const role = member.role as VaultRole;
    if (!VAULT_ROLES.includes(role))
      throw new VaultFormatError('expected read, write or admin', `${path}/role`);
    return {
      subject: subject(member.subject, `${path}/subject`),
      role,
      keyId: string(member.keyId, `${path}/keyId`, MEMBER_KEY_ID_PATTERN),
    };
  });
  strictlyAscending(
    members.map((member) => member.subject),
    '/members',
    'members',
  );
  const memberKeyIds = new Set(members.map((member) => member.keyId));
  const items = array(m.items, '/items', VAULT_LIMITS.maxItems).map((raw, i) => {
    const path = `/items/${i}`;
    const item = object(raw, path, ['id', 'version', 'contentHash', 'keyIds']);
    decodeField(item.contentHash, `${path}/contentHash`, HASH_LENGTH);
    const keyIds = array(item.keyIds, `${path}/keyIds`, VAULT_LIMITS.maxMembers).map((keyId, k) => {
      const text = string(keyId, `${path}/keyIds/${k}`, MEMBER_KEY_ID_PATTERN);
      if (!memberKeyIds.has(text)) {
        throw new VaultFormatError(
          'sealed to a key that is no member of this manifest',
          `${path}/keyIds/${k}`,
        );
      }
      return text;
    });
    if (keyIds.length === 0)
      throw new VaultFormatError('an item is sealed to at least one member', `${path}/keyIds`);
    strictlyAscending(keyIds, `${path}/keyIds`, 'key ids');
    return {
      id: string(item.id, `${path}/id`, ITEM_ID_PATTERN),
      version: integer(item.version, `${path}/version`, 1),
      contentHash: item.contentHash as string,
      keyIds,
    };
  });
  strictlyAscending(
    items.map((item) => item.id),
    '/items',
    'items',
  );
  const signerRaw = object(m.signer, '/signer', ['subject', 'keyId']);
  const signer = {
    subject: subject(signerRaw.subject, '/signer/subject'),
    keyId: string(signerRaw.keyId, '/signer/keyId', MEMBER_KEY_ID_PATTERN),
  };
  const issuedAt = string(m.issuedAt, '/issuedAt', ISO_TIME);
  if (Number.isNaN(Date.parse(issuedAt))) throw new VaultFormatError('not a valid time', '/issuedAt');
  const signatureRaw = object(m.signature, '/signature', ['ed25519', 'mlDsa65']);
  const signature = {
    ed25519: string(signatureRaw.ed25519, '/signature/ed25519'),
    mlDsa65: string(signatureRaw.mlDsa65, '/signature/mlDsa65'),
  };
  return { v: 1, vaultId, sequence, previous, owner, members, items, signer, issuedAt, signature };
}

// ---- chain rules ----

function sameMembers(a: ManifestMember[], b: ManifestMember[]): boolean {
  return (
    a.length === b.length &&
    a.every((member, i) => {
      const other = b[i] as ManifestMember;
      return member.subject === other.subject && member.role === other.role && member.keyId === other.keyId;
    })
  );
}

function keysFor(keys: (keyId: string) => MemberPublicKeys | undefined, keyId: string): MemberPublicKeys {
  const found = keys(keyId);
  if (!found || memberKeyId(found) !== keyId) {
    throw new VaultIntegrityError('unknown-key', `no public keys that hash to ${keyId}`);
  }
  return found;
}

/**
 * Checks `next` as the successor of `previous`, or as the genesis manifest when `previous` is null.
 * `keys` looks public keys up by key id; they must hash to the id. `previousHash` is manifestHash(previous)
 * for callers that keep it (hashing a large manifest again is the costly part). Throws VaultIntegrityError.
 */
export async function verifyManifestTransition(
  previous: SignedManifest | null,
  next: SignedManifest,
  keys: (keyId: string) => MemberPublicKeys | undefined,
  previousHash: string | null = previous && manifestHash(previous),
): Promise<void> {
  if (previous === null) {
    const owner = next.members[0];
    if (
      next.sequence !== 0 ||
      next.previous !== null ||
      next.items.length !== 0 ||
      next.members.length !== 1 ||
      owner?.subject !== next.owner ||
      owner.role !== 'admin' ||
      next.signer.subject !== next.owner ||
      next.signer.keyId !== owner.keyId
    ) {
      throw new VaultIntegrityError(
        'broken-chain',
        'a genesis manifest is sequence 0 with no items and only its owner, as admin, signing',
      );
    }
  } else {
    if (next.vaultId !== previous.vaultId) {
      throw new VaultIntegrityError('broken-chain', 'the manifest belongs to another vault');
    }
    if (next.sequence !== previous.sequence + 1 || next.previous !== previousHash) {
      throw new VaultIntegrityError(
        'broken-chain',
        `manifest ${next.sequence} does not follow manifest ${previous.sequence}`,
      );
    }
    if (next.owner !== previous.owner)
      throw new VaultIntegrityError('owner-changed', 'the vault owner changed');
    const ownerEntry = next.members.find((member) => member.subject === next.owner);
    if (ownerEntry?.role !== 'admin') {
      throw new VaultIntegrityError('owner-changed', 'the vault owner must stay an admin member');
    }
    // The owner's keys come from its seed, which recovery restores as it was: no one, not even another
    // admin, may put other keys in the owner's place.
    const ownerBefore = previous.members.find((member) => member.subject === previous.owner);
    if (ownerEntry.keyId !== ownerBefore?.keyId) {
      throw new VaultIntegrityError('owner-changed', "the vault owner's key may not change");
    }
    const signer = previous.members.find(
      (member) => member.subject === next.signer.subject && member.keyId === next.signer.keyId,
    );
    if (!signer || signer.role === 'read') {
      throw new VaultIntegrityError(
        'unauthorized-signer',
        `${next.signer.subject} may not write manifest ${next.sequence}: not a writer or admin of manifest ${previous.sequence}`,
      );
    }
    if (!sameMembers(previous.members, next.members) && signer.role !== 'admin') {
      throw new VaultIntegrityError('unauthorized-signer', 'only an admin member may change the members');
    }
  }
  const signerKeys = keysFor(keys, next.signer.keyId);
  const valid = await verifyHybrid(signerKeys, 'manifest', canonicalJson(unsignedPart(next)), next.signature);
  if (!valid) {
    throw new VaultIntegrityError('bad-signature', `manifest ${next.sequence} has an invalid signature`);
  }
}
