import {
  approveRecovery,
  cancelRecovery,
  completeRecovery,
  createPersonaApi,
  FileVaultStateStore,
  RecoveryError,
  type RecoveryRequest,
  type RecoverySetup,
  type RecoveryTarget,
  recoveryRequest,
  recoverySetup,
  requestRecovery,
  setupRecovery,
  type Vault,
} from '@personachain/sdk';
import type { MemberPublicKeys } from '@personachain/vaults';
import { Argument, type Command, InvalidArgumentError, Option } from 'commander';
import { CliError, usageError } from '../errors.js';
import { type Field, printable, showDone, showOne } from '../output.js';
import { vaultError } from '../vault/errors.js';
import {
  apiConnection,
  keyringOption,
  type MemberOptions,
  memberCall,
  openMember,
  openVaultKeyring,
  projectFor,
  projectOption,
  stateDirectory,
  type VaultKeyringOptions,
  withMemberOptions,
} from '../vault/member.js';
import {
  parseKeyName,
  parseMemberKeyId,
  parseSubject,
  readPublicKeys,
  vaultIdArgument,
} from '../vault/parse.js';
import { type ApiOptions, apiCommand, connect, idParser } from './api.js';

/** `--guardian <subject>=<file>` as given; the file is read when the command runs. */
interface GuardianSpec {
  subject: string;
  file: string;
}

interface SetupOptions extends MemberOptions {
  threshold: number;
  guardian: GuardianSpec[];
}

interface GuardianOptions extends VaultKeyringOptions {
  as: string;
  keys: string;
  ephemeralKeyId: string;
}

interface CompleteOptions extends VaultKeyringOptions {
  name: string;
  keyId?: string;
}

const requestIdArgument = () =>
  new Argument('<requestId>', 'recovery request id (vrr_…)').argParser(idParser('vrr'));

const describeSetup = (setup: RecoverySetup): Field[] => [
  ['setupId', setup.setupId],
  ['threshold', `${setup.threshold} of ${setup.guardians.length} guardians`],
  ...setup.guardians.map((guardian): Field => ['guardian', `${guardian.subject} (${guardian.keyId})`]),
  ['created', setup.createdAt],
];

const describeRequest = (request: RecoveryRequest): Field[] => [
  ['requestId', request.id],
  ['status', request.status],
  ['ephemeralKeyId', request.ephemeralKeyId],
  [
    'approvals',
    `${request.approvals.length} of ${request.threshold} needed${request.approvals.length > 0 ? `: ${request.approvals.map((approval) => approval.guardian).join(', ')}` : ''}`,
  ],
  ['expires', request.expiresAt],
];

/**
 * `persona vault recovery setup|show|request|status|approve|complete|cancel`: the owner's key seed split
 * M-of-N among guardians, each share sealed to a guardian on the owner's machine; recovery re-seals the
 * shares to a key of the new device. The server only relays sealed shares.
 */
export function registerVaultRecoveryCommands(vault: Command): void {
  const recovery = vault
    .command('recovery')
    .description("guardian recovery of the owner's keys (Shamir M of N, shares sealed to the guardians)");

  withMemberOptions(
    apiCommand(
      recovery,
      'setup',
      "split the owner's key seed among guardians (owner; replaces any earlier setup)",
    )
      .addArgument(vaultIdArgument())
      .addOption(
        new Option('--threshold <m>', 'how many guardians must approve a recovery (2 or more)')
          .argParser(parseThreshold)
          .makeOptionMandatory(),
      )
      .addOption(
        new Option(
          '--guardian <subject=file>',
          'a guardian and its public keys (`persona vault keys show` output); repeat for each, 2 to 16',
        )
          .argParser(collectGuardian)
          .makeOptionMandatory(),
      ),
  ).action(async (vaultId: string, options: SetupOptions) => {
    if (options.threshold > options.guardian.length) {
      throw usageError(
        `--threshold ${options.threshold} is more than the ${options.guardian.length} guardians given`,
      );
    }
    const guardians: { subject: string; publicKeys: MemberPublicKeys }[] = [];
    for (const { subject, file } of options.guardian) {
      if (guardians.some((guardian) => guardian.subject === subject))
        throw usageError(`guardian ${subject} is given twice`);
      guardians.push({ subject, publicKeys: (await readPublicKeys(file)).publicKeys });
    }
    const { vault: client, keys, subject, projectId } = await openMember(options, vaultId);
    await memberCall(options, () => client.refresh());
    if (client.manifest.owner !== subject) {
      throw new CliError(`only the owner of ${vaultId} (${client.manifest.owner}) sets up its recovery`);
    }
    const session = () => client.sessionToken();
    const setup = await memberCall(options, () =>
      setupRecovery(
        { api: createPersonaApi(apiConnection(options)), projectId, vaultId, keys, session },
        { threshold: options.threshold, guardians },
      ),
    );
    showOne(options, setup, describeSetup);
  });

  apiCommand(recovery, 'show', "show the vault's recovery setup: threshold and guardians")
    .addArgument(vaultIdArgument())
    .addOption(projectOption('project id (prj_…; default: the one the keyring recorded for the vault)'))
    .addOption(keyringOption())
    .action(async (vaultId: string, options: VaultKeyringOptions) => {
      const target = await recoveryTarget(options, vaultId);
      showOne(options, await call(options, () => recoverySetup(target)), describeSetup);
    });

  apiCommand(recovery, 'request', 'on a new device: ask the guardians to recover the owner’s keys')
    .addArgument(vaultIdArgument())
    .addOption(projectOption().makeOptionMandatory())
    .addOption(keyringOption())
    .addHelpText(
      'after',
      '\nA new key pair for this request is kept (sealed) in the vault keyring until `recovery complete`. Tell each guardian the request id and the ephemeral key id over a channel they trust.',
    )
    .action(async (vaultId: string, options: VaultKeyringOptions) => {
      const target = await recoveryTarget(options, vaultId);
      const keyring = await openVaultKeyring(options);
      // Unlocked before the request exists, so a wrong passphrase leaves nothing behind on the server.
      await keyring.unlock();
      const { request, ephemeral } = await call(options, () => requestRecovery(target));
      await keyring.addRecovery({ requestId: request.id, vaultId, projectId: target.projectId, ephemeral });
      await keyring.save();
      ephemeral.secretKey.fill(0);
      showOne(options, request, describeRequest);
      if (!options.json) {
        process.stderr.write(
          `${printable(`each guardian runs: persona vault recovery approve ${vaultId} ${request.id} --ephemeral-key-id ${request.ephemeralKeyId} --as <guardian> --keys <their keys>`)}\n`,
        );
      }
    });

  apiCommand(recovery, 'status', 'show a recovery request: status and approvals')
    .addArgument(vaultIdArgument())
    .addArgument(requestIdArgument())
    .addOption(projectOption('project id (prj_…; default: the one the keyring recorded for the vault)'))
    .addOption(keyringOption())
    .action(async (vaultId: string, requestId: string, options: VaultKeyringOptions) => {
      const target = await recoveryTarget(options, vaultId);
      showOne(options, await call(options, () => recoveryRequest({ ...target, requestId })), describeRequest);
    });

  apiCommand(recovery, 'approve', 'as a guardian: re-seal your share to the requesting device and sign')
    .addArgument(vaultIdArgument())
    .addArgument(requestIdArgument())
    .addOption(
      new Option('--as <subject>', 'the guardian subject you approve as')
        .argParser(parseSubject)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--keys <name>', 'your guardian keys in the vault keyring')
        .argParser(parseKeyName)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--ephemeral-key-id <id>',
        'the ephemeral key id the owner told you over a channel you trust: another request is refused',
      ).makeOptionMandatory(),
    )
    .addOption(projectOption('project id (prj_…; default: the one the keyring recorded for the vault)'))
    .addOption(keyringOption())
    .action(async (vaultId: string, requestId: string, options: GuardianOptions) => {
      const target = await recoveryTarget(options, vaultId);
      const keyring = await openVaultKeyring(options);
      const keys = await keyring.memberKeys(options.keys);
      const request = await call(options, () =>
        approveRecovery({
          ...target,
          requestId,
          guardian: { subject: options.as, keys },
          expectedEphemeralKeyId: options.ephemeralKeyId,
        }),
      );
      showOne(options, request, describeRequest);
    });

  apiCommand(
    recovery,
    'complete',
    "rebuild the owner's keys from the guardians' shares and keep them in the keyring",
  )
    .addArgument(vaultIdArgument())
    .addArgument(requestIdArgument())
    .addOption(
      new Option('--name <name>', 'the local name to keep the recovered keys under')
        .argParser(parseKeyName)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--key-id <vk_…>',
        "the owner's key id, from a source you trust (default: the one pinned for the vault on this machine)",
      ).argParser(parseMemberKeyId),
    )
    .addOption(keyringOption())
    .action(async (vaultId: string, requestId: string, options: CompleteOptions) => {
      const keyring = await openVaultKeyring(options);
      if (keyring.member(options.name)) {
        throw usageError(`the vault keyring ${keyring.path} already has member keys named ${options.name}`);
      }
      const pinned = await new FileVaultStateStore(stateDirectory(keyring))
        .load(vaultId)
        .catch(() => undefined);
      const expectedKeyId = options.keyId ?? pinned?.ownerKeyId;
      if (expectedKeyId === undefined) {
        throw usageError(
          `--key-id is required: no verified state of ${vaultId} on this machine names the owner's key`,
          [
            'it is the key id `persona vault keys show` printed for the lost keys, or `persona vault members` shows',
          ],
        );
      }
      if (pinned && options.keyId !== undefined && pinned.ownerKeyId !== options.keyId) {
        throw usageError(
          `--key-id is not the owner key pinned for ${vaultId} on this machine (${pinned.ownerKeyId})`,
        );
      }
      const pending = await keyring.recovery(requestId);
      if (pending.vaultId !== vaultId)
        throw usageError(`the recovery request ${requestId} is for ${pending.vaultId}`);
      const target: RecoveryTarget = {
        api: createPersonaApi(apiConnection(options)),
        projectId: pending.projectId,
        vaultId,
      };
      try {
        const keys = await call(options, () =>
          completeRecovery({ ...target, requestId, ephemeral: pending.ephemeral, expectedKeyId }),
        );
        const owner = (
          await connect(options).get<Vault>(`v1/projects/${pending.projectId}/vaults/${vaultId}`)
        ).owner;
        const added = await keyring.add(options.name, keys);
        keyring.removeRecovery(requestId);
        keyring.setVault(vaultId, { projectId: pending.projectId, keys: options.name, subject: owner });
        await keyring.save();
        showOne(
          options,
          { vaultId, owner, name: added.name, keyId: added.keyId, keyring: keyring.path },
          (shown) => [
            ['vault', shown.vaultId],
            ['owner', shown.owner],
            ['keys', `${shown.name} (${shown.keyId})`],
            ['keyring', shown.keyring],
          ],
        );
      } finally {
        pending.ephemeral.secretKey.fill(0);
      }
    });

  withMemberOptions(
    apiCommand(recovery, 'cancel', 'as the owner: cancel a recovery request you did not make')
      .addArgument(vaultIdArgument())
      .addArgument(requestIdArgument()),
  ).action(async (vaultId: string, requestId: string, options: MemberOptions) => {
    const { vault: client, keys, projectId } = await openMember(options, vaultId);
    const session = () => client.sessionToken();
    await call(options, () =>
      cancelRecovery({
        api: createPersonaApi(apiConnection(options)),
        projectId,
        vaultId,
        keys,
        session,
        requestId,
      }),
    );
    showDone(options, `canceled the recovery request ${requestId}`);
  });
}

/** The API and project a recovery call goes to: --project, else the project recorded for the vault. */
async function recoveryTarget(options: VaultKeyringOptions, vaultId: string): Promise<RecoveryTarget> {
  return {
    api: createPersonaApi(apiConnection(options)),
    projectId: await projectFor(options, vaultId),
    vaultId,
  };
}

async function call<T>(options: ApiOptions, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof RecoveryError) throw new CliError(error.message);
    throw vaultError(error, options.url);
  }
}

function parseThreshold(value: string): number {
  if (!/^\d{1,2}$/.test(value) || Number(value) < 2 || Number(value) > 16) {
    throw new InvalidArgumentError('Expected a number from 2 to 16.');
  }
  return Number(value);
}

function collectGuardian(value: string, previous: GuardianSpec[] | undefined): GuardianSpec[] {
  // Split at the last "=": a DID may contain one, a key file name rarely does.
  const at = value.lastIndexOf('=');
  if (at <= 0 || at === value.length - 1) {
    throw new InvalidArgumentError('Expected <subject>=<public keys file>, e.g. usr_…=guardian.json.');
  }
  const subject = parseSubject(value.slice(0, at));
  const list = [...(previous ?? []), { subject, file: value.slice(at + 1) }];
  if (list.length > 16) throw new InvalidArgumentError('At most 16 guardians.');
  return list;
}
