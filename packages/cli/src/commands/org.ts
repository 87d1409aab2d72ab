import type { Command } from 'commander';
import { type Field, type ListLayout, showDone, showList, showOne } from '../output.js';
import type { Organization } from '../types.js';
import {
  type ApiListOptions,
  type ApiOptions,
  apiCommand,
  connect,
  listCommand,
  orgIdArgument,
} from './api.js';

const describe = (org: Organization): Field[] => [
  ['id', org.id],
  ['name', org.name],
  ['created', org.createdAt],
];

const layout: ListLayout<Organization> = {
  headers: ['ID', 'NAME', 'CREATED'],
  row: (org) => [org.id, org.name, org.createdAt],
  empty: 'no organizations',
};

export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description('manage organizations');

  apiCommand(org, 'create', 'create an organization')
    .argument('<name>', 'display name')
    .action(async (name: string, options: ApiOptions) => {
      showOne(options, await connect(options).post<Organization>('v1/organizations', { name }), describe);
    });

  listCommand(org, 'list', 'list organizations').action(async (options: ApiListOptions) => {
    showList(options, await connect(options).list<Organization>('v1/organizations', options), layout);
  });

  apiCommand(org, 'get', 'show an organization')
    .addArgument(orgIdArgument())
    .action(async (orgId: string, options: ApiOptions) => {
      showOne(options, await connect(options).get<Organization>(`v1/organizations/${orgId}`), describe);
    });

  apiCommand(org, 'delete', 'delete an organization')
    .addArgument(orgIdArgument())
    .action(async (orgId: string, options: ApiOptions) => {
      await connect(options).delete(`v1/organizations/${orgId}`);
      showDone(options, `deleted organization ${orgId}`);
    });
}
