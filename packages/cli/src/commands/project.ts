import type { Command } from 'commander';
import { type Field, type ListLayout, showDone, showList, showOne } from '../output.js';
import type { Project } from '../types.js';
import {
  type ApiListOptions,
  type ApiOptions,
  apiCommand,
  connect,
  listCommand,
  orgIdArgument,
  projectIdArgument,
} from './api.js';

const describe = (project: Project): Field[] => [
  ['id', project.id],
  ['organization', project.orgId],
  ['name', project.name],
  ['created', project.createdAt],
];

const layout: ListLayout<Project> = {
  headers: ['ID', 'NAME', 'CREATED'],
  row: (project) => [project.id, project.name, project.createdAt],
  empty: 'no projects',
};

export function registerProjectCommands(program: Command): void {
  const project = program.command('project').description('manage the projects of an organization');

  apiCommand(project, 'create', 'create a project in an organization')
    .addArgument(orgIdArgument())
    .argument('<name>', 'display name')
    .action(async (orgId: string, name: string, options: ApiOptions) => {
      const created = await connect(options).post<Project>(`v1/organizations/${orgId}/projects`, { name });
      showOne(options, created, describe);
    });

  listCommand(project, 'list', 'list the projects of an organization')
    .addArgument(orgIdArgument())
    .action(async (orgId: string, options: ApiListOptions) => {
      showList(
        options,
        await connect(options).list<Project>(`v1/organizations/${orgId}/projects`, options),
        layout,
      );
    });

  apiCommand(project, 'get', 'show a project')
    .addArgument(projectIdArgument())
    .action(async (projectId: string, options: ApiOptions) => {
      showOne(options, await connect(options).get<Project>(`v1/projects/${projectId}`), describe);
    });

  apiCommand(project, 'delete', 'delete a project')
    .addArgument(projectIdArgument())
    .action(async (projectId: string, options: ApiOptions) => {
      await connect(options).delete(`v1/projects/${projectId}`);
      showDone(options, `deleted project ${projectId}`);
    });
}
