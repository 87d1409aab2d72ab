import type { Command } from 'commander';
import { registerNodeStartCommand } from './node-start.js';
import { registerVerifyAttestationCommand } from './node-verify.js';

/** `persona node …`: run and inspect an ephemeral-store node. */
export function registerNodeCommands(program: Command): void {
  const node = program
    .command('node')
    .description('run an ephemeral-store node and check its deletion attestations');
  registerNodeStartCommand(node);
  registerVerifyAttestationCommand(node);
}
