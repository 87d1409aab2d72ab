import { CredentialError } from '../errors.js';

/**
 * Why a status entry could not be checked, after the errors of Bitstring Status List v1.0 §3.5 and the VC
 * Data Model 2.0 it relies on: the list could not be retrieved (`STATUS_RETRIEVAL_ERROR`), the list
 * credential did not verify or does not fit the entry (`STATUS_VERIFICATION_ERROR`), the list is shorter
 * than the minimum (`STATUS_LIST_LENGTH_ERROR`), the index is outside it (`RANGE_ERROR`), a value breaks a
 * MUST of the data model (`MALFORMED_VALUE_ERROR`).
 */
export type StatusListErrorCode =
  | 'status-retrieval-error'
  | 'status-verification-error'
  | 'status-list-length-error'
  | 'range-error'
  | 'malformed-value-error';

const SPEC_NAMES: Record<StatusListErrorCode, string> = {
  'status-retrieval-error': 'STATUS_RETRIEVAL_ERROR',
  'status-verification-error': 'STATUS_VERIFICATION_ERROR',
  'status-list-length-error': 'STATUS_LIST_LENGTH_ERROR',
  'range-error': 'RANGE_ERROR',
  'malformed-value-error': 'MALFORMED_VALUE_ERROR',
};

/** A `CredentialError` with a status-list code; `details.specError` names the specification's error. */
export function statusListError(
  code: StatusListErrorCode,
  message: string,
  options: { cause?: unknown; details?: Record<string, unknown> } = {},
): CredentialError {
  return new CredentialError(code, message, {
    ...(options.cause === undefined ? {} : { cause: options.cause }),
    details: { ...options.details, specError: SPEC_NAMES[code] },
  });
}
