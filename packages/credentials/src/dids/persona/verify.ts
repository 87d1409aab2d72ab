import type { DidDocument } from '../document.js';
import type { DidDocumentMetadata } from '../method.js';
import { personaDidDocument, personaDocumentMetadata } from './document.js';
import { PersonaError } from './errors.js';
import { operationHash, personaDidFromGenesis } from './identifiers.js';
import { decodeOperation } from './operation-format.js';
import {
  type GuardianKeys,
  signingInput,
  verifyGuardianSignatures,
  verifyRotationSignature,
} from './signatures.js';
import type { LoggedOperation, PersonaOperation, PersonaState, RotationSignature } from './types.js';

export interface VerifyHistoryOptions {
  /** The DID the history must belong to; default: whatever its genesis derives. */
  did?: string;
  /** Needed only when the history has a `recoveryRequest`. */
  guardianKeys?: GuardianKeys;
}

export interface VerifiedOperation extends LoggedOperation {
  operation: PersonaOperation;
  hash: string;
  /** The state right after this operation. */
  state: PersonaState;
}

export interface VerifiedHistory {
  did: string;
  state: PersonaState;
  didDocument: DidDocument;
  didDocumentMetadata: DidDocumentMetadata;
  operations: VerifiedOperation[];
}

function checkPosition(entry: LoggedOperation, previous: LoggedOperation | undefined, index: number): void {
  const { ledgerIndex, integratedAt } = entry;
  if (
    !Number.isSafeInteger(ledgerIndex) ||
    ledgerIndex < 0 ||
    !Number.isSafeInteger(integratedAt) ||
    integratedAt < 0
  ) {
    throw new PersonaError(
      'out-of-order',
      'ledgerIndex and integratedAt must be non-negative safe integers',
      index,
    );
  }
  if (previous && (ledgerIndex <= previous.ledgerIndex || integratedAt < previous.integratedAt)) {
    throw new PersonaError(
      'out-of-order',
      `ledger index ${ledgerIndex} at ${integratedAt} s does not follow ${previous.ledgerIndex} at ${previous.integratedAt} s`,
      index,
    );
  }
}

function decode(bytes: Uint8Array, index: number): PersonaOperation {
  try {
    return decodeOperation(bytes);
  } catch (error) {
    if (error instanceof PersonaError)
      throw new PersonaError(error.code, error.message, index, { cause: error });
    throw error;
  }
}

async function genesisState(
  entry: LoggedOperation,
  operation: PersonaOperation,
  hash: string,
): Promise<PersonaState> {
  if (operation.type !== 'create')
    throw new PersonaError('not-genesis', 'the first operation must be a create', 0);
  await verifyRotationSignature(
    operation.sig,
    signingInput(operation),
    operation.rotationKeys,
    'one of its rotation keys',
    0,
  );
  return {
    did: await personaDidFromGenesis(entry.bytes),
    rotationKeys: operation.rotationKeys,
    guardians: operation.guardians,
    verificationMethods: operation.verificationMethods,
    services: operation.services,
    alsoKnownAs: operation.alsoKnownAs,
    deactivated: false,
    pendingRecovery: null,
    genesis: hash,
    head: hash,
    created: entry.integratedAt,
    updated: entry.integratedAt,
  };
}

/**
 * The state after a non-genesis operation whose DID and chaining have been checked (`head` and `updated`
 * are the caller's); verifies the operation's authority.
 */
async function nextState(
  state: PersonaState,
  entry: LoggedOperation,
  operation: Exclude<PersonaOperation, { type: 'create' }>,
  hash: string,
  index: number,
  options: VerifyHistoryOptions,
): Promise<PersonaState> {
  const input = signingInput(operation);
  const pending = state.pendingRecovery;
  if (pending && operation.type !== 'recoveryCancel' && operation.type !== 'recover') {
    throw new PersonaError(
      'recovery-pending',
      `a guardian recovery is pending: only recoveryCancel or recover may follow, not ${operation.type}`,
      index,
    );
  }
  const byHolder = (sig: RotationSignature) =>
    verifyRotationSignature(sig, input, state.rotationKeys, 'a current rotation key', index);
  switch (operation.type) {
    case 'update':
      await byHolder(operation.sig);
      return {
        ...state,
        verificationMethods: operation.verificationMethods,
        services: operation.services,
        alsoKnownAs: operation.alsoKnownAs,
      };
    case 'rotate':
      if (operation.guardians?.dids.includes(state.did)) {
        throw new PersonaError('malformed', 'a DID cannot be its own guardian', index);
      }
      await byHolder(operation.sig);
      return { ...state, rotationKeys: operation.rotationKeys, guardians: operation.guardians };
    case 'deactivate':
      await byHolder(operation.sig);
      return { ...state, deactivated: true };
    case 'recoveryRequest': {
      if (!state.guardians)
        throw new PersonaError('recovery-not-configured', 'the DID has no guardians', index);
      if (!options.guardianKeys) {
        throw new PersonaError(
          'guardian-keys-failed',
          'a recovery request needs the guardianKeys resolver',
          index,
        );
      }
      const context = { ledgerIndex: entry.ledgerIndex, integratedAt: entry.integratedAt };
      await verifyGuardianSignatures(
        operation.guardianSigs,
        input,
        state.guardians,
        options.guardianKeys,
        context,
        index,
      );
      return {
        ...state,
        pendingRecovery: {
          request: hash,
          rotationKeys: operation.rotationKeys,
          effectiveAt: entry.integratedAt + state.guardians.delaySeconds,
        },
      };
    }
    case 'recoveryCancel':
      if (!pending)
        throw new PersonaError('no-pending-recovery', 'there is no recovery request to cancel', index);
      await byHolder(operation.sig);
      return { ...state, pendingRecovery: null };
    case 'recover':
      if (!pending)
        throw new PersonaError('no-pending-recovery', 'there is no recovery request to complete', index);
      await verifyRotationSignature(
        operation.sig,
        input,
        pending.rotationKeys,
        'a rotation key the recovery request names',
        index,
      );
      if (entry.integratedAt < pending.effectiveAt) {
        throw new PersonaError(
          'recovery-delay',
          `recover was integrated at ${entry.integratedAt} s; the request becomes effective at ${pending.effectiveAt} s`,
          index,
        );
      }
      return { ...state, rotationKeys: pending.rotationKeys, pendingRecovery: null };
  }
}

/**
 * Verifies a DID's whole history, as the ledger holds it (entry bytes, ledger index, integration time,
 * in ledger order), and returns the state, DID document and metadata it leads to. Throws a PersonaError
 * whose `index` is the position of the first operation that fails; nothing but the entries (and, for
 * guardian recovery, the guardians' keys) is trusted.
 */
export async function verifyHistory(
  entries: readonly LoggedOperation[],
  options: VerifyHistoryOptions = {},
): Promise<VerifiedHistory> {
  const first = entries[0];
  if (!first) throw new PersonaError('empty-history', 'the history has no operation');
  const positions = new Map<string, number>();
  const operations: VerifiedOperation[] = [];
  let state: PersonaState | undefined;
  for (const [index, entry] of entries.entries()) {
    checkPosition(entry, entries[index - 1], index);
    const operation = decode(entry.bytes, index);
    const hash = await operationHash(entry.bytes);
    if (!state) {
      state = await genesisState(entry, operation, hash);
      if (options.did !== undefined && state.did !== options.did) {
        throw new PersonaError(
          'invalid-did',
          `the genesis operation creates ${state.did}, not ${options.did}`,
          0,
        );
      }
    } else {
      if (operation.type === 'create')
        throw new PersonaError('not-genesis', 'only the first operation may be a create', index);
      if (operation.did !== state.did) {
        throw new PersonaError(
          'invalid-did',
          `the operation is for ${operation.did}, not ${state.did}`,
          index,
        );
      }
      if (operation.prev !== state.head) {
        const earlier = positions.get(operation.prev);
        throw earlier === undefined
          ? new PersonaError('not-chained', 'prev is not the hash of an earlier operation of this DID', index)
          : new PersonaError('fork', `prev names operation ${earlier}, which already has a successor`, index);
      }
      if (state.deactivated)
        throw new PersonaError('deactivated', 'the DID was deactivated by the previous operation', index);
      state = {
        ...(await nextState(state, entry, operation, hash, index, options)),
        head: hash,
        updated: entry.integratedAt,
      };
    }
    positions.set(hash, index);
    operations.push({ ...entry, operation, hash, state });
  }
  const final = state as PersonaState;
  return {
    did: final.did,
    state: final,
    didDocument: personaDidDocument(final),
    didDocumentMetadata: personaDocumentMetadata(final),
    operations,
  };
}
