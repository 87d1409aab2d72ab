import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, signatureScheme } from '@personachain/crypto';
import { SIGNATURE_TYPE_COSIGNATURE_ED25519, verifierKeyFor } from '@personachain/ledger';
import { ConfigError } from '../config.js';
import { parseKey32 } from '../key-text.js';
import type { WitnessConfig } from './config.js';

export const WITNESS_KEY_FILE = 'witness.key';

export interface WitnessKey {
  /** The Ed25519 seed of the cosigning key. */
  seed: Uint8Array;
  /** The cosigner verifier key (type 0x04) that logs configure to check this witness's cosignatures. */
  verifierKey: string;
  path: string;
  generated: boolean;
  /** The key file can be read by other users than its owner. */
  exposed: boolean;
}

/**
 * The cosigning key: PERSONA_WITNESS_KEY_FILE when set (it must exist), otherwise `witness.key` in the data
 * dir, generated (mode 0600) on first use. The file holds the 32-byte seed as 43 base64url or 64 hex
 * characters. Losing it changes the witness's identity, so the caller warns when one is generated.
 */
export async function loadWitnessKey(
  config: Pick<WitnessConfig, 'name' | 'keyFile' | 'dataDir'>,
): Promise<WitnessKey> {
  const path = config.keyFile ?? join(config.dataDir, WITNESS_KEY_FILE);
  let seed: Uint8Array;
  let generated = false;
  if (config.keyFile !== null || existsSync(path)) {
    seed = readSeed(path, config.keyFile !== null ? 'PERSONA_WITNESS_KEY_FILE' : 'the generated witness key');
  } else {
    mkdirSync(config.dataDir, { recursive: true });
    seed = randomBytes(32);
    // wx: never overwrite a key file that appeared meanwhile.
    writeFileSync(path, `${Buffer.from(seed).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
    chmodSync(path, 0o600);
    generated = true;
  }
  const publicKey = await signatureScheme('Ed25519').publicKeyFromSecretKey(seed);
  return {
    seed,
    verifierKey: verifierKeyFor(config.name, publicKey, SIGNATURE_TYPE_COSIGNATURE_ED25519),
    path,
    generated,
    exposed: (statSync(path).mode & 0o077) !== 0,
  };
}

function readSeed(path: string, what: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(
      `${what}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const bytes = parseKey32(text);
  if (!bytes) {
    throw new ConfigError(
      `${what}: ${path} must hold a 32-byte Ed25519 seed as 43 base64url or 64 hex characters`,
    );
  }
  return bytes;
}
