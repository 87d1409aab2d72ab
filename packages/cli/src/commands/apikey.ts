import { type Command, InvalidArgumentError, Option } from 'commander';
import { type Field, type ListLayout, showDone, showList, showOne } from '../output.js';
import { type ApiKey, type CreatedApiKey, type PlatformKey, ROLES, type Role } from '../types.js';
import {
  type ApiListOptions,
  type ApiOptions,
  apiCommand,
  connect,
  keyIdArgument,
  listCommand,
  projectIdArgument,
} from './api.js';

interface CreateOptions extends ApiOptions {
  name: string;
  role?: Role;
  scope?: string[];
  expiresAt?: string;
}

/** A date (midnight UTC) or a date-time with an explicit offset, so no local time zone is guessed. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/i;

const describe = (key: ApiKey): Field[] => [
  ['id', key.id],
  ['project', key.projectId],
  ['name', key.name],
  ['role', key.role],
  ['scopes', key.scopes.join(', ') || null],
  ...lifecycle(key),
];

/** The fields every key shows, project key or platform key: how to recognise it and where it stands. */
export const lifecycle = (key: PlatformKey): Field[] => [
  ['prefix', key.prefix],
  ['status', status(key)],
  ['created', key.createdAt],
  ['expires', key.expiresAt],
  ['last used', key.lastUsedAt],
  ['revoked', key.revokedAt],
];

const layout: ListLayout<ApiKey> = {
  headers: ['ID', 'NAME', 'ROLE', 'SCOPES', 'PREFIX', 'STATUS', 'EXPIRES', 'LAST USED'],
  row: (key) => [
    key.id,
    key.name,
    key.role,
    key.scopes.join(',') || '-',
    key.prefix,
    status(key),
    key.expiresAt ?? '-',
    key.lastUsedAt ?? '-',
  ],
  empty: 'no API keys',
};

export function registerApiKeyCommands(program: Command): void {
  const apikey = program.command('apikey').description('manage the API keys of a project');

  apiCommand(apikey, 'create', 'create an API key (its secret is shown only once)')
    .addArgument(projectIdArgument())
    .requiredOption('--name <name>', 'what the key is for')
    .addOption(new Option('--role <role>', 'role of the key (server default if omitted)').choices(ROLES))
    .option('--scope <scope>', 'limit the key to a scope; repeat for several', collect)
    .option('--expires-at <time>', 'expiry, e.g. 2030-01-31 or 2030-01-31T12:00:00Z', parseTimestamp)
    .action(async (projectId: string, options: CreateOptions) => {
      const key = await connect(options).post<CreatedApiKey>(`v1/projects/${projectId}/api-keys`, {
        name: options.name,
        role: options.role,
        scopes: options.scope,
        expiresAt: options.expiresAt,
      });
      showOne(options, key, (created) => [...describe(created), ['secret', created.secret]]);
      if (!options.json) process.stderr.write('Store the secret now: it will not be shown again.\n');
    });

  listCommand(apikey, 'list', 'list the API keys of a project (secrets are never listed)')
    .addArgument(projectIdArgument())
    .action(async (projectId: string, options: ApiListOptions) => {
      showList(
        options,
        await connect(options).list<ApiKey>(`v1/projects/${projectId}/api-keys`, options),
        layout,
      );
    });

  apiCommand(apikey, 'revoke', 'revoke an API key; requests with it fail from then on')
    .addArgument(projectIdArgument())
    .addArgument(keyIdArgument())
    .action(async (projectId: string, keyId: string, options: ApiOptions) => {
      await connect(options).delete(`v1/projects/${projectId}/api-keys/${keyId}`);
      showDone(options, `revoked API key ${keyId}`);
    });
}

/** Whether a key works: revoked and expired keys do not. */
export function status(key: Pick<ApiKey, 'revokedAt' | 'expiresAt'>): string {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= Date.now()) return 'expired';
  return 'active';
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseTimestamp(value: string): string {
  const time = Date.parse(value);
  if (!TIMESTAMP.test(value) || Number.isNaN(time)) {
    throw new InvalidArgumentError('Expected an ISO 8601 date, or date and time with offset (Z or +hh:mm).');
  }
  return new Date(time).toISOString();
}
