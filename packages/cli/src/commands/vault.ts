import { readFile } from 'node:fs/promises';
import { FileVaultStateStore, type Vault, VaultClient } from '@personachain/sdk';
import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { usageError } from '../errors.js';
import { type Field, type ListLayout, showDone, showList, showOne } from '../output.js';
import { vaultError } from '../vault/errors.js';
import {
  apiConnection,
  keyringOption,
  type MemberOptions,
  memberCall,
  openMember,
  openVaultKeyring,
  projectFor,
  projectOption,
  stateDirectory,
  type VaultKeyringOptions,
  withMemberOptions,
} from '../vault/member.js';
import { parseKeyName, parseSubject, vaultIdArgument } from '../vault/parse.js';
import { sessionContext } from '../vault/session-context.js';
import { type ApiListOptions, apiCommand, connect, listCommand } from './api.js';
import { registerVaultAccessCommands } from './vault-access.js';
import { registerVaultDeviceCommands } from './vault-devices.js';
import { registerVaultItemCommands } from './vault-items.js';
import { registerVaultKeysCommands } from './vault-keys.js';
import { registerVaultLogCommand } from './vault-log.js';
import { registerVaultMemberCommands } from './vault-members.js';
import { registerVaultRecoveryCommands } from './vault-recovery.js';

interface CreateOptions extends VaultKeyringOptions {
  subject: string;
  keys: string;
  label?: string;
  template?: string;
}

interface ShredOptions extends MemberOptions {
  yes?: boolean;
}

export const describeVault = (vault: Vault): Field[] => [
  ['id', vault.id],
  ['owner', vault.owner],
  ['label', vault.label],
  ['status', vault.status],
  ['manifest', `sequence ${vault.manifest.sequence}, hash ${vault.manifest.hash}`],
  ['created', vault.createdAt],
  ['shredded', vault.shreddedAt],
];

const layout: ListLayout<Vault> = {
  headers: ['ID', 'OWNER', 'LABEL', 'STATUS', 'SEQUENCE'],
  row: (vault) => [vault.id, vault.owner, vault.label ?? '-', vault.status, String(vault.manifest.sequence)],
  empty: 'no vaults',
};

const OVERVIEW = `
Items are encrypted and decrypted here; the server stores ciphertext, sealed keys and signed manifests.
Every answer is checked against the manifests this machine verified (kept next to the vault keyring).
Environment: PERSONA_URL, PERSONA_API_KEY (the project's key), PERSONA_PROJECT, PERSONA_VAULT_KEYRING,
PERSONA_KEYRING_PASSPHRASE, PERSONA_DEVICE_FINGERPRINT. Exit status: 0 done, 1 refused or failed
(an access refusal prints the decision), 2 bad command line or configuration.`;

/** `persona vault …`: client-side encrypted vaults for scripts. */
export function registerVaultCommands(program: Command): void {
  const vault = program
    .command('vault')
    .description('client-side encrypted vaults: keys, items, members, access log, recovery')
    .addHelpText('after', OVERVIEW);

  registerVaultKeysCommands(vault);

  apiCommand(vault, 'create', 'create a vault owned by --subject, who holds the --keys member keys')
    .addOption(projectOption().makeOptionMandatory())
    .addOption(
      new Option('--subject <subject>', 'the owner: a user id (usr_…) or a DID')
        .argParser(parseSubject)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--keys <name>', "the owner's member keys in the vault keyring")
        .argParser(parseKeyName)
        .makeOptionMandatory(),
    )
    .option('--label <label>', 'a label for the vault (stored in clear)')
    .option('--template <file>', 'the trust template, YAML or JSON (fields left out take the defaults)')
    .addOption(keyringOption())
    .action(async (options: CreateOptions) => {
      const template = options.template === undefined ? undefined : await readTemplate(options.template);
      const connection = apiConnection(options);
      const keyring = await openVaultKeyring(options);
      const keys = await keyring.memberKeys(options.keys);
      const projectId = options.project as string;
      const created = await VaultClient.create({
        ...connection,
        projectId,
        member: { subject: options.subject, keys },
        // No member request is made here: creating needs the API key only.
        context: sessionContext({ amr: ['pwd'] }),
        store: new FileVaultStateStore(stateDirectory(keyring)),
        ...(options.label === undefined ? {} : { label: options.label }),
        ...(template === undefined ? {} : { template }),
      }).catch((error: unknown) => {
        throw vaultError(error, options.url);
      });
      keyring.setVault(created.vaultId, { projectId, keys: options.keys, subject: options.subject });
      await keyring.save();
      const shown = { ...(await memberCall(options, () => created.vault())), ownerKeyId: keys.keyId };
      showOne(options, shown, (value) => [...describeVault(value), ['ownerKeyId', value.ownerKeyId]]);
    });

  listCommand(vault, 'ls', "list the project's vaults")
    .alias('list')
    .addOption(projectOption().makeOptionMandatory())
    .action(async (options: ApiListOptions & { project: string }) => {
      const page = await connect(options).list<Vault>(`v1/projects/${options.project}/vaults`, options);
      showList(options, page, layout);
    });

  apiCommand(vault, 'show', 'show a vault: owner, status, current manifest')
    .addArgument(vaultIdArgument())
    .addOption(projectOption('project id (prj_…; default: the one the keyring recorded for the vault)'))
    .addOption(keyringOption())
    .action(async (vaultId: string, options: VaultKeyringOptions) => {
      const projectId = await projectFor(options, vaultId);
      showOne(
        options,
        await connect(options).get<Vault>(`v1/projects/${projectId}/vaults/${vaultId}`),
        describeVault,
      );
    });

  registerVaultItemCommands(vault);
  registerVaultMemberCommands(vault);
  registerVaultLogCommand(vault);

  withMemberOptions(
    apiCommand(
      vault,
      'shred',
      'crypto-shred a vault: every ciphertext and sealed key is destroyed (owner or admin)',
    )
      .addArgument(vaultIdArgument())
      .option('--yes', 'confirm: this cannot be undone'),
  ).action(async (vaultId: string, options: ShredOptions) => {
    if (!options.yes) throw usageError(`shredding ${vaultId} cannot be undone: add --yes to confirm`);
    const { vault: client } = await openMember(options, vaultId);
    await memberCall(options, () => client.shred());
    showDone(options, `shredded ${vaultId}: its items can no longer be decrypted by anyone`);
  });

  registerVaultRecoveryCommands(vault);
  registerVaultAccessCommands(vault);
  registerVaultDeviceCommands(vault);
}

/** A trust template file: YAML (JSON is YAML too); it must hold one mapping. */
async function readTemplate(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw usageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 0 });
  } catch (error) {
    throw usageError(`${path} is not YAML or JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw usageError(`${path} must hold a mapping (the trust template)`);
  }
  return value as Record<string, unknown>;
}
