import type { Command } from 'commander';
import { type Field, type ListLayout, showDone, showList, showOne } from '../output.js';
import type { PlatformKey } from '../types.js';
import {
  type ApiListOptions,
  type ApiOptions,
  apiCommand,
  connect,
  keyIdArgument,
  listCommand,
} from './api.js';
import { lifecycle, parseTimestamp, status } from './apikey.js';

interface CreateOptions extends ApiOptions {
  name: string;
  expiresAt?: string;
}

const describe = (key: PlatformKey): Field[] => [['id', key.id], ['name', key.name], ...lifecycle(key)];

const layout: ListLayout<PlatformKey> = {
  headers: ['ID', 'NAME', 'PREFIX', 'STATUS', 'EXPIRES', 'LAST USED'],
  row: (key) => [key.id, key.name, key.prefix, status(key), key.expiresAt ?? '-', key.lastUsedAt ?? '-'],
  empty: 'no platform keys',
};

/** Keys of the platform administrator: rotate the bootstrap key with `create`, then `revoke` the old one. */
export function registerPlatformKeyCommands(program: Command): void {
  const platformKey = program
    .command('platform-key')
    .description('manage platform admin keys (needs a platform admin key)');

  apiCommand(platformKey, 'create', 'create a platform admin key (its secret is shown only once)')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--expires-at <time>', 'expiry, e.g. 2030-01-31 or 2030-01-31T12:00:00Z', parseTimestamp)
    .action(async (options: CreateOptions) => {
      const key = await connect(options).post<PlatformKey & { secret: string }>('v1/platform/api-keys', {
        name: options.name,
        expiresAt: options.expiresAt,
      });
      showOne(options, key, (created) => [...describe(created), ['secret', created.secret]]);
      if (!options.json) process.stderr.write('Store the secret now: it will not be shown again.\n');
    });

  listCommand(platformKey, 'list', 'list platform admin keys').action(async (options: ApiListOptions) => {
    showList(options, await connect(options).list<PlatformKey>('v1/platform/api-keys', options), layout);
  });

  apiCommand(platformKey, 'revoke', 'revoke a platform admin key (the last working one cannot be)')
    .addArgument(keyIdArgument())
    .action(async (keyId: string, options: ApiOptions) => {
      await connect(options).delete(`v1/platform/api-keys/${keyId}`);
      showDone(options, `revoked platform key ${keyId}`);
    });
}
