export { constantTimeEqual } from './compare.js';
export { fromBase64Url, toBase64Url, toHex } from './encoding.js';
export { randomBytes } from './random.js';
