import { PersonaError } from './errors.js';
import { operationHash, personaDidFromGenesis } from './identifiers.js';
import { decodeOperation, encodeOperation } from './operation-format.js';
import {
  type GuardianSigner,
  guardianSignature,
  type RotationKeySigner,
  rotationSignature,
  signingInput,
  type UnsignedOperation,
} from './signatures.js';
import type { DocumentFields, Guardians, PersonaOperation, PersonaState, RotationKey } from './types.js';

/** A signed operation, its ledger entry bytes and its hash (the next operation's `prev`). */
export interface BuiltOperation {
  operation: PersonaOperation;
  bytes: Uint8Array;
  hash: string;
}

export interface CreateInput extends Partial<DocumentFields> {
  rotationKeys: RotationKey[];
  guardians?: Guardians | null;
}

/**
 * Encodes and re-decodes the signed operation, so a builder never returns what the verifier would refuse
 * as malformed (signature authority is the verifier's to judge, against the whole history).
 */
async function finish(operation: PersonaOperation): Promise<BuiltOperation> {
  const bytes = encodeOperation(operation);
  return { operation: decodeOperation(bytes), bytes, hash: await operationHash(bytes) };
}

function requireKey(keys: readonly RotationKey[], signer: RotationKeySigner, who: string): void {
  if (!keys.some((key) => key.ed25519 === signer.key.ed25519 && key.mlDsa65 === signer.key.mlDsa65)) {
    throw new PersonaError('unauthorized', `the signer's key is not ${who}`);
  }
}

async function signedByRotationKey<T extends UnsignedOperation>(
  unsigned: T,
  signer: RotationKeySigner,
): Promise<BuiltOperation> {
  const sig = await rotationSignature(signer, signingInput(unsigned));
  return finish({ ...unsigned, sig } as PersonaOperation);
}

function chained(state: Pick<PersonaState, 'did' | 'head'>) {
  return { did: state.did, prev: state.head };
}

/** The genesis operation, signed by one of its own rotation keys, and the DID it creates. */
export async function buildPersonaCreate(
  input: CreateInput,
  signer: RotationKeySigner,
): Promise<BuiltOperation & { did: string }> {
  requireKey(input.rotationKeys, signer, 'one of the new rotation keys');
  const built = await signedByRotationKey(
    {
      type: 'create',
      prev: null,
      rotationKeys: input.rotationKeys,
      verificationMethods: input.verificationMethods ?? [],
      services: input.services ?? [],
      alsoKnownAs: input.alsoKnownAs ?? [],
      guardians: input.guardians ?? null,
    },
    signer,
  );
  return { ...built, did: await personaDidFromGenesis(built.bytes) };
}

/** Replaces the document fields given in `changes` (the others stay as in `state`). */
export async function buildPersonaUpdate(
  state: PersonaState,
  changes: Partial<DocumentFields>,
  signer: RotationKeySigner,
): Promise<BuiltOperation> {
  requireKey(state.rotationKeys, signer, 'a current rotation key');
  return signedByRotationKey(
    {
      type: 'update',
      ...chained(state),
      verificationMethods: changes.verificationMethods ?? state.verificationMethods,
      services: changes.services ?? state.services,
      alsoKnownAs: changes.alsoKnownAs ?? state.alsoKnownAs,
    },
    signer,
  );
}

/** New rotation keys and guardians (`guardians` undefined keeps the current ones, null removes them). */
export async function buildPersonaRotate(
  state: PersonaState,
  changes: { rotationKeys: RotationKey[]; guardians?: Guardians | null },
  signer: RotationKeySigner,
): Promise<BuiltOperation> {
  requireKey(state.rotationKeys, signer, 'a current rotation key');
  return signedByRotationKey(
    {
      type: 'rotate',
      ...chained(state),
      rotationKeys: changes.rotationKeys,
      guardians: changes.guardians === undefined ? state.guardians : changes.guardians,
    },
    signer,
  );
}

export async function buildPersonaDeactivate(
  state: PersonaState,
  signer: RotationKeySigner,
): Promise<BuiltOperation> {
  requireKey(state.rotationKeys, signer, 'a current rotation key');
  return signedByRotationKey({ type: 'deactivate', ...chained(state) }, signer);
}

/**
 * A recovery request proposing `rotationKeys`, signed by each of `guardians` over the same bytes (a
 * signer may be remote: its `sign` can ask the guardian's wallet). At least the threshold must sign.
 */
export async function buildPersonaRecoveryRequest(
  state: PersonaState,
  rotationKeys: RotationKey[],
  guardians: readonly GuardianSigner[],
): Promise<BuiltOperation> {
  const unsigned = { type: 'recoveryRequest', ...chained(state), rotationKeys } as const;
  const input = signingInput(unsigned);
  const guardianSigs = [];
  for (const guardian of guardians) guardianSigs.push(await guardianSignature(guardian, input));
  return finish({ ...unsigned, guardianSigs });
}

/** Cancels the pending recovery: signed by a current rotation key during the delay. */
export async function buildPersonaRecoveryCancel(
  state: PersonaState,
  signer: RotationKeySigner,
): Promise<BuiltOperation> {
  requireKey(state.rotationKeys, signer, 'a current rotation key');
  return signedByRotationKey({ type: 'recoveryCancel', ...chained(state) }, signer);
}

/** Completes the pending recovery: signed by one of the rotation keys the request names. */
export async function buildPersonaRecover(
  state: PersonaState,
  signer: RotationKeySigner,
): Promise<BuiltOperation> {
  if (!state.pendingRecovery)
    throw new PersonaError('no-pending-recovery', 'there is no recovery request to complete');
  requireKey(state.pendingRecovery.rotationKeys, signer, 'a rotation key the recovery request names');
  return signedByRotationKey({ type: 'recover', ...chained(state) }, signer);
}
