import { type AccessApproval, approveAccess, createPersonaApi } from '@personachain/sdk';
import { type Command, Option } from 'commander';
import { CliError } from '../errors.js';
import { type Field, showOne } from '../output.js';
import { vaultError } from '../vault/errors.js';
import {
  apiConnection,
  keyringOption,
  openVaultKeyring,
  projectFor,
  projectOption,
  type VaultKeyringOptions,
} from '../vault/member.js';
import { parseKeyName, parseSubject, vaultIdArgument } from '../vault/parse.js';
import { apiCommand, connect, idParser } from './api.js';

interface ApproveOptions extends VaultKeyringOptions {
  as: string;
  keys: string;
  subject: string;
  action: string;
}

const describe = (approval: AccessApproval): Field[] => [
  ['approvalId', approval.id],
  ['subject', approval.subject],
  ['action', approval.action],
  ['status', approval.status],
  [
    'approvals',
    `${approval.approvals.length} of ${approval.threshold}: ${approval.approvals.join(', ') || '-'}`,
  ],
  ['validUntil', approval.validUntil],
];

/** `persona vault access approve`: a guardian lets through an access the policy sent to the guardians. */
export function registerVaultAccessCommands(vault: Command): void {
  const access = vault.command('access').description('guardian approvals of refused accesses');

  apiCommand(access, 'approve', 'as a guardian: approve an access that needs guardian approval')
    .addArgument(vaultIdArgument())
    .argument('<approvalId>', 'the approval id from the refusal (vap_…)', idParser('vap'))
    .addOption(
      new Option('--as <subject>', 'the guardian subject you approve as')
        .argParser(parseSubject)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--keys <name>', 'your guardian keys in the vault keyring')
        .argParser(parseKeyName)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--subject <subject>', 'the member you expect to be asking: another is refused')
        .argParser(parseSubject)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--action <action>', 'the action you expect them to ask for: another is refused')
        .choices(['read', 'list', 'write', 'delete', 'admin'])
        .makeOptionMandatory(),
    )
    .addOption(projectOption('project id (prj_…; default: the one the keyring recorded for the vault)'))
    .addOption(keyringOption())
    .action(async (vaultId: string, approvalId: string, options: ApproveOptions) => {
      const projectId = await projectFor(options, vaultId);
      const path = `v1/projects/${projectId}/vaults/${vaultId}/access-approvals/${approvalId}`;
      // What is signed is who asks for what: checked against what the guardian was told first.
      const pending = await connect(options).get<AccessApproval>(path);
      if (pending.subject !== options.subject || pending.action !== options.action) {
        throw new CliError(
          `approval ${approvalId} is for ${pending.subject} to ${pending.action}, not ${options.subject} to ${options.action}: not approved`,
        );
      }
      const keyring = await openVaultKeyring(options);
      const keys = await keyring.memberKeys(options.keys);
      const approved = await approveAccess({
        api: createPersonaApi(apiConnection(options)),
        projectId,
        vaultId,
        approvalId,
        guardian: { subject: options.as, keys },
      }).catch((error: unknown) => {
        throw vaultError(error, options.url);
      });
      showOne(options, approved, describe);
    });
}
