import { type Command, InvalidArgumentError } from 'commander';
import { CliError } from '../errors.js';
import { printJson } from '../output.js';
import { sdkClient, sdkError } from '../sdk.js';
import { type ApiOptions, apiCommand } from './api.js';
import { registerDidKeyCommands } from './did-key.js';
import { registerPersonaCommands } from './did-persona.js';
import { registerRecoverCommands } from './did-recover.js';

interface ResolveOptions extends ApiOptions {
  history?: boolean;
}

export function registerDidCommands(program: Command): void {
  const did = program
    .command('did')
    .description('resolve DIDs; create, update and recover did:persona DIDs with keys kept locally');

  apiCommand(did, 'resolve', "resolve a DID with the server's resolver (no API key needed)")
    .argument('<did>', 'the DID, e.g. did:key:z6Mk… or did:web:example.com', parseDid)
    .option('--history', 'did:persona: add the operation history with inclusion proofs (implies --json)')
    .addHelpText('after', '\nPrints the DID document; --json prints the whole DID Resolution result.')
    .action(async (didValue: string, options: ResolveOptions) => {
      const client = sdkClient(options, 'optional');
      const query = options.history ? { history: true } : {};
      const result = await client.dids.resolve(didValue, query).catch((error: unknown) => {
        throw sdkError(error, options.url);
      });
      const { error, errorMessage } = result.didResolutionMetadata;
      if (error !== undefined || result.didDocument === null) {
        throw new CliError(`${didValue} did not resolve: ${error ?? 'no DID document'}`, 1, [
          ...(errorMessage ? [errorMessage] : []),
        ]);
      }
      printJson(options.json || options.history ? result : result.didDocument);
    });

  registerPersonaCommands(did);
  registerRecoverCommands(did);
  registerDidKeyCommands(did);
}

function parseDid(value: string): string {
  if (!/^did:[a-z0-9]+:[^\s/?#]+$/.test(value))
    throw new InvalidArgumentError('Expected a DID like did:key:z6Mk….');
  return value;
}
