export { buildApp, type Platform } from './app.js';
export { CONFIG_VARIABLES, type Config, ConfigError, loadConfig } from './config.js';
export type { Page } from './http/pagination.js';
export type { Role } from './modules/policy/model.js';
export type { ApiKey, Member, Organization, PlatformKey, Project } from './modules/tenancy/service.js';
export { migrateDatabase, type RunningServer, runServer, startServer } from './server.js';
export {
  loadWitnessConfig,
  loadWitnessKeyConfig,
  WITNESS_VARIABLES,
  type WitnessConfig,
} from './witness/config.js';
export { type RunningWitness, runWitness, startWitness, witnessVerifierKey } from './witness/server.js';
