import { createDidKey } from '@personachain/credentials';
import { decodePublicKeyMultibase } from '@personachain/crypto';
import type { Command } from 'commander';
import { type OutputOptions, showOne } from '../output.js';
import { type KeyringOptions, keyringOption, openKeyring } from '../persona/context.js';

interface KeyCreateOptions extends OutputOptions, KeyringOptions {}

/** `persona did key create`: a did:key whose secret key stays in the keyring, e.g. to be a guardian. */
export function registerDidKeyCommands(did: Command): void {
  const key = did.command('key').description('did:key DIDs kept in the local keyring');

  key
    .command('create')
    .description(
      'generate an Ed25519 did:key in the keyring (for instance to be a guardian of a did:persona DID)',
    )
    .option('--json', 'print the result as JSON')
    .addOption(keyringOption())
    .action(async (options: KeyCreateOptions) => {
      const keyring = await openKeyring(options, { create: true });
      const multikey = await keyring.generate('Ed25519');
      await keyring.save();
      const created = {
        did: createDidKey('Ed25519', decodePublicKeyMultibase(multikey, 'Ed25519').publicKey),
        publicKeyMultibase: multikey,
        keyring: keyring.path,
      };
      showOne(options, created, (shown) => [
        ['did', shown.did],
        ['key', shown.publicKeyMultibase],
        ['keyring', shown.keyring],
      ]);
    });
}
