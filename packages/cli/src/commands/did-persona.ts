import {
  buildPersonaCreate,
  buildPersonaDeactivate,
  buildPersonaRotate,
  buildPersonaUpdate,
  type Guardians,
  type PersonaService,
  type PersonaVerificationMethod,
  type RotationKeySigner,
} from '@personachain/credentials';
import { type Command, Option } from 'commander';
import { usageError } from '../errors.js';
import type { Keyring } from '../keyring/keyring.js';
import {
  assertWritable,
  build,
  currentSigner,
  keyringOption,
  openDidSession,
  openKeyring,
  projectOption,
  type SubmitOptions,
  showSubmission,
} from '../persona/context.js';
import { describeRotationKey, halves } from '../persona/rotation-keys.js';
import {
  collect,
  type KeySpec,
  parseDuration,
  parseGuardianDid,
  parseKeySpec,
  parsePersonaDid,
  parseService,
  parseThreshold,
} from '../persona/specs.js';
import { RefusedOperation, type Submission, submitOperation } from '../persona/submit.js';
import { sdkClient } from '../sdk.js';
import { apiCommand } from './api.js';

interface GuardianOptions {
  guardian?: string[];
  threshold?: number;
  recoveryDelay: number;
}

interface CreateOptions extends SubmitOptions, GuardianOptions {
  hybrid?: boolean;
  key?: KeySpec[];
  service?: PersonaService[];
}

interface UpdateOptions extends SubmitOptions {
  addKey?: KeySpec[];
  removeKey?: string[];
  addService?: PersonaService[];
  removeService?: string[];
}

interface RotateOptions extends SubmitOptions, GuardianOptions {
  hybrid?: boolean;
  /** False with --no-guardians. */
  guardians: boolean;
}

const SPEC_HELP = `
Key <spec> (--key, --add-key): a fragment such as key-1 (a new Ed25519 key, generated in the keyring, for
authentication and assertionMethod), or id=<fragment>[,algorithm=<type>|,publicKey=<multikey>][,relationships=<r>+<r>…]
  algorithm      Ed25519 (default), P-256, P-384, P-521, secp256k1, ML-DSA-44 or ML-DSA-65, generated in the keyring
  publicKey      a key held elsewhere, listed as it is
  relationships  authentication, assertionMethod, keyAgreement, capabilityInvocation, capabilityDelegation
Service <spec> (--service, --add-service): id=<fragment>,type=<type>,endpoint=<absolute URI>`;

/** `persona did create|update|rotate|deactivate`: did:persona operations signed with the local keyring. */
export function registerPersonaCommands(did: Command): void {
  withGuardianOptions(
    apiCommand(
      did,
      'create',
      'create a did:persona DID; its keys are generated and kept in the local keyring',
    )
      .addOption(projectOption(false).makeOptionMandatory())
      .option('--hybrid', 'hybrid rotation key: Ed25519 + ML-DSA-65, both must sign every operation')
      .option('--key <spec>', 'add a verification method (repeatable; see below)', collect(parseKeySpec))
      .option('--service <spec>', 'add a service (repeatable; see below)', collect(parseService))
      .addOption(keyringOption())
      .addHelpText('after', SPEC_HELP),
  ).action(async (options: CreateOptions) => {
    const client = sdkClient(options, 'required');
    const projectId = options.project as string;
    const guardians = guardiansOf(options) ?? null;
    const keyring = await openKeyring(options, { create: true });
    const rotationKey = await keyring.generateRotationKey(Boolean(options.hybrid));
    const generated = [...halves([rotationKey])];
    const verificationMethods = await newMethods(keyring, options.key ?? [], generated);
    const signer = keyring.rotationSigner([rotationKey]) as RotationKeySigner;
    const genesis = await build(() =>
      buildPersonaCreate(
        { rotationKeys: [rotationKey], verificationMethods, services: options.service ?? [], guardians },
        signer,
      ),
    );
    // The keys are on disk before the server has the operation, so an accepted DID never lacks them.
    keyring.setDid(genesis.did, { projectId });
    await keyring.save();
    const submission = await submitOrForget(keyring, generated, genesis.did, () =>
      submitOperation(client, options.url, projectId, genesis),
    );
    showSubmission(options, submission, { keyring: keyring.path });
  });

  apiCommand(did, 'update', 'change the verification methods and services of a did:persona DID')
    .argument('<did>', 'the did:persona DID', parsePersonaDid)
    .addOption(projectOption(true))
    .option('--add-key <spec>', 'add a verification method (repeatable; see below)', collect(parseKeySpec))
    .option('--remove-key <id>', 'remove the verification method with this id', collect(String))
    .option('--add-service <spec>', 'add a service (repeatable; see below)', collect(parseService))
    .option('--remove-service <id>', 'remove the service with this id', collect(String))
    .addOption(keyringOption())
    .addHelpText('after', SPEC_HELP)
    .action(async (didValue: string, options: UpdateOptions) => {
      const changes = [options.addKey, options.removeKey, options.addService, options.removeService];
      if (changes.every((change) => change === undefined)) {
        throw usageError(
          'nothing to change: give --add-key, --remove-key, --add-service or --remove-service',
        );
      }
      const { client, keyring, projectId, state } = await openDidSession(options, didValue);
      assertWritable(state);
      const signer = currentSigner(keyring, state);
      const generated: string[] = [];
      const verificationMethods = [
        ...without(state.verificationMethods, options.removeKey, 'verification method'),
        ...(await newMethods(keyring, options.addKey ?? [], generated)),
      ];
      const services = [
        ...without(state.services, options.removeService, 'service'),
        ...(options.addService ?? []),
      ];
      const update = await build(() => buildPersonaUpdate(state, { verificationMethods, services }, signer));
      if (generated.length > 0) await keyring.save();
      const submission = await submitOrForget(keyring, generated, undefined, () =>
        submitOperation(client, options.url, projectId, update),
      );
      showSubmission(options, submission);
    });

  withGuardianOptions(
    apiCommand(did, 'rotate', 'replace the rotation keys (and optionally the guardians) of a did:persona DID')
      .argument('<did>', 'the did:persona DID', parsePersonaDid)
      .addOption(projectOption(true))
      .option('--hybrid', 'the new rotation key is hybrid: Ed25519 + ML-DSA-65')
      .option('--no-guardians', 'remove the guardians (default: keep them, unless --guardian names new ones)')
      .addOption(keyringOption()),
  ).action(async (didValue: string, options: RotateOptions) => {
    if (!options.guardians && options.guardian)
      throw usageError('--no-guardians and --guardian contradict each other');
    const { client, keyring, projectId, state } = await openDidSession(options, didValue);
    assertWritable(state);
    const signer = currentSigner(keyring, state);
    const rotationKey = await keyring.generateRotationKey(Boolean(options.hybrid));
    const generated = [...halves([rotationKey])];
    const guardians = options.guardians ? guardiansOf(options) : null;
    const rotation = await build(() =>
      buildPersonaRotate(
        state,
        { rotationKeys: [rotationKey], ...(guardians === undefined ? {} : { guardians }) },
        signer,
      ),
    );
    await keyring.save();
    const submission = await submitOrForget(keyring, generated, undefined, () =>
      submitOperation(client, options.url, projectId, rotation),
    );
    // Only now that the ledger has the new keys are the old ones useless.
    keyring.remove(halves(state.rotationKeys));
    await keyring.save();
    showSubmission(options, submission, { rotationKey: describeRotationKey(rotationKey) });
  });

  apiCommand(did, 'deactivate', 'deactivate a did:persona DID for good (no operation can follow)')
    .argument('<did>', 'the did:persona DID', parsePersonaDid)
    .addOption(projectOption(true))
    .addOption(keyringOption())
    .action(async (didValue: string, options: SubmitOptions) => {
      const { client, keyring, projectId, state } = await openDidSession(options, didValue);
      assertWritable(state);
      const deactivation = await build(() => buildPersonaDeactivate(state, currentSigner(keyring, state)));
      showSubmission(options, await submitOperation(client, options.url, projectId, deactivation));
    });
}

/** `--guardian <did>…`, `--threshold <m>`, `--recovery-delay <duration>`. */
function withGuardianOptions(command: Command): Command {
  return command
    .option('--guardian <did>', 'a guardian DID (repeat for each, 1 to 16)', collect(parseGuardianDid))
    .option(
      '--threshold <m>',
      'how many guardians must sign a recovery (required with --guardian)',
      parseThreshold,
    )
    .addOption(
      new Option(
        '--recovery-delay <duration>',
        'time the holder has to cancel a recovery: 1h to 365d, e.g. 36h',
      )
        .argParser(parseDuration)
        .default(604_800, '7d'),
    );
}

function guardiansOf(options: GuardianOptions): Guardians | undefined {
  if (options.guardian === undefined) {
    if (options.threshold !== undefined) throw usageError('--threshold needs --guardian');
    return undefined;
  }
  if (options.threshold === undefined) {
    throw usageError('--threshold is required with --guardian: how many guardians must sign a recovery');
  }
  return { dids: options.guardian, threshold: options.threshold, delaySeconds: options.recoveryDelay };
}

/** The verification methods to add; keys to generate are generated in the keyring (and listed in `generated`). */
async function newMethods(
  keyring: Keyring,
  specs: readonly KeySpec[],
  generated: string[],
): Promise<PersonaVerificationMethod[]> {
  const methods: PersonaVerificationMethod[] = [];
  for (const spec of specs) {
    let publicKeyMultibase: string;
    if ('publicKeyMultibase' in spec) publicKeyMultibase = spec.publicKeyMultibase;
    else {
      publicKeyMultibase = await keyring.generate(spec.algorithm);
      generated.push(publicKeyMultibase);
    }
    methods.push({ id: spec.id, publicKeyMultibase, relationships: spec.relationships });
  }
  return methods;
}

/**
 * Submits; if the server refused, the keys generated for the operation (and the record of a DID it
 * would have created) are dropped from the keyring. Any other failure keeps them: the operation may
 * have been appended.
 */
async function submitOrForget(
  keyring: Keyring,
  generated: readonly string[],
  newDid: string | undefined,
  submit: () => Promise<Submission>,
): Promise<Submission> {
  try {
    return await submit();
  } catch (error) {
    if (error instanceof RefusedOperation && (generated.length > 0 || newDid !== undefined)) {
      keyring.remove(generated);
      if (newDid !== undefined) keyring.setDid(newDid, null);
      await keyring.save();
    }
    throw error;
  }
}

function without<T extends { id: string }>(
  items: readonly T[],
  ids: readonly string[] | undefined,
  what: string,
): T[] {
  const unknown = (ids ?? []).filter((id) => !items.some((item) => item.id === id));
  if (unknown.length > 0) throw usageError(`the DID has no ${what} ${unknown.join(', ')}`);
  return items.filter((item) => !ids?.includes(item.id));
}
