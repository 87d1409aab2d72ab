#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { runServer } from './server.js';

try {
  await runServer(loadConfig());
} catch (error) {
  process.stderr.write(`persona: ${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
