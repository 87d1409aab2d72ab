export { buildApp, type Platform } from './app.js';
export { CONFIG_VARIABLES, type Config, ConfigError, loadConfig } from './config.js';
export { migrateDatabase, type RunningServer, runServer, startServer } from './server.js';
