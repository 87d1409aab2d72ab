#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';

try {
  const config = loadConfig();
  // Imported only once the configuration is valid: the server loads every module (crypto, JSON-LD contexts,
  // the Cedar wasm, ...), which takes seconds on a busy machine, and a bad setting is reported at once.
  const { runServer } = await import('./server.js');
  await runServer(config);
} catch (error) {
  process.stderr.write(`persona: ${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
