import { createCredential } from '@digitalbazaar/vc-bitstring-status-list';
import { CREDENTIALS_V1_CONTEXT, STATUS_V1_CONTEXT } from '../contexts/index.js';
import { CredentialError } from '../errors.js';
import { STATUS_SIZE_MAX, type StatusList } from './list.js';
import { parseStatusMessages, type StatusMessage } from './status-message.js';

type JsonObject = Record<string, unknown>;

/** A `credentialStatus` entry pointing at one status of a status list (§2.1). */
export interface StatusListEntry {
  id: string;
  type: 'BitstringStatusListEntry';
  statusPurpose: string;
  /** Base-10 string, as §2.1 requires. */
  statusListIndex: string;
  statusListCredential: string;
  /** Bits of the status; absent means 1. */
  statusSize?: number;
  /** What each value means: required above one bit, one element per value. */
  statusMessage?: StatusMessage[];
  /** URLs of material that explains the statuses. */
  statusReference?: string | string[];
}

/**
 * The entry for `index` of the list published at `statusListCredential`; its `id` is `<list URL>#<index>`.
 * An entry of more than one bit (`statusSize`, matching the list's) needs `statusMessage` with one element
 * per value (§2.1); a bad one is an `invalid-argument`.
 */
export function buildStatusListEntry(input: {
  statusListCredential: string;
  statusPurpose: string;
  index: number;
  statusSize?: number;
  statusMessage?: StatusMessage[];
  statusReference?: string | string[];
}): StatusListEntry {
  const { statusListCredential, statusPurpose, index, statusSize, statusMessage, statusReference } = input;
  const size = statusSize ?? 1;
  if (!Number.isSafeInteger(size) || size < 1 || size > STATUS_SIZE_MAX) {
    throw new CredentialError(
      'invalid-argument',
      `"statusSize" must be an integer from 1 to ${STATUS_SIZE_MAX}.`,
    );
  }
  if (size > 1 || statusMessage !== undefined) {
    const parsed = parseStatusMessages(size, statusMessage);
    if ('problem' in parsed) throw new CredentialError('invalid-argument', parsed.problem);
  }
  const references = statusReference === undefined ? [] : [statusReference].flat();
  if (references.some((reference) => !URL.canParse(reference))) {
    throw new CredentialError('invalid-argument', '"statusReference" must be a URL or an array of URLs.');
  }
  return {
    id: `${statusListCredential}#${index}`,
    type: 'BitstringStatusListEntry',
    statusPurpose,
    statusListIndex: String(index),
    statusListCredential,
    ...(statusSize === undefined ? {} : { statusSize }),
    ...(statusMessage === undefined ? {} : { statusMessage: statusMessage.map((m) => ({ ...m })) }),
    ...(statusReference === undefined ? {} : { statusReference }),
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
 * A list of multi-bit statuses is published the same way: the size is in its entries (`statusSize`), as
 * the credentials contexts define no `statusSize` for the list itself.
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
