import {
  checkMemberPublicKeys,
  isItemId,
  isVaultId,
  MEMBER_KEY_ID_PATTERN,
  type MemberPublicKeys,
  memberKeyId,
  SUBJECT_PATTERN,
  VAULT_ROLES,
  VaultFormatError,
  type VaultRole,
} from '@personachain/vaults';
import { Argument, InvalidArgumentError } from 'commander';
import { usageError } from '../errors.js';
import { readJsonObject } from '../json-file.js';
import { KEY_NAME_PATTERN } from './keyring.js';

export const vaultIdArgument = () =>
  new Argument('<vaultId>', 'vault id (vlt_…)').argParser((value: string) => {
    if (!isVaultId(value)) throw new InvalidArgumentError('Expected a vault id like vlt_ and 32 hex digits.');
    return value;
  });

export const itemIdArgument = () => new Argument('<itemId>', 'item id (itm_…)').argParser(parseItemId);

export function parseItemId(value: string): string {
  if (!isItemId(value)) throw new InvalidArgumentError('Expected an item id like itm_ and 32 hex digits.');
  return value;
}

export function parseKeyName(value: string): string {
  if (!KEY_NAME_PATTERN.test(value)) {
    throw new InvalidArgumentError('Expected a name of letters, digits, ".", "_" or "-" (at most 64).');
  }
  return value;
}

export function parseSubject(value: string): string {
  if (value.length > 512 || !SUBJECT_PATTERN.test(value)) {
    throw new InvalidArgumentError('Expected a subject: a user id (usr_…) or a DID.');
  }
  return value;
}

export function parseMemberKeyId(value: string): string {
  if (!MEMBER_KEY_ID_PATTERN.test(value)) throw new InvalidArgumentError('Expected a member key id (vk_…).');
  return value;
}

export function parseRole(value: string): VaultRole {
  if (!(VAULT_ROLES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`Expected one of: ${VAULT_ROLES.join(', ')}.`);
  }
  return value as VaultRole;
}

export function parseVersion(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError('Expected a version number (1, 2, …).');
  return Number(value);
}

/**
 * A member's public keys from a file: what `persona vault keys show --json` prints (`{ keyId, publicKeys }`;
 * the key id, when there, must be the keys' own) or the bare `{ encryptionKey, ed25519, mlDsa65 }`.
 */
export async function readPublicKeys(path: string): Promise<{ keyId: string; publicKeys: MemberPublicKeys }> {
  const value = await readJsonObject(path, 'member public keys');
  const bare = !('publicKeys' in value);
  let publicKeys: MemberPublicKeys;
  try {
    publicKeys = checkMemberPublicKeys(bare ? value : value.publicKeys, bare ? '' : '/publicKeys');
  } catch (error) {
    if (!(error instanceof VaultFormatError)) throw error;
    throw usageError(`${path} does not hold member public keys: ${error.path ?? '/'}: ${error.message}`);
  }
  const keyId = memberKeyId(publicKeys);
  if (!bare && value.keyId !== undefined && value.keyId !== keyId) {
    throw usageError(
      `${path}: the key id ${String(value.keyId)} is not the id of its public keys (${keyId})`,
    );
  }
  return { keyId, publicKeys };
}
