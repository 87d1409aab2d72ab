/**
 * Why a did:persona operation or history was refused. Every code describes bad input (a 4xx for the
 * server) except `signing-failed` (a signer callback threw) and `guardian-keys-failed` (the injected
 * guardian key resolver threw).
 */
export type PersonaErrorCode =
  | 'malformed' // not canonical JSON of a well-formed operation (field set, types, limits)
  | 'invalid-did' // not a did:persona DID, or an operation names another DID than its history's
  | 'empty-history' // no operation at all
  | 'not-genesis' // the first operation is not a `create`, or a later one is
  | 'not-chained' // `prev` is not the hash of any earlier operation of the history
  | 'fork' // `prev` names an earlier operation that already has a successor
  | 'out-of-order' // ledger indexes not increasing, or integration times going back
  | 'invalid-signature' // a signature (or one half of a hybrid one) does not verify
  | 'missing-signature' // a hybrid rotation key signed with one half only, or no signature at all
  | 'unauthorized' // signed by a key that has no authority over this operation
  | 'deactivated' // an operation after `deactivate`
  | 'recovery-not-configured' // a `recoveryRequest` on a DID without guardians
  | 'recovery-threshold' // fewer than M distinct valid guardian signatures
  | 'recovery-pending' // an operation other than `recoveryCancel`/`recover` while a recovery is pending
  | 'no-pending-recovery' // `recoveryCancel`/`recover` with no pending request
  | 'recovery-delay' // `recover` integrated before the request's delay had elapsed
  | 'signing-failed'
  | 'guardian-keys-failed';

export class PersonaError extends Error {
  override readonly name = 'PersonaError';
  constructor(
    readonly code: PersonaErrorCode,
    message: string,
    /** Position in the history (0 = genesis) of the operation that failed, when there is one. */
    readonly index?: number,
    options?: { cause?: unknown },
  ) {
    super(index === undefined ? message : `operation ${index}: ${message}`, options);
  }
}
