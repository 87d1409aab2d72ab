export * from './contexts/index.js';
export * from './cose/index.js';
export * from './data-integrity/index.js';
export * from './dids/index.js';
export * from './errors.js';
export * from './jose/index.js';
export * from './sd-jwt/index.js';
export * from './status-list/index.js';
