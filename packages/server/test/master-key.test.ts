import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { DEV_MASTER_KEY_FILE, loadMasterKey } from '../src/modules/keys/master-key.js';

describe('master key', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'persona-master-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a private development key file once, then reuses it', () => {
    const first = loadMasterKey(null, dir);
    expect(first.source).toBe('generated development file');
    expect(first.bytes.length).toBe(32);
    const path = join(dir, DEV_MASTER_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = loadMasterKey(null, dir);
    expect(again.source).toBe('development file');
    expect(Buffer.from(again.bytes)).toEqual(Buffer.from(first.bytes));
  });

  it('refuses a damaged key file instead of replacing it (that would lose every wrapped key)', () => {
    const path = join(dir, DEV_MASTER_KEY_FILE);
    writeFileSync(path, 'not a key\n');
    expect(() => loadMasterKey(null, dir)).toThrow(/not a PersonaChain master key file/);
    expect(readFileSync(path, 'utf8')).toBe('not a key\n');
  });

  it('takes PERSONA_MASTER_KEY as 64 hex or 43 base64url characters, and names the variable otherwise', () => {
    const hex = 'ab'.repeat(32);
    expect(Buffer.from(loadConfig({ PERSONA_MASTER_KEY: hex }).masterKey as Uint8Array).toString('hex')).toBe(
      hex,
    );
    const b64 = Buffer.alloc(32, 7).toString('base64url');
    expect(loadConfig({ PERSONA_MASTER_KEY: b64 }).masterKey?.length).toBe(32);
    expect(loadMasterKey(new Uint8Array(32), dir).source).toBe('PERSONA_MASTER_KEY');
    for (const bad of ['short', 'ab'.repeat(31), `${b64}A`]) {
      expect(() => loadConfig({ PERSONA_MASTER_KEY: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ PERSONA_MASTER_KEY: bad })).toThrow(/^PERSONA_MASTER_KEY/);
    }
  });
});
