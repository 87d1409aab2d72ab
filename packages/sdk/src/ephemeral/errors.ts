/**
 * Why an ephemeral operation failed. Callers branch on `code`, never on the message:
 * - `not-found`: the node has no such value: it never existed, it expired, it was deleted, or it was
 *   already read once (a burned link). The node answers the same 404 for all four on purpose.
 * - `wrong-key`: the link's key (or the recipient key pair) is not the one the value was sealed for.
 * - `tampered`: the key is right but the stored bytes do not authenticate: changed in storage or in
 *   transit, truncated, or copied from another storage key.
 * - `unsupported-format`: the stored value or the link uses a format version this SDK does not know.
 * - `invalid-link`: the link or reference does not parse.
 * - `invalid-argument`: a bad value, TTL, key or option, refused before anything was sent.
 * - `too-large`: the sealed value exceeds the size limit (checked before upload, or the node's 413).
 * - `forbidden`: the node refused the ownership proof (a delete or overwrite without the write token).
 * - `conflict`: the key exists and was written without a capability, so it cannot be overwritten.
 * - `rejected`: the node refused the request as invalid (400): e.g. a TTL outside its configured range.
 * - `rate-limited`: 429; `retryAfterSeconds` says when to retry, when the node said.
 * - `storage-full`: 507, the node's memory budget is full.
 * - `http`: any other unexpected answer.
 */
export type EphemeralErrorCode =
  | 'not-found'
  | 'wrong-key'
  | 'tampered'
  | 'unsupported-format'
  | 'invalid-link'
  | 'invalid-argument'
  | 'too-large'
  | 'forbidden'
  | 'conflict'
  | 'rejected'
  | 'rate-limited'
  | 'storage-full'
  | 'http';

export class EphemeralError extends Error {
  override readonly name = 'EphemeralError';
  constructor(
    readonly code: EphemeralErrorCode,
    message: string,
    options?: {
      cause?: unknown;
      /** The HTTP status the node answered, when the error came from the node. */
      status?: number;
      retryAfterSeconds?: number;
    },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;
}
