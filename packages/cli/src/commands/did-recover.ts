import {
  buildPersonaRecover,
  buildPersonaRecoveryCancel,
  buildPersonaRecoveryRequest,
  type GuardianSignature,
  type GuardianSigner,
  isPersonaDid,
  type PersonaState,
  type RecoveryRequestOperation,
  type RotationKey,
} from '@personachain/credentials';
import { fromBase64Url } from '@personachain/crypto';
import { type Command, Option } from 'commander';
import { CliError, usageError } from '../errors.js';
import { readJsonObject, writeJson } from '../json-file.js';
import { printable } from '../output.js';
import {
  build,
  currentSigner,
  isoTime,
  type KeyringOptions,
  keyringOption,
  openDidSession,
  openKeyring,
  projectOption,
  type SubmitOptions,
  showSubmission,
} from '../persona/context.js';
import { documentKeys, verifiedState } from '../persona/history.js';
import { describeRotationKey, halves } from '../persona/rotation-keys.js';
import { parseGuardianDid, parsePersonaDid } from '../persona/specs.js';
import { submitOperation } from '../persona/submit.js';
import { sdkClient } from '../sdk.js';
import { type ApiOptions, apiCommand, idParser, urlOption } from './api.js';

/** The unsigned recovery request the guardians sign (docs/did-persona.md §5). */
interface RecoveryRequest {
  type: 'recoveryRequest';
  did: string;
  prev: string;
  rotationKeys: RotationKey[];
}

interface RequestOptions extends ApiOptions, KeyringOptions {
  project?: string;
  hybrid?: boolean;
  out?: string;
}

interface SignOptions extends ApiOptions, KeyringOptions {
  guardian: string;
  out?: string;
}

/**
 * `persona did recover request|sign|submit|cancel|complete`: guardian recovery. The holder who lost the
 * rotation keys makes new ones and a request; M guardians sign it, each with their own keyring; anyone
 * submits it with the signatures; after the delay the new keys' holder completes it, unless a holder of a
 * current rotation key cancels it first.
 */
export function registerRecoverCommands(did: Command): void {
  const recover = did
    .command('recover')
    .description('recover a did:persona DID through its guardians (M of N, after a delay)');

  recover
    .command('request')
    .description('generate new rotation keys and write the recovery request for the guardians')
    .argument('<did>', 'the did:persona DID to recover', parsePersonaDid)
    .option('--hybrid', 'the new rotation key is hybrid: Ed25519 + ML-DSA-65')
    .addOption(
      new Option(
        '--project <projectId>',
        'project id (prj_…), recorded for `persona did recover complete`',
      ).argParser(idParser('prj')),
    )
    .option('--out <file>', 'write the request here (default: stdout)')
    .addOption(keyringOption())
    .addOption(urlOption())
    .action(async (didValue: string, options: RequestOptions) => {
      const client = sdkClient(options, 'optional');
      const state = await verifiedState(client, options.url, didValue);
      if (state.deactivated) throw new CliError(`${didValue} is deactivated: it cannot be recovered`);
      if (!state.guardians) throw new CliError(`${didValue} has no guardians: it cannot be recovered`);
      if (state.pendingRecovery) throw new CliError(`a recovery of ${didValue} is already pending`);
      const keyring = await openKeyring(options, { create: true });
      const rotationKey = await keyring.generateRotationKey(Boolean(options.hybrid));
      const projectId = options.project ?? keyring.did(didValue)?.projectId;
      if (projectId !== undefined) keyring.setDid(didValue, { projectId });
      await keyring.save();
      const request: RecoveryRequest = {
        type: 'recoveryRequest',
        did: state.did,
        prev: state.head,
        rotationKeys: [rotationKey],
      };
      await writeJson(options.out, request);
      const { threshold, dids } = state.guardians;
      process.stderr.write(
        `new rotation key ${describeRotationKey(rotationKey)} kept in ${keyring.path}\n` +
          `${threshold} of the ${dids.length} guardians must sign the request (\`persona did recover sign\`)\n`,
      );
    });

  recover
    .command('sign')
    .description("sign a recovery request as one of the DID's guardians")
    .argument('<request>', 'the request file, as `persona did recover request` wrote it')
    .requiredOption(
      '--guardian <did>',
      'the guardian DID you sign for (its key must be in your keyring)',
      parseGuardianDid,
    )
    .option('--out <file>', 'write the signature here (default: stdout)')
    .addOption(keyringOption())
    .addOption(urlOption())
    .action(async (path: string, options: SignOptions) => {
      const request = await readRequest(path);
      const client = sdkClient(options, 'optional');
      const state = await currentFor(request, await verifiedState(client, options.url, request.did));
      if (!state.guardians?.dids.includes(options.guardian)) {
        throw new CliError(`${options.guardian} is not a guardian of ${request.did}`);
      }
      const keyring = await openKeyring(options, { create: false });
      const key = (await documentKeys(client, options.url, options.guardian)).find((candidate) =>
        keyring.has(candidate),
      );
      if (key === undefined) {
        throw new CliError(`the keyring ${keyring.path} holds no key of ${options.guardian}`);
      }
      const signer: GuardianSigner = { did: options.guardian, key, sign: keyring.signer(key) };
      const signed = await build(() => buildPersonaRecoveryRequest(state, request.rotationKeys, [signer]));
      await writeJson(options.out, (signed.operation as RecoveryRequestOperation).guardianSigs[0]);
      const keys = request.rotationKeys.map(describeRotationKey).join(', ');
      process.stderr.write(
        `${printable(`signed the recovery of ${request.did} to ${keys}: make sure its holder asked for exactly these keys`)}\n`,
      );
    });

  apiCommand(recover, 'submit', 'submit a recovery request with the guardians’ signatures')
    .argument('<request>', 'the request file')
    .argument('<signatures...>', 'the signature files the guardians wrote with `persona did recover sign`')
    .addOption(projectOption(false).makeOptionMandatory())
    .action(async (path: string, signaturePaths: string[], options: SubmitOptions) => {
      const request = await readRequest(path);
      const signers = await Promise.all(signaturePaths.map(readSignature));
      const client = sdkClient(options, 'required');
      const projectId = options.project as string;
      const state = await currentFor(request, await verifiedState(client, options.url, request.did));
      const operation = await build(() => buildPersonaRecoveryRequest(state, request.rotationKeys, signers));
      const submission = await submitOperation(client, options.url, projectId, operation);
      const delay = state.guardians?.delaySeconds ?? 0;
      const pending = (await verifiedState(client, options.url, request.did)).pendingRecovery;
      showSubmission(options, submission, {
        effective: pending ? isoTime(pending.effectiveAt) : `${delay} s after integration`,
      });
    });

  apiCommand(recover, 'cancel', 'cancel a pending recovery with a current rotation key')
    .argument('<did>', 'the did:persona DID', parsePersonaDid)
    .addOption(projectOption(true))
    .addOption(keyringOption())
    .action(async (didValue: string, options: SubmitOptions) => {
      const { client, keyring, projectId, state } = await openDidSession(options, didValue);
      if (!state.pendingRecovery) throw new CliError(`no recovery of ${didValue} is pending`);
      const cancel = await build(() => buildPersonaRecoveryCancel(state, currentSigner(keyring, state)));
      showSubmission(options, await submitOperation(client, options.url, projectId, cancel));
    });

  apiCommand(recover, 'complete', 'install the requested rotation keys once the delay is over')
    .argument('<did>', 'the did:persona DID', parsePersonaDid)
    .addOption(projectOption(true))
    .addOption(keyringOption())
    .action(async (didValue: string, options: SubmitOptions) => {
      const { client, keyring, projectId, state } = await openDidSession(options, didValue);
      const pending = state.pendingRecovery;
      if (!pending) throw new CliError(`no recovery of ${didValue} is pending`);
      const signer = keyring.rotationSigner(pending.rotationKeys);
      if (!signer) {
        throw new CliError(
          `the keyring ${keyring.path} holds none of the rotation keys the recovery request names`,
        );
      }
      // The ledger's clock decides whether the delay is over: the server refuses `recover` before it.
      const recovery = await build(() => buildPersonaRecover(state, signer));
      const submission = await submitOperation(client, options.url, projectId, recovery);
      keyring.remove(halves(state.rotationKeys));
      keyring.setDid(didValue, { projectId });
      await keyring.save();
      showSubmission(options, submission);
    });
}

/** The DID's state, provided the request was made on its current head (it pins `prev`). */
async function currentFor(request: RecoveryRequest, state: PersonaState): Promise<PersonaState> {
  if (state.deactivated) throw new CliError(`${request.did} is deactivated`);
  if (state.pendingRecovery) throw new CliError(`a recovery of ${request.did} is already pending`);
  if (state.head !== request.prev) {
    throw new CliError(`the request is out of date: ${request.did} has changed since it was made`, 1, [
      'make a new one with `persona did recover request`',
    ]);
  }
  return state;
}

async function readRequest(path: string): Promise<RecoveryRequest> {
  const { type, did, prev, rotationKeys } = await readJsonObject(path, 'a recovery request');
  if (
    type !== 'recoveryRequest' ||
    !isPersonaDid(did) ||
    typeof prev !== 'string' ||
    !Array.isArray(rotationKeys)
  ) {
    throw usageError(`${path} is not a recovery request`, [
      'it needs {type: "recoveryRequest", did, prev, rotationKeys}, as `persona did recover request` writes it',
    ]);
  }
  return { type, did, prev, rotationKeys: rotationKeys as RotationKey[] };
}

/** A guardian's signature as a signer that gives it back, so the library assembles the request. */
async function readSignature(path: string): Promise<GuardianSigner> {
  const { did, key, sig } = (await readJsonObject(
    path,
    'a guardian signature',
  )) as Partial<GuardianSignature>;
  let signature: Uint8Array | undefined;
  try {
    signature = typeof sig === 'string' ? fromBase64Url(sig) : undefined;
  } catch {
    signature = undefined;
  }
  if (typeof did !== 'string' || typeof key !== 'string' || signature === undefined) {
    throw usageError(`${path} is not a guardian signature`, [
      'it needs {did, key, sig}, as `persona did recover sign` writes it',
    ]);
  }
  const bytes = signature;
  return { did, key, sign: async () => bytes };
}
