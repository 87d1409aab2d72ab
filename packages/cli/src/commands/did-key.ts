import { createDidKey, DID_KEY_ALGORITHMS } from '@personachain/credentials';
import { decodePublicKeyMultibase, type SignatureAlgorithm, signatureAlgorithms } from '@personachain/crypto';
import { type Command, Option } from 'commander';
import { type OutputOptions, showOne } from '../output.js';
import { type KeyringOptions, keyringOption, openKeyring } from '../persona/context.js';

/** The key types the library makes did:key DIDs of; all are signature keys the keyring generates and signs with. */
export const DID_KEY_GENERATED_ALGORITHMS = DID_KEY_ALGORITHMS.filter(
  (algorithm): algorithm is SignatureAlgorithm =>
    (signatureAlgorithms as readonly string[]).includes(algorithm),
);

interface KeyCreateOptions extends OutputOptions, KeyringOptions {
  algorithm: SignatureAlgorithm;
}

/** `persona did key create`: a did:key whose secret key stays in the keyring, e.g. to be a guardian. */
export function registerDidKeyCommands(did: Command): void {
  const key = did.command('key').description('did:key DIDs kept in the local keyring');

  key
    .command('create')
    .description('generate a did:key in the keyring (for instance to be a guardian of a did:persona DID)')
    .addOption(
      new Option('--algorithm <algorithm>', 'the key type')
        .choices(DID_KEY_GENERATED_ALGORITHMS)
        .default('Ed25519'),
    )
    .option('--json', 'print the result as JSON')
    .addOption(keyringOption())
    .action(async (options: KeyCreateOptions) => {
      const keyring = await openKeyring(options, { create: true });
      const multikey = await keyring.generate(options.algorithm);
      await keyring.save();
      const created = {
        did: createDidKey(options.algorithm, decodePublicKeyMultibase(multikey, options.algorithm).publicKey),
        algorithm: options.algorithm,
        publicKeyMultibase: multikey,
        keyring: keyring.path,
      };
      showOne(options, created, (shown) => [
        ['did', shown.did],
        ['algorithm', shown.algorithm],
        ['key', shown.publicKeyMultibase],
        ['keyring', shown.keyring],
      ]);
    });
}
