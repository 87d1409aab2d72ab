import {
  DidError,
  type DidErrorCode,
  type DidMethod,
  encodeOperation,
  type GuardianKeys,
  isPersonaDid,
  type LedgerOperation,
  type PersonaOperation,
  personaMethod,
} from '@personachain/credentials';
import type { PersonaClient } from '../resources.js';

/** A did:persona history as a PersonaChain server serves it, ready for the did:persona library to verify. */
export interface PersonaHistory {
  /** The entries in ledger order, each with its inclusion proof. */
  operations: LedgerOperation[];
  /** The hash the server gives each operation (its `versionId`), to compare with the one computed here. */
  versionIds: string[];
  /** The signed checkpoint the inclusion proofs lead to. */
  checkpoint?: string;
}

interface HistoryItem {
  operation: PersonaOperation;
  versionId: string;
  ledgerIndex: number;
  integrated: string;
  inclusionProof?: string;
}

/**
 * The operations of a did:persona DID from the server (`GET /1.0/identifiers/{did}?history=true`). Nothing
 * here is verified: hand `operations` to `verifyHistory` (or use `personaDidMethod`). A DID the server does
 * not know has no operations; any other resolution error is a `DidError` with its code.
 */
export async function personaHistory(client: PersonaClient, did: string): Promise<PersonaHistory> {
  const result = await client.dids.resolve(did, { history: true });
  const { error, errorMessage } = result.didResolutionMetadata;
  if (error === 'notFound') return { operations: [], versionIds: [] };
  if (error !== undefined) {
    throw new DidError(error as DidErrorCode, errorMessage ?? `${did} did not resolve (${error})`);
  }
  const metadata = result.didDocumentMetadata as Record<string, unknown>;
  const items = historyItems(did, metadata.operationHistory);
  return {
    operations: items.map((item) => ({
      bytes: encodeOperation(item.operation),
      ledgerIndex: item.ledgerIndex,
      integratedAt: Date.parse(item.integrated) / 1000,
      ...(item.inclusionProof === undefined ? {} : { inclusionProof: item.inclusionProof }),
    })),
    versionIds: items.map((item) => item.versionId),
    ...(typeof metadata.checkpoint === 'string' ? { checkpoint: metadata.checkpoint } : {}),
  };
}

/**
 * The did:persona method over a PersonaChain server, for `verifyCredentialOffline(…, { methods: [...] })`:
 * the server supplies the history, this side verifies it (every signature, the chaining, each operation's
 * authority), so the server is trusted only for the entries' order, time and completeness, and for the
 * keys of guardian DIDs.
 */
export function personaDidMethod(client: PersonaClient): DidMethod {
  return personaMethod({
    loadOperations: async (did) => {
      const { operations, checkpoint } = await personaHistory(client, did);
      return { operations, ...(checkpoint === undefined ? {} : { checkpoint }) };
    },
    guardianKeys: personaGuardianKeys(client),
  });
}

/** A guardian's keys as the server resolves them (a did:persona guardian as of the recovery request). */
export function personaGuardianKeys(client: PersonaClient): GuardianKeys {
  return (guardian, { integratedAt }) =>
    resolvedMultikeys(
      client,
      guardian,
      isPersonaDid(guardian) ? { versionTime: new Date(integratedAt * 1000).toISOString() } : {},
    );
}

/** The Multikeys of a DID's verification methods as the server resolves them; a failure is a `DidError`. */
export async function resolvedMultikeys(
  client: PersonaClient,
  did: string,
  options: { versionTime?: string } = {},
): Promise<string[]> {
  const result = await client.dids.resolve(did, options);
  const { error, errorMessage } = result.didResolutionMetadata;
  if (error !== undefined) {
    throw new DidError(error as DidErrorCode, errorMessage ?? `${did} did not resolve (${error})`);
  }
  return (result.didDocument?.verificationMethod ?? []).flatMap((method) =>
    typeof method.publicKeyMultibase === 'string' ? [method.publicKeyMultibase] : [],
  );
}

function historyItems(did: string, value: unknown): HistoryItem[] {
  const wellFormed =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (item) =>
        typeof item === 'object' &&
        item !== null &&
        typeof item.operation === 'object' &&
        typeof item.versionId === 'string' &&
        typeof item.ledgerIndex === 'number' &&
        typeof item.integrated === 'string' &&
        !Number.isNaN(Date.parse(item.integrated)),
    );
  if (!wellFormed) {
    throw new DidError('invalidDidDocument', `the server sent no usable operation history for ${did}`);
  }
  return value as HistoryItem[];
}
