import { FileVaultStateStore, type PersonaClientOptions, VaultClient } from '@personachain/sdk';
import type { MemberKeys } from '@personachain/vaults';
import { type Command, Option } from 'commander';
import { type ApiOptions, idParser } from '../commands/api.js';
import { usageError } from '../errors.js';
import { vaultError } from './errors.js';
import { VaultKeyring, vaultKeyringPath } from './keyring.js';
import { parseKeyName, parseMemberKeyId, parseSubject } from './parse.js';
import { type SessionContextOptions, sessionContext, withSessionContext } from './session-context.js';

const REQUEST_TIMEOUT_MS = 30_000;

/** Options of every vault command that reads the vault keyring or names a project. */
export interface VaultKeyringOptions extends ApiOptions {
  project?: string;
  keyring?: string;
}

/** Options of the commands that act as a vault member (sign, open a session, decrypt). */
export interface MemberOptions extends VaultKeyringOptions, SessionContextOptions {
  keys?: string;
  as?: string;
  ownerKeyId?: string;
  approval?: string;
}

/** What a member command works with. */
export interface MemberSession {
  vault: VaultClient;
  keyring: VaultKeyring;
  keys: MemberKeys;
  subject: string;
  projectId: string;
}

export function keyringOption(): Option {
  return new Option(
    '--keyring <file>',
    'vault keyring (default: PERSONA_VAULT_KEYRING, else $XDG_CONFIG_HOME/persona/vault-keyring.json)',
  );
}

export function projectOption(description = 'project id (prj_…)'): Option {
  return new Option('--project <projectId>', description).env('PERSONA_PROJECT').argParser(idParser('prj'));
}

/** --project, --keys, --as, --keyring, --owner-key-id, --approval and the session context. */
export function withMemberOptions(command: Command): Command {
  return withSessionContext(
    command
      .addOption(projectOption('project id (prj_…; default: the one the keyring recorded for the vault)'))
      .addOption(
        new Option(
          '--keys <name>',
          'the member keys to act with (default: the ones the keyring recorded for the vault)',
        ).argParser(parseKeyName),
      )
      .addOption(
        new Option(
          '--as <subject>',
          'the member subject (usr_… or a DID) the keys belong to (default: recorded for the vault)',
        ).argParser(parseSubject),
      )
      .addOption(keyringOption())
      .addOption(
        new Option(
          '--owner-key-id <vk_…>',
          "the owner's key id, learned from the owner: checked the first time this keyring opens the vault",
        ).argParser(parseMemberKeyId),
      )
      .addOption(
        new Option(
          '--approval <vap_…>',
          'a guardian access approval (from an earlier guardian_approval_required refusal)',
        ).argParser(idParser('vap')),
      ),
  );
}

export function openVaultKeyring(options: { keyring?: string }): Promise<VaultKeyring> {
  return VaultKeyring.open(vaultKeyringPath(options.keyring));
}

/** Where the API is, with PERSONA_API_KEY (required: every vault route needs the project's key). */
export function apiConnection(options: ApiOptions): PersonaClientOptions {
  const apiKey = process.env.PERSONA_API_KEY;
  if (!apiKey) throw usageError('PERSONA_API_KEY is not set; export the API key this command should use');
  return {
    baseUrl: options.url,
    apiKey,
    fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }),
  };
}

/**
 * The directory of verified vault state (the last manifest checked, the pinned owner and ledger keys),
 * next to the keyring and named after it: each keyring keeps its own view of each vault.
 */
export function stateDirectory(keyring: VaultKeyring): string {
  return `${keyring.path.replace(/\.json$/, '')}.state`;
}

/**
 * Opens the vault as a member: the keys from the keyring (asking for its passphrase), the verified
 * state from the last run (or the whole manifest chain verified from genesis on the first), and a
 * session opened with the context the options assert. The project, keys and subject used are recorded
 * in the keyring for the next commands on this vault.
 */
export async function openMember(options: MemberOptions, vaultId: string): Promise<MemberSession> {
  const connection = apiConnection(options);
  const keyring = await openVaultKeyring(options);
  const record = keyring.vault(vaultId);
  const projectId = options.project ?? record?.projectId;
  const keysName = options.keys ?? record?.keys;
  const subject = options.as ?? record?.subject;
  const missing = [
    projectId === undefined ? '--project' : null,
    keysName === undefined ? '--keys' : null,
    subject === undefined ? '--as' : null,
  ].filter((name) => name !== null);
  if (projectId === undefined || keysName === undefined || subject === undefined) {
    throw usageError(
      `${missing.join(', ')} required: the keyring ${keyring.path} has no record of ${vaultId}`,
      ['the keyring records them for a vault it created or used before'],
    );
  }
  const keys = await keyring.memberKeys(keysName);
  const vault = await VaultClient.open({
    ...connection,
    projectId,
    vaultId,
    member: { subject, keys },
    context: sessionContext(options),
    store: new FileVaultStateStore(stateDirectory(keyring)),
    ...(options.ownerKeyId === undefined ? {} : { ownerKeyId: options.ownerKeyId }),
  }).catch((error: unknown) => {
    throw vaultError(error, options.url);
  });
  if (options.approval !== undefined) vault.useApproval(options.approval);
  if (record?.projectId !== projectId || record.keys !== keysName || record.subject !== subject) {
    keyring.setVault(vaultId, { projectId, keys: keysName, subject });
    await keyring.save();
  }
  return { vault, keyring, keys, subject, projectId };
}

/** Runs a member call; refusals and failed checks become the CLI's errors. */
export async function memberCall<T>(options: ApiOptions, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw vaultError(error, options.url);
  }
}

/** `--project`, else the project the keyring recorded for the vault. */
export async function projectFor(options: VaultKeyringOptions, vaultId: string): Promise<string> {
  if (options.project !== undefined) return options.project;
  const keyring = await openVaultKeyring(options);
  const projectId = keyring.vault(vaultId)?.projectId;
  if (projectId === undefined) {
    throw usageError(`--project is required: the keyring ${keyring.path} has no record of ${vaultId}`);
  }
  return projectId;
}
