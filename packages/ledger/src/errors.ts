export type LedgerErrorCode =
  | 'invalid-argument'
  | 'invalid-proof'
  | 'malformed'
  | 'bad-signature'
  | 'no-verified-signature'
  | 'inconsistent'
  | 'storage';

/** Every failure this package reports on purpose is a LedgerError with a stable code. */
export class LedgerError extends Error {
  readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string) {
    super(message);
    this.name = 'LedgerError';
    this.code = code;
  }
}

/** Sizes and indices are plain numbers; anything that is not a non-negative safe integer is rejected. */
export function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LedgerError('invalid-argument', `${what} must be a non-negative safe integer, got ${value}`);
  }
}
