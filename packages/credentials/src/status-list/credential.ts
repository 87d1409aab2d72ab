import { createCredential } from '@digitalbazaar/vc-bitstring-status-list';
import { CREDENTIALS_V1_CONTEXT, STATUS_V1_CONTEXT } from '../contexts/index.js';
import type { StatusList } from './list.js';

type JsonObject = Record<string, unknown>;

/** A `credentialStatus` entry pointing at one bit of a status list (§2.1). */
export interface StatusListEntry {
  id: string;
  type: 'BitstringStatusListEntry';
  statusPurpose: string;
  /** Base-10 string, as §2.1 requires. */
  statusListIndex: string;
  statusListCredential: string;
}

/** The entry for `index` of the list published at `statusListCredential`; its `id` is `<list URL>#<index>`. */
export function buildStatusListEntry(input: {
  statusListCredential: string;
  statusPurpose: string;
  index: number;
}): StatusListEntry {
  const { statusListCredential, statusPurpose, index } = input;
  return {
    id: `${statusListCredential}#${index}`,
    type: 'BitstringStatusListEntry',
    statusPurpose,
    statusListIndex: String(index),
    statusListCredential,
  };
}

/**
 * The credential with these entries as `credentialStatus` (one object, or an array for several). A VC 1.1
 * credential also gets the status-list context, which its base context lacks (VC 2.0's includes the terms).
 */
export function addStatusEntries(credential: JsonObject, entries: readonly StatusListEntry[]): JsonObject {
  const contexts = credential['@context'];
  const isV1 = Array.isArray(contexts) && contexts[0] === CREDENTIALS_V1_CONTEXT;
  return {
    ...credential,
    ...(isV1 && !contexts.includes(STATUS_V1_CONTEXT)
      ? { '@context': [...contexts, STATUS_V1_CONTEXT] }
      : {}),
    credentialStatus: entries.length === 1 ? entries[0] : [...entries],
  };
}

/**
 * The unsigned `BitstringStatusListCredential` (VC 2.0, §2.2) to secure and publish at `id`: `issuer` as a
 * string, `validFrom`, and `ttl` (milliseconds) when given, to match the HTTP caching of the publisher.
 */
export async function buildStatusListCredential(input: {
  id: string;
  issuer: string;
  statusPurpose: string;
  list: StatusList;
  validFrom: string;
  ttl?: number;
}): Promise<JsonObject> {
  const { id, issuer, statusPurpose, list, validFrom, ttl } = input;
  const unsigned = await createCredential({ id, statusPurpose, list });
  return {
    ...unsigned,
    issuer,
    validFrom,
    credentialSubject: { ...unsigned.credentialSubject, ...(ttl === undefined ? {} : { ttl }) },
  };
}
