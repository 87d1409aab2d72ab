// The platform's own server entry (packages/server/dist/main.js), but with minimal Argon2id parameters
// (1 MiB, 1 pass): for benchmarks of what a login costs besides hashing, where OWASP-cost hashes would
// saturate both cores and make every other step wait for CPU. Never a way to run the platform.
import { ConfigError, loadConfig } from '../packages/server/dist/config.js';
import { runServer } from '../packages/server/dist/server.js';

export const MINIMAL_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

try {
  await runServer(loadConfig(), { identity: { argon2: MINIMAL_ARGON2 } });
} catch (error) {
  process.stderr.write(`bench server: ${error instanceof ConfigError ? error.message : error.stack}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
