import { DidError, type PersonaState, verifyHistory } from '@personachain/credentials';
import {
  type PersonaClient,
  personaGuardianKeys,
  personaHistory,
  resolvedMultikeys,
} from '@personachain/sdk';
import { CliError } from '../errors.js';
import { sdkError } from '../sdk.js';

/**
 * The DID's current state, from its history on the server's ledger (`?history=true`), verified here with
 * the did:persona library before anything is signed on top of it: every signature, the chaining and the
 * authority of each operation are checked, so a server cannot make this CLI extend a forged history.
 * What stays trusted is completeness (the server could omit the latest entries; the ledger then refuses
 * the operation as a fork) and the keys it resolves for guardian DIDs.
 */
export async function verifiedState(client: PersonaClient, url: string, did: string): Promise<PersonaState> {
  const { operations, versionIds } = await personaHistory(client, did).catch((error: unknown) => {
    throw resolutionError(did, error, url);
  });
  if (operations.length === 0) throw new CliError(`${did} did not resolve: notFound`);
  try {
    const verified = await verifyHistory(operations, { did, guardianKeys: personaGuardianKeys(client) });
    verified.operations.forEach((operation, i) => {
      if (operation.hash !== versionIds[i]) throw new Error(`operation ${i} does not hash to its versionId`);
    });
    return verified.state;
  } catch (cause) {
    throw new CliError(`the history the server sent for ${did} does not verify`, 1, [
      cause instanceof Error ? cause.message : String(cause),
      'nothing was signed or sent',
    ]);
  }
}

/** The Multikeys of a DID's verification methods, as the server resolves them. */
export function documentKeys(client: PersonaClient, url: string, did: string): Promise<string[]> {
  return resolvedMultikeys(client, did).catch((error: unknown) => {
    throw resolutionError(did, error, url);
  });
}

/** A DID that did not resolve (its DID Resolution code), or the API's own failure. */
function resolutionError(did: string, error: unknown, url: string): unknown {
  if (error instanceof DidError)
    return new CliError(`${did} did not resolve: ${error.code}`, 1, [error.message]);
  return sdkError(error, url);
}
