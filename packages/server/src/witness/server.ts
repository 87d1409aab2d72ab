import { cosignatureSigner } from '@personachain/ledger';
import { closeOnSignals } from '../shutdown.js';
import { buildWitnessApp } from './app.js';
import type { WitnessConfig } from './config.js';
import { loadWitnessKey } from './key.js';
import { WitnessStateStore } from './state.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

export interface RunningWitness {
  /** Where it listens, e.g. http://127.0.0.1:7380 (the submission prefix). */
  url: string;
  /** Its cosigner verifier key (type 0x04), for PERSONA_LEDGER_WITNESSES. */
  verifierKey: string;
  close(): Promise<void>;
}

/** Loads (or generates) the cosigning key, opens the state file and listens. */
export async function startWitness(
  config: WitnessConfig,
  options: { now?: () => number } = {},
): Promise<RunningWitness> {
  const key = await loadWitnessKey(config);
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const signer = await cosignatureSigner(config.name, key.seed, now);
  const state = new WitnessStateStore(config.dataDir);
  const app = buildWitnessApp(config, { signer, state });
  app.addHook('onClose', async () => state.close());
  if (key.generated) {
    app.log.warn(
      { file: key.path },
      'generated a new witness key (mode 0600); back it up: a lost key means a new witness identity ' +
        'that every log must reconfigure. Set PERSONA_WITNESS_KEY_FILE to keep it elsewhere.',
    );
  } else if (key.exposed) {
    app.log.warn({ file: key.path }, 'the witness key file can be read by other users; chmod 600 it');
  }
  app.log.info(
    { name: config.name, verifierKey: key.verifierKey, logs: [...config.logs.keys()] },
    'witness cosigner key',
  );
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { url: `http://${host}:${port}`, verifierKey: key.verifierKey, close: () => app.close() };
}

/** The cosigner verifier key, generating the key file if there is none yet; nothing is started. */
export async function witnessVerifierKey(
  config: Pick<WitnessConfig, 'name' | 'keyFile' | 'dataDir'>,
): Promise<string> {
  return (await loadWitnessKey(config)).verifierKey;
}

/**
 * Runs the witness until SIGTERM or SIGINT, then lets in-flight requests finish and closes the state
 * file, or exits non-zero if that takes longer than 10 s. Prints the cosigner verifier key on start.
 */
export async function runWitness(config: WitnessConfig): Promise<void> {
  const starting = startWitness(config);
  closeOnSignals(starting, SHUTDOWN_TIMEOUT_MS, 'persona witness');

  const witness = await starting;
  process.stdout.write(
    `persona witness: listening at ${witness.url}\n  cosigner verifier key: ${witness.verifierKey}\n`,
  );
}
