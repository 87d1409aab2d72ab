import { type BuiltOperation, PersonaError, type PersonaState } from '@personachain/credentials';
import type { PersonaClient } from '@personachain/sdk';
import { Option } from 'commander';
import { type ApiOptions, idParser } from '../commands/api.js';
import { CliError, usageError } from '../errors.js';
import { keyringPath } from '../keyring/file.js';
import { Keyring, type OpenOptions } from '../keyring/keyring.js';
import { type Field, showOne } from '../output.js';
import { sdkClient } from '../sdk.js';
import { verifiedState } from './history.js';
import type { Submission } from './submit.js';

export interface KeyringOptions {
  keyring?: string;
}

/** Options of the commands that sign with the keyring and submit to a project. */
export interface SubmitOptions extends ApiOptions, KeyringOptions {
  project?: string;
}

export function keyringOption(): Option {
  return new Option(
    '--keyring <file>',
    'keyring file (default: PERSONA_KEYRING, else $XDG_CONFIG_HOME/persona/keyring.json)',
  );
}

export function projectOption(remembered: boolean): Option {
  const description = remembered
    ? 'project id (prj_…; default: the project the keyring recorded for the DID)'
    : 'project id (prj_…)';
  return new Option('--project <projectId>', description).argParser(idParser('prj'));
}

export function openKeyring(options: KeyringOptions, open: OpenOptions): Promise<Keyring> {
  return Keyring.open(keyringPath(options.keyring), open);
}

/** `--project`, else the project the keyring recorded for the DID. */
export function projectOf(options: SubmitOptions, keyring: Keyring | undefined, did: string): string {
  const projectId = options.project ?? keyring?.did(did)?.projectId;
  if (projectId === undefined) {
    throw usageError(`--project is required: the keyring has no project recorded for ${did}`);
  }
  return projectId;
}

/** What a command acting on an existing DID starts from: the API, the keyring, the project and the DID's state. */
export interface DidSession {
  client: PersonaClient;
  keyring: Keyring;
  projectId: string;
  /** The DID's current state, from its history verified here. */
  state: PersonaState;
}

export async function openDidSession(options: SubmitOptions, did: string): Promise<DidSession> {
  const client = sdkClient(options, 'required');
  const keyring = await openKeyring(options, { create: false });
  const projectId = projectOf(options, keyring, did);
  return { client, keyring, projectId, state: await verifiedState(client, options.url, did) };
}

/** Builds an operation with the library; what it refuses is bad input on this command line. */
export async function build<T extends BuiltOperation>(make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    if (error instanceof PersonaError) throw usageError(`the operation is not valid: ${error.message}`);
    throw error;
  }
}

/** Refuses to sign on a DID that can take no operation but a recovery's (or none at all). */
export function assertWritable(state: PersonaState): void {
  if (state.deactivated) throw new CliError(`${state.did} is deactivated: it takes no more operations`);
  if (state.pendingRecovery) {
    throw new CliError(`a guardian recovery of ${state.did} is pending`, 1, [
      `effective at ${isoTime(state.pendingRecovery.effectiveAt)}; until then only \`persona did recover cancel\` (by a current rotation key) or, after it, \`persona did recover complete\` are possible`,
    ]);
  }
}

/** The keyring's signer for one of the DID's current rotation keys. */
export function currentSigner(keyring: Keyring, state: PersonaState) {
  const signer = keyring.rotationSigner(state.rotationKeys);
  if (!signer) {
    throw new CliError(`the keyring ${keyring.path} holds no current rotation key of ${state.did}`, 1, [
      'the DID may have been rotated or recovered with keys kept elsewhere',
    ]);
  }
  return signer;
}

export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** Prints what the server made of an operation, with extra fields (and the same in --json). */
export function showSubmission(
  options: ApiOptions,
  submission: Submission,
  extra: Record<string, string | null> = {},
): void {
  showOne(options, { ...submission, ...extra }, (shown): Field[] => [
    ['did', shown.did],
    ['operation', shown.type],
    ['versionId', shown.versionId],
    [
      'ledgerIndex',
      shown.ledgerIndex === null ? 'pending (accepted, not yet in the ledger)' : String(shown.ledgerIndex),
    ],
    ...Object.entries(extra),
  ]);
}
