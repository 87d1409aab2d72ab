export {
  AES_GCM_KEY_LENGTH,
  AES_GCM_NONCE_LENGTH,
  AES_GCM_RANDOM_NONCE_LIMIT,
  AES_GCM_TAG_LENGTH,
  AeadKey,
  type AeadKeyOptions,
} from './aead.js';
export { keyAgreement, keyAgreementAlgorithms } from './agreement/index.js';
export { BoundedCache } from './bounded-cache.js';
export { canonicalJson, type JsonValue } from './canonical-json.js';
export { constantTimeEqual } from './compare.js';
export { fromBase64Url, toBase64Url, toHex } from './encoding.js';
export * from './envelope/index.js';
export { CryptoError, type CryptoErrorCode } from './errors.js';
export { exportJwk, importJwk, type Jwk, jwkThumbprint } from './formats/jwk.js';
export type { KeyAlgorithm } from './formats/key-types.js';
export {
  decodePublicKeyMultibase,
  decodeSecretKeyMultibase,
  encodePublicKeyMultibase,
  encodeSecretKeyMultibase,
} from './formats/multikey.js';
export { sha256 } from './hash.js';
export { hkdfSha256, hkdfSha256Expand, hkdfSha256Extract } from './kdf.js';
export { kemAlgorithms, kemScheme } from './kem/index.js';
export * from './keystore/index.js';
export { randomBytes } from './random.js';
export {
  combineShares,
  openSealedShare,
  SHAMIR_MAX_SHARES,
  splitSecret,
  splitSecretToRecipients,
} from './shamir.js';
export { inPlaceVerifier, signatureAlgorithms, signatureScheme } from './signatures/index.js';
export { VerificationThreads, type VerificationThreadsOptions } from './signatures/verification-threads.js';
export type {
  Backend,
  Encapsulation,
  KemAlgorithm,
  KemScheme,
  KeyAgreement,
  KeyAgreementAlgorithm,
  KeyPair,
  SignatureAlgorithm,
  SignatureScheme,
  SignatureVerifier,
} from './types.js';
