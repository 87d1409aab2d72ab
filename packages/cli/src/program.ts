import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerApiKeyCommands } from './commands/apikey.js';
import { registerDidCommands } from './commands/did.js';
import { registerLedgerCommands } from './commands/ledger.js';
import { registerNodeCommands } from './commands/node.js';
import { registerOrgCommands } from './commands/org.js';
import { registerPlatformKeyCommands } from './commands/platform-key.js';
import { registerProjectCommands } from './commands/project.js';
import { registerServerCommands } from './commands/server.js';
import { registerVaultCommands } from './commands/vault.js';
import { registerVcCommands } from './commands/vc.js';
import { registerWitnessCommand } from './commands/witness.js';
import { CliError } from './errors.js';
import { printable } from './output.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('persona')
  .description('PersonaChain command-line interface')
  .version(version)
  // Throw instead of exiting, so usage errors get exit status 2 below; subcommands inherit both settings.
  .exitOverride()
  .configureOutput({ outputError: (message, write) => write(message.replace(/^error: /, 'persona: ')) });

registerServerCommands(program);
registerOrgCommands(program);
registerProjectCommands(program);
registerApiKeyCommands(program);
registerPlatformKeyCommands(program);
registerLedgerCommands(program);
registerWitnessCommand(program);
registerDidCommands(program);
registerVcCommands(program);
registerVaultCommands(program);
registerNodeCommands(program);

try {
  await program.parseAsync();
} catch (error) {
  process.exitCode = report(error);
}

/** Prints what went wrong (commander has already printed its own errors) and returns the exit status. */
function report(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  const { message, details, exitCode } =
    error instanceof CliError
      ? error
      : { message: error instanceof Error ? error.message : String(error), details: [], exitCode: 1 };
  const lines = [`persona: ${message}`, ...details.map((line) => `  ${line}`)];
  process.stderr.write(lines.map((line) => `${printable(line)}\n`).join(''));
  return exitCode;
}
