import { MemberKeys } from '@personachain/vaults';
import { type Command, Option } from 'commander';
import { usageError } from '../errors.js';
import { writeJson } from '../json-file.js';
import { type Field, type OutputOptions, printable, printJson, showOne, table } from '../output.js';
import type { MemberKeyInfo } from '../vault/keyring.js';
import { keyringOption, openVaultKeyring } from '../vault/member.js';
import { parseKeyName } from '../vault/parse.js';

interface KeysOptions extends OutputOptions {
  keyring?: string;
}

interface NewOptions extends KeysOptions {
  name: string;
  out?: string;
}

interface ShowOptions extends KeysOptions {
  out?: string;
}

/**
 * What is handed to a vault admin (or an owner naming guardians): the public keys and their
 * self-certifying id, with the local name and creation time for the record. No secret.
 */
function publicView(member: MemberKeyInfo) {
  return {
    name: member.name,
    keyId: member.keyId,
    publicKeys: member.publicKeys,
    createdAt: member.createdAt,
  };
}

/** `persona vault keys new|show|ls`: member keys, their seeds sealed in the vault keyring. */
export function registerVaultKeysCommands(vault: Command): void {
  const keys = vault
    .command('keys')
    .description(
      'vault member keys (X-Wing encryption + Ed25519/ML-DSA-65 signing), kept in the vault keyring',
    );

  keys
    .command('new')
    .description('generate member keys; the seed is sealed in the vault keyring under a passphrase')
    .addOption(
      new Option('--name <name>', 'a local name for the keys').argParser(parseKeyName).makeOptionMandatory(),
    )
    .option('--out <file>', 'also write the public keys (as `keys show` prints them) to this file')
    .option('--json', 'print the result as JSON')
    .addOption(keyringOption())
    .action(async (options: NewOptions) => {
      const keyring = await openVaultKeyring(options);
      // Refused before the passphrase is asked.
      if (keyring.member(options.name)) {
        throw usageError(`the vault keyring ${keyring.path} already has member keys named ${options.name}`);
      }
      const added = await keyring.add(options.name, await MemberKeys.generate());
      await keyring.save();
      if (options.out !== undefined) await writeJson(options.out, publicView(added));
      showOne(options, { ...publicView(added), keyring: keyring.path }, (shown): Field[] => [
        ['name', shown.name],
        ['keyId', shown.keyId],
        ['keyring', shown.keyring],
        ['next', `hand \`persona vault keys show ${shown.name}\` (public keys only) to the vault admin`],
      ]);
    });

  keys
    .command('show')
    .description(
      'print member keys’ public keys and key id as JSON, to hand to a vault admin (no passphrase)',
    )
    .argument('<name>', 'the keys’ local name', parseKeyName)
    .option('--out <file>', 'write them to this file instead of stdout')
    .option('--json', 'accepted for symmetry: the output is JSON in any case')
    .addOption(keyringOption())
    .addHelpText(
      'after',
      '\nThe output is the file `persona vault share --public-keys` and `persona vault recovery setup --guardian` take.',
    )
    .action(async (name: string, options: ShowOptions) => {
      const keyring = await openVaultKeyring(options);
      await writeJson(options.out, publicView(keyring.requireMember(name)));
    });

  keys
    .command('ls')
    .alias('list')
    .description('list the member keys in the vault keyring (no passphrase needed)')
    .option('--json', 'print the list as JSON')
    .addOption(keyringOption())
    .action(async (options: KeysOptions) => {
      const keyring = await openVaultKeyring(options);
      const members = keyring.members().map(({ name, keyId, createdAt }) => ({ name, keyId, createdAt }));
      if (options.json) printJson({ data: members });
      else if (members.length === 0) process.stdout.write(`no member keys in ${printable(keyring.path)}\n`);
      else {
        process.stdout.write(
          table(
            ['NAME', 'KEY ID', 'CREATED'],
            members.map((member) => [member.name, member.keyId, member.createdAt]),
          ),
        );
      }
    });
}
