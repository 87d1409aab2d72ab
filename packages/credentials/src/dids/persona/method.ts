import { DidError } from '../errors.js';
import type { DidDocumentMetadata, DidMethod, DidMethodResolveOptions } from '../method.js';
import { metadataTime, personaDidDocument, personaDocumentMetadata } from './document.js';
import { PersonaError } from './errors.js';
import { assertPersonaDid } from './identifiers.js';
import type { GuardianKeys } from './signatures.js';
import type { LoggedOperation } from './types.js';
import { type VerifiedHistory, type VerifiedOperation, verifyHistory } from './verify.js';

/** A history entry as the ledger serves it, with its inclusion proof when one was asked for. */
export interface LedgerOperation extends LoggedOperation {
  /** Proof that the entry is in the log under `checkpoint` (a C2SP tlog-proof, as the ledger formats it). */
  inclusionProof?: string;
}

export interface LoadedOperations {
  /** The DID's entries in ledger order; empty when the ledger has none. */
  operations: LedgerOperation[];
  /** The signed checkpoint (signed note text) the inclusion proofs are relative to. */
  checkpoint?: string;
}

export interface PersonaMethodOptions {
  /** Reads a DID's operations from the ledger; `withProofs` asks for inclusion proofs and the checkpoint. */
  loadOperations(
    did: string,
    options: { withProofs: boolean; signal?: AbortSignal },
  ): Promise<LoadedOperations>;
  /** The keys of a guardian DID as of a recovery request (needed to verify histories with recoveries). */
  guardianKeys?: GuardianKeys;
}

/** One `operationHistory` item of the resolution metadata (`history: true`). */
export interface PersonaHistoryItem {
  operation: VerifiedOperation['operation'];
  versionId: string;
  ledgerIndex: number;
  integrated: string;
  inclusionProof?: string;
}

function flag(options: DidMethodResolveOptions, name: string): boolean {
  const value = options[name];
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw new DidError('invalidOptions', `${name} must be true or false`);
}

function optionalString(options: DidMethodResolveOptions, name: string): string | undefined {
  const value = options[name];
  if (value === undefined || typeof value === 'string') return value;
  throw new DidError('invalidOptions', `${name} must be a string`);
}

/** The position of the version asked for by `versionId` or `versionTime` (DID Resolution options). */
function selectVersion(verified: VerifiedHistory, options: DidMethodResolveOptions): number {
  const versionId = optionalString(options, 'versionId');
  const versionTime = optionalString(options, 'versionTime');
  const last = verified.operations.length - 1;
  if (versionId !== undefined && versionTime !== undefined) {
    throw new DidError('invalidOptions', 'versionId and versionTime cannot be combined');
  }
  if (versionId !== undefined) {
    const position = verified.operations.findIndex((entry) => entry.hash === versionId);
    if (position < 0) throw new DidError('notFound', `${verified.did} has no version ${versionId}`);
    return position;
  }
  if (versionTime !== undefined) {
    const millis = Date.parse(versionTime);
    if (
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(versionTime) ||
      Number.isNaN(millis)
    ) {
      throw new DidError('invalidOptions', 'versionTime must be an XML Schema dateTime with a time zone');
    }
    const seconds = Math.floor(millis / 1000);
    const position = verified.operations.findLastIndex((entry) => entry.integratedAt <= seconds);
    if (position < 0) throw new DidError('notFound', `${verified.did} did not exist at ${versionTime}`);
    return position;
  }
  return last;
}

/**
 * The did:persona method for `createDidResolver({ methods: [personaMethod(…)] })`. It verifies the
 * whole history on every resolution (from the entries alone: nothing the loader says is trusted but
 * their ledger order, index and time, which the inclusion proofs let a client check). Options:
 * `versionId`, `versionTime`, and `history` (true: the verified operations with their ledger positions,
 * inclusion proofs and the checkpoint go into `didDocumentMetadata.operationHistory` / `.checkpoint`).
 */
export function personaMethod(options: PersonaMethodOptions): DidMethod {
  return {
    name: 'persona',
    async resolve(did, resolveOptions) {
      assertPersonaDid(did);
      const withProofs = flag(resolveOptions, 'history');
      const loaded = await options.loadOperations(did, {
        withProofs,
        ...(resolveOptions.signal ? { signal: resolveOptions.signal } : {}),
      });
      if (loaded.operations.length === 0)
        throw new DidError('notFound', `${did} has no operations in the ledger`);
      let verified: VerifiedHistory;
      try {
        verified = await verifyHistory(loaded.operations, {
          did,
          ...(options.guardianKeys ? { guardianKeys: options.guardianKeys } : {}),
        });
      } catch (error) {
        if (!(error instanceof PersonaError)) throw error;
        throw new DidError('invalidDidDocument', `the history of ${did} does not verify: ${error.message}`, {
          cause: error,
        });
      }
      const position = selectVersion(verified, resolveOptions);
      const selected = verified.operations[position] as VerifiedOperation;
      const metadata: DidDocumentMetadata = personaDocumentMetadata(selected.state);
      const next = verified.operations[position + 1];
      if (next) {
        metadata.nextVersionId = next.hash;
        metadata.nextUpdate = metadataTime(next.integratedAt);
      }
      if (withProofs) {
        metadata.operationHistory = verified.operations
          .slice(0, position + 1)
          .map((entry, i): PersonaHistoryItem => {
            const proof = loaded.operations[i]?.inclusionProof;
            return {
              operation: entry.operation,
              versionId: entry.hash,
              ledgerIndex: entry.ledgerIndex,
              integrated: metadataTime(entry.integratedAt),
              ...(proof === undefined ? {} : { inclusionProof: proof }),
            };
          });
        if (loaded.checkpoint !== undefined) metadata.checkpoint = loaded.checkpoint;
      }
      return { didDocument: personaDidDocument(selected.state), didDocumentMetadata: metadata };
    },
  };
}
