export { createPersonaApi, type PersonaApi, type PersonaClientOptions, type paths } from './client.js';
export * from './ephemeral/index.js';
export * from './holder/persona.js';
export * from './holder/present.js';
export {
  type VerificationResult,
  type VerifyOfflineOptions,
  verifyCredentialOffline,
} from './holder/verify.js';
export * from './kyc/index.js';
export { PersonaApiError, type Problem, type ProblemFieldError } from './problem.js';
export * from './resources.js';
export * from './vault/index.js';
