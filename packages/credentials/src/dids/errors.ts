/**
 * Error keywords of DID resolution and dereferencing (W3C DID Resolution, "Errors"; the did:key method
 * adds the public-key ones). A method signals a failure by throwing a `DidError`; the resolver turns it
 * into `didResolutionMetadata.error` / `dereferencingMetadata.error`.
 */
export type DidErrorCode =
  | 'invalidDid' // not a conformant DID, or not a valid identifier of its method
  | 'invalidDidUrl' // not a conformant DID URL
  | 'notFound' // no DID document (or no resource for a DID URL) exists
  | 'methodNotSupported' // the resolver has no implementation of the DID method
  | 'representationNotSupported' // the `accept` media type is not a representation this resolver produces
  | 'invalidDidDocument' // the method obtained something that is not a valid DID document for the DID
  | 'invalidOptions' // a resolution option has a value of the wrong type
  | 'internalError' // an unexpected failure (network, remote server error, timeout)
  | 'invalidPublicKey' // did:key: the key bytes are not a valid key of their type
  | 'invalidPublicKeyLength' // did:key: the key has the wrong length for its multicodec
  | 'invalidPublicKeyType' // did:key: publicKeyFormat not allowed without enableExperimentalPublicKeyTypes
  | 'unsupportedPublicKeyType'; // did:key: publicKeyFormat this implementation cannot produce

export class DidError extends Error {
  override readonly name = 'DidError';
  constructor(
    readonly code: DidErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
