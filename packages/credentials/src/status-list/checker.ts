import type { DocumentLoader } from '../data-integrity/document-loader.js';
import { verifyCredential } from '../data-integrity/verify.js';
import { CredentialError } from '../errors.js';
import { statusListError } from './errors.js';
import { STATUS_LIST_MIN_LENGTH, StatusList } from './list.js';
import { parseStatusMessages } from './status-message.js';

type JsonObject = Record<string, unknown>;

/**
 * The status of one `BitstringStatusListEntry` (the result of §3.2's validate algorithm): `status` true
 * means set (revoked, suspended, …: the value is not 0), `value` the entry's `statusSize` bits, and
 * `message` what the value means by the entry's `statusMessage` (for a `message` purpose without one,
 * "set" or "unset", §2.1).
 */
export interface StatusEntryResult {
  /** JSON Pointer of the entry in the credential: `/credentialStatus` or `/credentialStatus/<i>`. */
  path: string;
  purpose: string;
  statusListCredential: string;
  statusListIndex: number;
  status: boolean;
  statusSize: number;
  value: number;
  message?: string;
}

/** An entry that could not be checked, with the reason (`StatusListErrorCode`). */
export interface StatusEntryFailure {
  path: string;
  purpose?: string;
  error: CredentialError;
}

export interface StatusCheckerOptions {
  /** Loads the status-list credential at a URL (parsed JSON); a rejection is a `status-retrieval-error`. */
  loadStatusListCredential: (url: string) => Promise<unknown>;
  /** Verifies the status-list credentials' Data Integrity proofs (contexts, DIDs). */
  documentLoader: DocumentLoader;
  /** Fewer entries (bits ÷ the entry's `statusSize`) is a `status-list-length-error`. Default 131,072 (§3.2). */
  minimumLength?: number;
}

export type StatusChecker = (
  credential: unknown,
  options?: { now?: Date },
) => Promise<Array<StatusEntryResult | StatusEntryFailure>>;

/** The messages of a single-bit value without `statusMessage` (§2.1). */
const UNSET_SET = ['unset', 'set'];

/** A verified status-list credential, kept while the loader returns the same object. */
interface VerifiedList {
  /** The bits, one per entry until an entry's `statusSize` says otherwise. */
  bits: StatusList;
  issuer: unknown;
  purposes: string[];
  notBefore: number;
  notAfter: number;
}

/**
 * Checks the `BitstringStatusListEntry` entries of a credential (Bitstring Status List v1.0 §3.2): each
 * list credential is loaded, its proofs verified (the issuer's key, `assertionMethod`), its validity period
 * checked, its issuer must be the credential's, its purposes must include the entry's, it must hold at
 * least `minimumLength` entries of the entry's `statusSize` bits and the index. Entries of other types are
 * not this checker's and are skipped. Never throws for bad input: failures come back per entry.
 *
 * A verified list is cached per loaded object (a loader that caches answers the same object while its copy
 * is fresh), so a cached list costs no second verification; its validity period is still checked each time.
 */
export function createStatusChecker(options: StatusCheckerOptions): StatusChecker {
  const { loadStatusListCredential, documentLoader, minimumLength = STATUS_LIST_MIN_LENGTH } = options;
  const verified = new WeakMap<object, Promise<VerifiedList>>();

  const verifiedList = (document: JsonObject, now: Date): Promise<VerifiedList> => {
    let pending = verified.get(document);
    if (pending === undefined) {
      pending = verifyList(document, documentLoader, now);
      verified.set(document, pending);
      // Only successes stay: a failure may depend on the time (not yet valid) or pass on another load.
      pending.catch(() => verified.delete(document));
    }
    return pending;
  };

  return async (credential, { now = new Date() } = {}) => {
    if (!isObject(credential)) return [];
    const issuer = idOf(credential.issuer);
    return Promise.all(
      entriesOf(credential).map(async ({ entry, path }) => {
        const purpose = typeof entry.statusPurpose === 'string' ? entry.statusPurpose : undefined;
        try {
          const { url, index, statusSize, messages } = parseEntry(entry);
          const document = await load(loadStatusListCredential, url);
          const list = await verifiedList(document, now);
          const time = now.getTime();
          if (time < list.notBefore || time > list.notAfter) {
            throw statusListError(
              'status-verification-error',
              `The status list credential "${url}" is not valid at ${now.toISOString()}.`,
            );
          }
          if (issuer === undefined || idOf(list.issuer) !== issuer) {
            throw statusListError(
              'status-verification-error',
              `The status list credential "${url}" is not issued by the credential's issuer.`,
            );
          }
          if (!list.purposes.includes(purpose as string)) {
            throw statusListError(
              'status-verification-error',
              `The status list "${url}" is for ${list.purposes.join(', ')}, not "${purpose}".`,
            );
          }
          const entries = list.bits.withStatusSize(statusSize);
          if (entries.length < minimumLength) {
            throw statusListError(
              'status-list-length-error',
              `The status list "${url}" has ${entries.length} entries of ${statusSize} bit(s), fewer than the ${minimumLength} herd privacy needs.`,
            );
          }
          if (index >= entries.length) {
            throw statusListError(
              'range-error',
              `statusListIndex ${index} is outside the status list "${url}" (${entries.length} entries).`,
            );
          }
          const value = entries.getValue(index);
          const message = messages?.get(value) ?? (purpose === 'message' ? UNSET_SET[value] : undefined);
          return {
            path,
            purpose: purpose as string,
            statusListCredential: url,
            statusListIndex: index,
            status: value !== 0,
            statusSize,
            value,
            ...(message === undefined ? {} : { message }),
          };
        } catch (error) {
          if (!(error instanceof CredentialError)) throw error;
          return { path, ...(purpose === undefined ? {} : { purpose }), error };
        }
      }),
    );
  };
}

/** The `BitstringStatusListEntry` entries of a credential, with their JSON Pointers. */
function entriesOf(credential: JsonObject): Array<{ entry: JsonObject; path: string }> {
  const status = credential.credentialStatus;
  const all = Array.isArray(status)
    ? status.map((entry, i) => ({ entry, path: `/credentialStatus/${i}` }))
    : [{ entry: status, path: '/credentialStatus' }];
  return all.filter(
    (item): item is { entry: JsonObject; path: string } =>
      isObject(item.entry) && item.entry.type === 'BitstringStatusListEntry',
  );
}

/** The MUSTs of §2.1 for an entry, with the messages of its values when it has `statusMessage`. */
function parseEntry(entry: JsonObject): {
  url: string;
  index: number;
  statusSize: number;
  messages?: Map<number, string>;
} {
  const bad = (message: string) => statusListError('malformed-value-error', message);
  if (typeof entry.statusPurpose !== 'string' || entry.statusPurpose === '') {
    throw bad('"statusPurpose" must be a non-empty string.');
  }
  const { statusListIndex, statusListCredential, statusMessage, statusReference } = entry;
  if (typeof statusListIndex !== 'string' || !/^[0-9]+$/.test(statusListIndex)) {
    throw bad('"statusListIndex" must be a non-negative integer written in base 10, as a string.');
  }
  if (typeof statusListCredential !== 'string' || !URL.canParse(statusListCredential)) {
    throw bad('"statusListCredential" must be a URL.');
  }
  if (entry.id !== undefined && entry.id === statusListCredential) {
    throw bad('The entry\'s "id" must not be the status list\'s URL.');
  }
  const statusSize = entry.statusSize ?? 1;
  if (!Number.isSafeInteger(statusSize) || (statusSize as number) < 1) {
    throw bad('"statusSize" must be an integer greater than zero.');
  }
  let messages: Map<number, string> | undefined;
  if ((statusSize as number) > 1 || statusMessage !== undefined) {
    const parsed = parseStatusMessages(statusSize as number, statusMessage);
    if ('problem' in parsed) throw bad(parsed.problem);
    messages = parsed.messages;
  }
  const references = statusReference === undefined ? [] : [statusReference].flat();
  if (references.some((reference) => typeof reference !== 'string' || !URL.canParse(reference))) {
    throw bad('"statusReference" must be a URL or an array of URLs.');
  }
  const index = Number(statusListIndex);
  if (!Number.isSafeInteger(index * (statusSize as number))) {
    throw statusListError('range-error', `statusListIndex ${statusListIndex} is outside any status list.`);
  }
  return {
    url: statusListCredential,
    index,
    statusSize: statusSize as number,
    ...(messages === undefined ? {} : { messages }),
  };
}

async function load(loader: (url: string) => Promise<unknown>, url: string): Promise<JsonObject> {
  let document: unknown;
  try {
    document = await loader(url);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw statusListError(
      'status-retrieval-error',
      `The status list "${url}" could not be loaded: ${reason}`,
      {
        cause: error,
      },
    );
  }
  if (!isObject(document)) {
    throw statusListError('status-retrieval-error', `The status list "${url}" is not a JSON object.`);
  }
  return document;
}

async function verifyList(
  document: JsonObject,
  documentLoader: DocumentLoader,
  now: Date,
): Promise<VerifiedList> {
  const result = await verifyCredential({ credential: document, documentLoader, now });
  if (!result.verified) {
    const reasons = result.errors.map((error) => error.code).join(', ');
    throw statusListError(
      'status-verification-error',
      `The status list credential did not verify: ${reasons}.`,
      {
        details: { errors: result.errors },
      },
    );
  }
  const types = Array.isArray(document.type) ? document.type : [document.type];
  const subject = document.credentialSubject;
  if (!types.includes('BitstringStatusListCredential') || !isObject(subject)) {
    throw statusListError(
      'status-verification-error',
      'The document is not a BitstringStatusListCredential.',
    );
  }
  const subjectTypes = Array.isArray(subject.type) ? subject.type : [subject.type];
  if (!subjectTypes.includes('BitstringStatusList')) {
    throw statusListError('malformed-value-error', 'credentialSubject.type must be "BitstringStatusList".');
  }
  const purposes = Array.isArray(subject.statusPurpose) ? subject.statusPurpose : [subject.statusPurpose];
  if (purposes.length === 0 || !purposes.every((purpose) => typeof purpose === 'string')) {
    throw statusListError(
      'malformed-value-error',
      'credentialSubject.statusPurpose must be one or more strings.',
    );
  }
  const bits = await StatusList.decode(subject.encodedList);
  return { bits, issuer: document.issuer, purposes: purposes as string[], ...validityWindow(document) };
}

/** From the list credential's validity period (VC 2.0 and 1.1) and its proofs' `expires`. */
function validityWindow(document: JsonObject): { notBefore: number; notAfter: number } {
  const times = (values: unknown[]) =>
    values.filter((value): value is string => typeof value === 'string').map((value) => Date.parse(value));
  const proofs = Array.isArray(document.proof) ? document.proof : [document.proof];
  const starts = times([document.validFrom, document.issuanceDate]);
  const ends = times([
    document.validUntil,
    document.expirationDate,
    ...proofs.map((proof) => (isObject(proof) ? proof.expires : undefined)),
  ]);
  return { notBefore: Math.max(-Infinity, ...starts), notAfter: Math.min(Infinity, ...ends) };
}

function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return isObject(value) && typeof value.id === 'string' ? value.id : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
