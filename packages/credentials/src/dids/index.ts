export {
  createDidKey,
  DID_KEY_ALGORITHMS,
  type DidKeyOptions,
  decodeDidKey,
  didKeyDocument,
  didKeyMethod,
} from './did-key.js';
export { createDidWebMethod, type DidWebOptions, didWebFromUrl, didWebToUrl } from './did-web.js';
export {
  type BuildDidDocumentOptions,
  buildDidDocument,
  DID_CONTEXT_V1,
  type DidDocument,
  type DidDocumentKey,
  MULTIKEY_CONTEXT_V1,
  multikeyVerificationMethod,
  VERIFICATION_RELATIONSHIPS,
  type VerificationMethod,
  type VerificationRelationship,
} from './document.js';
export { DidError, type DidErrorCode } from './errors.js';
export type { DidDocumentMetadata, DidMethod, DidMethodResolveOptions, DidMethodResult } from './method.js';
export * from './persona/index.js';
export {
  type CreateDidResolverOptions,
  createDidResolver,
  DID_JSON,
  DID_LD_JSON,
  type DidDereferencingMetadata,
  type DidDereferencingResult,
  type DidResolutionMetadata,
  type DidResolutionOptions,
  type DidResolutionResult,
  type DidResolver,
  didResolutionHttpStatus,
  findVerificationMethod,
} from './resolver.js';
export {
  isDid,
  MAX_DID_URL_LENGTH,
  type ParsedDid,
  type ParsedDidUrl,
  parseDid,
  parseDidUrl,
} from './syntax.js';
