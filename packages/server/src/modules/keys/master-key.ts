import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from '@personachain/crypto';
import { parseKey32 } from '../../key-text.js';

export const DEV_MASTER_KEY_FILE = 'master.key';

export interface MasterKey {
  bytes: Uint8Array;
  /** Where it came from, for the start-up log (never the key itself). */
  source: 'PERSONA_MASTER_KEY' | 'generated development file' | 'development file';
  path?: string;
}

/**
 * The master secret that private keys are wrapped under: PERSONA_MASTER_KEY when set. Otherwise a file in
 * the data directory, generated on first start — convenient for development, but the file sits next to
 * the database it protects, so the caller warns loudly.
 */
export function loadMasterKey(configured: Uint8Array | null, dataDir: string): MasterKey {
  if (configured) return { bytes: configured, source: 'PERSONA_MASTER_KEY' };
  const path = join(dataDir, DEV_MASTER_KEY_FILE);
  if (existsSync(path)) {
    const bytes = parseKey32(readFileSync(path, 'utf8'));
    if (!bytes) {
      throw new Error(`${path} is not a PersonaChain master key file (43 base64url characters expected)`);
    }
    return { bytes, source: 'development file', path };
  }
  mkdirSync(dataDir, { recursive: true });
  const bytes = randomBytes(32);
  // wx: never overwrite a key file that appeared meanwhile; losing the old key loses every wrapped key.
  writeFileSync(path, `${Buffer.from(bytes).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  chmodSync(path, 0o600);
  return { bytes, source: 'generated development file', path };
}
