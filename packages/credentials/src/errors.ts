/**
 * Codes the Data Integrity code uses. All describe bad input (the server answers 4xx) except
 * `signing-failed`: the signing function (key store, HSM) failed.
 */
export type CredentialErrorCode =
  | 'invalid-argument'
  | 'invalid-credential'
  | 'invalid-presentation'
  | 'unknown-context'
  | 'document-not-found'
  | 'malformed-jsonld'
  | 'unsupported-cryptosuite'
  | 'invalid-signer'
  | 'issuer-mismatch'
  | 'verification-method-not-found'
  | 'invalid-verification-method'
  | 'wrong-key-type'
  | 'unauthorized-verification-method'
  | 'invalid-proof'
  | 'invalid-pointer'
  | 'signing-failed';

/**
 * The one error type of `@personachain/credentials`. `code` is stable (the server maps it to a
 * problem type); `message` is for humans. Other modules of this package may use codes of their own,
 * hence the open string type.
 */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  readonly code: CredentialErrorCode | (string & {});
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: CredentialErrorCode | (string & {}),
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}
