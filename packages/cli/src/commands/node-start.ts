import type { Command } from 'commander';
import { usageError } from '../errors.js';

/** `persona node start`: runs an ephemeral-store node configured by REPRAM_* and PERSONA_NODE_* variables. */
export function registerNodeStartCommand(node: Command): void {
  node
    .command('start')
    .description(
      'run an ephemeral-store node (configured by REPRAM_* and PERSONA_NODE_* environment variables)',
    )
    .action(async () => {
      // The node (libp2p and all) is imported here, so that other commands do not pay for loading it, and
      // only once the configuration is valid, so that a bad setting is reported at once.
      const { loadNodeConfig, NodeConfigError } = await import('@personachain/node/config');
      let config: ReturnType<typeof loadNodeConfig>;
      try {
        config = loadNodeConfig();
      } catch (error) {
        if (error instanceof NodeConfigError) throw usageError(error.message);
        throw error;
      }
      const { runNode } = await import('@personachain/node');
      const handle = await runNode(config, {
        onError: (message, error) => {
          const cause = error instanceof Error ? `: ${error.message}` : '';
          process.stderr.write(`persona node: ${message}${cause}\n`);
        },
      });
      process.stdout.write(`persona node listening on ${handle.url} (node id ${handle.nodeId})\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.stdout.write(`persona node: ${signal}, stopping\n`);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await handle.close();
      process.stdout.write('persona node stopped\n');
    });
}
