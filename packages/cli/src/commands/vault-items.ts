import type { ItemSummary, VersionSummary } from '@personachain/sdk';
import { type Command, Option } from 'commander';
import { printable, printJson, showOne, table } from '../output.js';
import { readItemData, writeItemData } from '../vault/data.js';
import { type MemberOptions, memberCall, openMember, withMemberOptions } from '../vault/member.js';
import { itemIdArgument, parseItemId, parseVersion, vaultIdArgument } from '../vault/parse.js';
import { apiCommand } from './api.js';

interface PutOptions extends MemberOptions {
  item?: string;
  file?: string;
}

interface GetOptions extends MemberOptions {
  itemVersion?: number;
  out?: string;
}

/** `persona vault put|get|items|versions|rm`: items, encrypted and decrypted on this machine. */
export function registerVaultItemCommands(vault: Command): void {
  withMemberOptions(
    apiCommand(
      vault,
      'put',
      'encrypt and store an item (a new one, or a new version of --item); prints its id and version',
    )
      .addArgument(vaultIdArgument())
      .addOption(new Option('--item <itemId>', 'write a new version of this item').argParser(parseItemId))
      .option('--file <path>', 'the item’s content (default: standard input)'),
  ).action(async (vaultId: string, options: PutOptions) => {
    // Read before the keyring is unlocked: bad input costs no passphrase.
    const data = await readItemData(options.file);
    const { vault: client } = await openMember(options, vaultId);
    const written = await memberCall(options, () =>
      client.putOne(data, options.item === undefined ? {} : { itemId: options.item }),
    );
    showOne(options, written, (shown) => [
      ['itemId', shown.itemId],
      ['version', String(shown.version)],
      ['manifest', `sequence ${shown.sequence}, hash ${shown.manifestHash}`],
      ['access', `${shown.access.outcome}, score ${shown.access.score}`],
    ]);
  });

  withMemberOptions(
    apiCommand(vault, 'get', 'fetch, verify and decrypt an item (its current version, or --item-version)')
      .addArgument(vaultIdArgument())
      .addArgument(itemIdArgument())
      // Not --version: the program's own --version (print the CLI's version) would take it.
      .addOption(new Option('--item-version <n>', 'a given version (1, 2, …)').argParser(parseVersion))
      .option('--out <file>', 'write the content to this file (mode 0600) instead of standard output')
      .addHelpText('after', '\n--json is ignored: the content is written as it is, byte for byte.'),
  ).action(async (vaultId: string, itemId: string, options: GetOptions) => {
    const { vault: client } = await openMember(options, vaultId);
    const data = await memberCall(options, () =>
      client.get(itemId, options.itemVersion === undefined ? {} : { version: options.itemVersion }),
    );
    await writeItemData(options.out, data);
  });

  withMemberOptions(
    apiCommand(vault, 'items', "list the vault's items, checked against the verified manifest").addArgument(
      vaultIdArgument(),
    ),
  ).action(async (vaultId: string, options: MemberOptions) => {
    const { vault: client } = await openMember(options, vaultId);
    const items = await memberCall(options, () => client.list());
    if (options.json) printJson({ data: items, manifest: client.head });
    else if (items.length === 0) process.stdout.write('no items\n');
    else {
      process.stdout.write(
        table(
          ['ITEM', 'VERSION', 'SIZE', 'UPDATED'],
          items.map((item: ItemSummary) => [
            item.itemId,
            String(item.version),
            String(item.size),
            item.updatedAt,
          ]),
        ),
      );
    }
  });

  withMemberOptions(
    apiCommand(vault, 'versions', "list an item's versions, oldest first")
      .addArgument(vaultIdArgument())
      .addArgument(itemIdArgument()),
  ).action(async (vaultId: string, itemId: string, options: MemberOptions) => {
    const { vault: client } = await openMember(options, vaultId);
    const versions = await memberCall(options, () => client.versions(itemId));
    if (options.json) printJson({ data: versions });
    else if (versions.length === 0) process.stdout.write('no versions\n');
    else {
      process.stdout.write(
        table(
          ['VERSION', 'SIZE', 'CREATED', 'BY'],
          versions.map((version: VersionSummary) => [
            String(version.version),
            String(version.size),
            version.createdAt,
            version.createdBy,
          ]),
        ),
      );
    }
  });

  withMemberOptions(
    apiCommand(vault, 'rm', 'delete an item: every version’s ciphertext and sealed keys are destroyed')
      .addArgument(vaultIdArgument())
      .addArgument(itemIdArgument()),
  ).action(async (vaultId: string, itemId: string, options: MemberOptions) => {
    const { vault: client } = await openMember(options, vaultId);
    const result = await memberCall(options, () => client.delete([itemId]));
    if (options.json) printJson({ itemId, ...result });
    else process.stdout.write(`${printable(`deleted ${itemId} (manifest sequence ${result.sequence})`)}\n`);
  });
}
