export { constantTimeEqual } from './compare.js';
export { fromBase64Url, toBase64Url, toHex } from './encoding.js';
export { CryptoError, type CryptoErrorCode } from './errors.js';
export { randomBytes } from './random.js';
