import type { VaultRole } from '@personachain/vaults';
import { type Command, Option } from 'commander';
import { printJson, showOne, table } from '../output.js';
import { type MemberOptions, memberCall, openMember, withMemberOptions } from '../vault/member.js';
import { parseRole, parseSubject, readPublicKeys, vaultIdArgument } from '../vault/parse.js';
import { apiCommand } from './api.js';

interface ShareOptions extends MemberOptions {
  subject: string;
  role: VaultRole;
  publicKeys: string;
}

interface UnshareOptions extends MemberOptions {
  subject: string;
  /** False with --no-reencrypt. */
  reencrypt: boolean;
}

/** `persona vault share|unshare|members`: membership, signed into the manifest by an admin. */
export function registerVaultMemberCommands(vault: Command): void {
  withMemberOptions(
    apiCommand(vault, 'share', "add a member: every item's data key is re-sealed to its keys here (admin)")
      .addArgument(vaultIdArgument())
      .addOption(
        new Option('--subject <subject>', 'the new member (usr_… or a DID)')
          .argParser(parseSubject)
          .makeOptionMandatory(),
      )
      .addOption(
        new Option('--role <role>', 'read, write or admin').argParser(parseRole).makeOptionMandatory(),
      )
      .addOption(
        new Option(
          '--public-keys <file>',
          "the member's public keys, as `persona vault keys show` printed them",
        ).makeOptionMandatory(),
      ),
  ).action(async (vaultId: string, options: ShareOptions) => {
    const { keyId, publicKeys } = await readPublicKeys(options.publicKeys);
    const { vault: client } = await openMember(options, vaultId);
    const result = await memberCall(options, () =>
      client.addMember({ subject: options.subject, role: options.role, publicKeys }),
    );
    showOne(options, { subject: options.subject, role: options.role, keyId, ...result }, (shown) => [
      ['member', shown.subject],
      ['role', shown.role],
      ['keyId', shown.keyId],
      ['manifest', `sequence ${shown.sequence}, hash ${shown.manifestHash}`],
    ]);
  });

  withMemberOptions(
    apiCommand(
      vault,
      'unshare',
      'remove a member: its sealed keys are destroyed and every item is re-encrypted for the others (admin)',
    )
      .addArgument(vaultIdArgument())
      .addOption(
        new Option('--subject <subject>', 'the member to remove')
          .argParser(parseSubject)
          .makeOptionMandatory(),
      )
      .option(
        '--no-reencrypt',
        'skip writing every item again under fresh data keys (the removed member, if it kept old data keys, could read the current versions)',
      ),
  ).action(async (vaultId: string, options: UnshareOptions) => {
    const { vault: client } = await openMember(options, vaultId);
    const result = await memberCall(options, () =>
      client.removeMember(options.subject, { reencrypt: options.reencrypt }),
    );
    showOne(options, { subject: options.subject, ...result }, (shown) => [
      ['removed', shown.subject],
      ['reencrypted', `${shown.reencrypted} items`],
      ['manifest', `sequence ${shown.sequence}, hash ${shown.manifestHash}`],
    ]);
  });

  withMemberOptions(
    apiCommand(vault, 'members', 'list the members, as the latest verified manifest names them').addArgument(
      vaultIdArgument(),
    ),
  ).action(async (vaultId: string, options: MemberOptions) => {
    const { vault: client } = await openMember(options, vaultId);
    await memberCall(options, () => client.refresh());
    const { members, owner } = client.manifest;
    if (options.json) printJson({ data: members, owner, manifest: client.head });
    else {
      process.stdout.write(
        table(
          ['SUBJECT', 'ROLE', 'KEY ID'],
          members.map((member) => [
            member.subject,
            member.subject === owner ? `${member.role} (owner)` : member.role,
            member.keyId,
          ]),
        ),
      );
    }
  });
}
