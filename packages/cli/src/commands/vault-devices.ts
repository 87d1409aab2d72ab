import { type Command, Option } from 'commander';
import { type Field, type ListLayout, showDone, showList, showOne } from '../output.js';
import { projectOption } from '../vault/member.js';
import { parseSubject } from '../vault/parse.js';
import { type ApiListOptions, type ApiOptions, apiCommand, connect, idParser, listCommand } from './api.js';

interface Device {
  id: string;
  subject: string;
  label: string | null;
  createdAt: string;
}

interface AddOptions extends ApiOptions {
  project: string;
  subject: string;
  fingerprintHash: string;
  label?: string;
}

const describe = (device: Device): Field[] => [
  ['id', device.id],
  ['subject', device.subject],
  ['label', device.label],
  ['created', device.createdAt],
];

const layout: ListLayout<Device> = {
  headers: ['ID', 'SUBJECT', 'LABEL', 'CREATED'],
  row: (device) => [device.id, device.subject, device.label ?? '-', device.createdAt],
  empty: 'no devices',
};

/**
 * `persona vault devices add|ls|rm`: members' registered devices, by the hash of a fingerprint the
 * application computes. A session whose --device-fingerprint is a registered device of its member scores
 * as a known device.
 */
export function registerVaultDeviceCommands(vault: Command): void {
  const devices = vault.command('devices').description("members' registered devices (fingerprint hashes)");

  apiCommand(devices, 'add', "register a member's device by the hash of its fingerprint")
    .addOption(projectOption().makeOptionMandatory())
    .addOption(new Option('--subject <subject>', 'the member').argParser(parseSubject).makeOptionMandatory())
    .addOption(
      new Option(
        '--fingerprint-hash <hash>',
        'the device fingerprint hash, as sessions will send it',
      ).makeOptionMandatory(),
    )
    .option('--label <label>', 'a label, e.g. "Alice’s laptop"')
    .action(async (options: AddOptions) => {
      const device = await connect(options).post<Device>(`v1/projects/${options.project}/vault-devices`, {
        subject: options.subject,
        fingerprintHash: options.fingerprintHash,
        ...(options.label === undefined ? {} : { label: options.label }),
      });
      showOne(options, device, describe);
    });

  listCommand(devices, 'ls', 'list registered devices')
    .alias('list')
    .addOption(projectOption().makeOptionMandatory())
    .addOption(new Option('--subject <subject>', 'only this member’s').argParser(parseSubject))
    .action(async (options: ApiListOptions & { project: string; subject?: string }) => {
      const query = options.subject === undefined ? '' : `?subject=${encodeURIComponent(options.subject)}`;
      showList(
        options,
        await connect(options).list<Device>(`v1/projects/${options.project}/vault-devices${query}`, options),
        layout,
      );
    });

  apiCommand(devices, 'rm', 'delete a registered device')
    .argument('<deviceId>', 'device id (vdv_…)', idParser('vdv'))
    .addOption(projectOption().makeOptionMandatory())
    .action(async (deviceId: string, options: ApiOptions & { project: string }) => {
      await connect(options).delete(`v1/projects/${options.project}/vault-devices/${deviceId}`);
      showDone(options, `deleted device ${deviceId}`);
    });
}
