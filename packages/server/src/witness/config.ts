import { resolve } from 'node:path';
import { type NoteVerifier, noteVerifier, SIGNATURE_TYPE_ED25519 } from '@personachain/ledger';
import { ConfigError } from '../config.js';

/** The witness's settings; it is a process of its own, configured only by these variables. */
export const WITNESS_VARIABLES = [
  'PERSONA_WITNESS_NAME',
  'PERSONA_WITNESS_LOGS',
  'PERSONA_WITNESS_KEY_FILE',
  'PERSONA_WITNESS_DATA_DIR',
  'PERSONA_WITNESS_HOST',
  'PERSONA_WITNESS_PORT',
  'PERSONA_WITNESS_LOG_LEVEL',
] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface WitnessLog {
  origin: string;
  /** The log's signed-note verifier keys (type 0x01), as configured. */
  verifierKeys: string[];
  verifiers: NoteVerifier[];
}

export interface WitnessConfig {
  /** The cosigner name: the key name of every cosignature line (c2sp.org/tlog-cosignature). */
  name: string;
  /** Trusted logs by origin. */
  logs: Map<string, WitnessLog>;
  /** A file holding the 32-byte Ed25519 seed; null: `witness.key` in the data dir, generated if absent. */
  keyFile: string | null;
  dataDir: string;
  host: string;
  port: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

type Env = Record<string, string | undefined>;
type Getter = (name: (typeof WITNESS_VARIABLES)[number]) => string | undefined;

function getter(env: Env): Getter {
  return (name) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
}

/** Reads PERSONA_WITNESS_* variables; a bad value throws a ConfigError naming the variable. */
export function loadWitnessConfig(env: Env = process.env): WitnessConfig {
  const get = getter(env);
  const portText = get('PERSONA_WITNESS_PORT') ?? '7380';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535) {
    throw new ConfigError(`PERSONA_WITNESS_PORT must be an integer from 0 to 65535 (got "${portText}")`);
  }
  const logLevel = get('PERSONA_WITNESS_LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(
      `PERSONA_WITNESS_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`,
    );
  }
  return {
    ...loadWitnessKeyConfig(env),
    logs: witnessLogs(get('PERSONA_WITNESS_LOGS')),
    host: get('PERSONA_WITNESS_HOST') ?? '127.0.0.1',
    port,
    logLevel: logLevel as WitnessConfig['logLevel'],
  };
}

/** Only what the cosigning key needs (for `persona witness --print-key`, before any log is configured). */
export function loadWitnessKeyConfig(
  env: Env = process.env,
): Pick<WitnessConfig, 'name' | 'keyFile' | 'dataDir'> {
  const get = getter(env);
  const keyFile = get('PERSONA_WITNESS_KEY_FILE');
  return {
    name: witnessName(get('PERSONA_WITNESS_NAME')),
    keyFile: keyFile === undefined ? null : resolve(keyFile),
    dataDir: resolve(get('PERSONA_WITNESS_DATA_DIR') ?? './data/witness'),
  };
}

/** A signed-note key name: it names the witness in every cosignature, so there is no default. */
function witnessName(raw: string | undefined): string {
  if (raw === undefined) {
    throw new ConfigError(
      'PERSONA_WITNESS_NAME must be set: the cosigner name, a schema-less URL such as "witness.example.com/w1"',
    );
  }
  if (!/^[\x21-\x7e]+$/.test(raw) || raw.includes('+')) {
    throw new ConfigError(
      `PERSONA_WITNESS_NAME must be printable ASCII without spaces or "+", e.g. "witness.example.com/w1" (got "${raw}")`,
    );
  }
  return raw;
}

/**
 * PERSONA_WITNESS_LOGS: entries separated by commas or newlines, each a log's verifier key
 * (`name+hex8+base64`, type 0x01), whose origin is the key's name, or `<origin>=<vkey>` when the origin
 * differs from the key name. A vkey's base64 has no "=" before its last "+", so the first "=" before any
 * "+" separates an origin. The same origin may be listed with several keys (key rotation).
 */
function witnessLogs(raw: string | undefined): Map<string, WitnessLog> {
  if (raw === undefined) {
    throw new ConfigError(
      'PERSONA_WITNESS_LOGS must list the logs to witness: their verifier keys (from GET /ledger/verifier-key), ' +
        'comma-separated, each optionally as <origin>=<vkey>',
    );
  }
  const logs = new Map<string, WitnessLog>();
  for (const entry of raw
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter(Boolean)) {
    const equals = entry.indexOf('=');
    const plus = entry.indexOf('+');
    const explicit = equals > 0 && (plus < 0 || equals < plus);
    const vkey = explicit ? entry.slice(equals + 1) : entry;
    let verifier: NoteVerifier;
    try {
      if (/\s/.test(entry)) throw new Error('no spaces inside an entry');
      if (Buffer.from(vkey.split('+').slice(2).join('+'), 'base64')[0] !== SIGNATURE_TYPE_ED25519) {
        throw new Error('a log key has type 0x01 (Ed25519 note signatures)');
      }
      verifier = noteVerifier(vkey);
    } catch (error) {
      throw new ConfigError(
        `PERSONA_WITNESS_LOGS: "${entry}" is not a log verifier key: ${(error as Error).message}`,
      );
    }
    const origin = explicit ? entry.slice(0, equals) : verifier.name;
    const log = logs.get(origin) ?? { origin, verifierKeys: [], verifiers: [] };
    if (log.verifierKeys.includes(vkey)) throw new ConfigError(`PERSONA_WITNESS_LOGS lists ${vkey} twice`);
    log.verifierKeys.push(vkey);
    log.verifiers.push(verifier);
    logs.set(origin, log);
  }
  if (logs.size === 0) throw new ConfigError('PERSONA_WITNESS_LOGS lists no log');
  return logs;
}
