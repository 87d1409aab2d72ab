import type { Command } from 'commander';
import { usageError } from '../errors.js';

// Written out here so that --help does not load the server.
const VARIABLES = `
Environment:
  PERSONA_WITNESS_NAME       required: the cosigner name, a schema-less URL such as
                             witness.example.com/w1 (no spaces or "+"); it names every cosignature
  PERSONA_WITNESS_LOGS       required: the logs to witness, comma- or newline-separated, each the
                             log's verifier key (GET /ledger/verifier-key), whose key name is the
                             origin, or <origin>=<vkey> when the origin differs; list an origin
                             again to trust several keys
  PERSONA_WITNESS_KEY_FILE   file with the 32-byte Ed25519 cosigning seed (43 base64url or 64 hex
                             characters); default: <data dir>/witness.key, generated (mode 0600)
  PERSONA_WITNESS_DATA_DIR   key file and state database (witness.db); default ./data/witness
  PERSONA_WITNESS_HOST       address to listen on; default 127.0.0.1
  PERSONA_WITNESS_PORT       port to listen on (0 picks a free one); default 7380
  PERSONA_WITNESS_LOG_LEVEL  fatal error warn info debug trace silent; default info

The witness serves POST /add-checkpoint (c2sp.org/tlog-witness): it verifies the log's signature and
a consistency proof from the size it last cosigned, stores the new size, and answers with its
cosignature. Give a log its "<verifier key> <url>" in PERSONA_LEDGER_WITNESSES.
`;

export function registerWitnessCommand(program: Command): void {
  program
    .command('witness')
    .description('run a C2SP tlog-witness that cosigns checkpoints of the logs it is configured with')
    .option('--print-key', 'print the cosigner verifier key (generating the key file if needed) and exit')
    .addHelpText('after', VARIABLES)
    .action(async (options: { printKey?: boolean }) => {
      // The server package is imported only once the configuration is valid: it loads every module of the
      // server (seconds on a busy machine), and a bad setting is reported at once.
      const { ConfigError } = await import('@personachain/server/config');
      const { loadWitnessConfig, loadWitnessKeyConfig } = await import('@personachain/server/witness/config');
      try {
        if (options.printKey) {
          const config = loadWitnessKeyConfig();
          const { witnessVerifierKey } = await import('@personachain/server');
          process.stdout.write(`${await witnessVerifierKey(config)}\n`);
        } else {
          const config = loadWitnessConfig();
          const { runWitness } = await import('@personachain/server');
          await runWitness(config);
        }
      } catch (error) {
        if (error instanceof ConfigError) throw usageError(error.message);
        throw error;
      }
    });
}
