import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { type OutputOptions, printJson } from '../output.js';

export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('run the PersonaChain server (configured by PERSONA_* environment variables)')
    .action(async () => {
      const { server, config } = await loadServer();
      await server.runServer(config);
    });

  program
    .command('migrate')
    .description('apply pending database migrations')
    .option('--json', 'print the result as JSON')
    .action(async (options: OutputOptions) => {
      const { server, config } = await loadServer();
      const result = await server.migrateDatabase(config);
      if (options.json) printJson(result);
      else if (result.applied.length === 0) process.stdout.write('database is up to date\n');
      else for (const name of result.applied) process.stdout.write(`applied migration ${name}\n`);
    });
}

/**
 * The server is imported only by the commands that run it, so API commands start fast, and only once the
 * configuration is valid: it loads every module (seconds on a busy machine), and a bad setting is reported
 * at once.
 */
async function loadServer() {
  const { ConfigError, loadConfig } = await import('@personachain/server/config');
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message);
    throw error;
  }
  return { server: await import('@personachain/server'), config };
}
