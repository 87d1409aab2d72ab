import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has embedded defaults: port 8080, SQLite in ./data', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.dataDir).toBe(resolve('data'));
    expect(config.databaseUrl).toBe(`sqlite:${resolve('data', 'persona.db')}`);
    expect(config.publicUrl).toBe('http://127.0.0.1:8080');
    expect(config.tls).toBeNull();
    expect(config.redisUrl).toBeNull();
    expect(config.signatureThreads).toBe(1);
    expect(loadConfig({ PERSONA_SIGNATURE_THREADS: '0' }).signatureThreads).toBe(0);
  });

  it.each([
    [{ PERSONA_PORT: 'eighty' }, 'PERSONA_PORT'],
    [{ PERSONA_PORT: '70000' }, 'PERSONA_PORT'],
    [{ PERSONA_DATABASE_URL: 'mysql://x' }, 'PERSONA_DATABASE_URL'],
    [{ PERSONA_PUBLIC_URL: 'not a url' }, 'PERSONA_PUBLIC_URL'],
    [{ PERSONA_TLS_CERT: '/nope.pem' }, 'PERSONA_TLS_KEY'],
    [{ PERSONA_TLS_CERT: '/nope.pem', PERSONA_TLS_KEY: '/nope.key' }, 'PERSONA_TLS_CERT'],
    [{ PERSONA_LOG_LEVEL: 'loud' }, 'PERSONA_LOG_LEVEL'],
    [{ PERSONA_BOOTSTRAP_KEY: 'sk_short' }, 'PERSONA_BOOTSTRAP_KEY'],
    [{ PERSONA_REDIS_URL: 'http://x' }, 'PERSONA_REDIS_URL'],
    [{ PERSONA_RATE_LIMIT_KEY: 'fast' }, 'PERSONA_RATE_LIMIT_KEY'],
    [{ PERSONA_CORS_ORIGINS: 'https://a.example/path' }, 'PERSONA_CORS_ORIGINS'],
    [{ PERSONA_TRUST_PROXY: 'maybe' }, 'PERSONA_TRUST_PROXY'],
    [{ PERSONA_SERVER_TIMING: 'maybe' }, 'PERSONA_SERVER_TIMING'],
    [{ PERSONA_SIGNATURE_THREADS: '65' }, 'PERSONA_SIGNATURE_THREADS'],
  ])('rejects %o naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });

  it('never echoes a database password in an error', () => {
    expect(() => loadConfig({ PERSONA_DATABASE_URL: 'mysql://user:hunter2@db/x' })).toThrow(/^(?!.*hunter2)/);
  });

  it('hides passwords in URLs it cannot parse, too', () => {
    let message = '';
    try {
      loadConfig({ PERSONA_DATABASE_URL: 'postgres://u:hunter2@[bad' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('PERSONA_DATABASE_URL');
    expect(message).not.toContain('hunter2');
  });

  it('brackets an IPv6 listen address in the default public URL', () => {
    expect(loadConfig({ PERSONA_HOST: '::1', PERSONA_PORT: '9000' }).publicUrl).toBe('http://[::1]:9000');
    expect(loadConfig({ PERSONA_HOST: '::' }).publicUrl).toBe('http://localhost:8080');
  });

  it('reads a JSON config file, with the environment taking precedence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'persona-config-'));
    const file = join(dir, 'persona.json');
    writeFileSync(file, JSON.stringify({ PERSONA_PORT: 9000, PERSONA_LOG_LEVEL: 'warn' }));
    const config = loadConfig({ PERSONA_CONFIG_FILE: file, PERSONA_LOG_LEVEL: 'error' });
    expect(config.port).toBe(9000);
    expect(config.logLevel).toBe('error');
    // An empty variable is unset: it does not hide the file's value.
    expect(loadConfig({ PERSONA_CONFIG_FILE: file, PERSONA_PORT: '' }).port).toBe(9000);
    writeFileSync(file, JSON.stringify({ PERSONA_PROT: 9000 }));
    expect(() => loadConfig({ PERSONA_CONFIG_FILE: file })).toThrow(/unknown setting "PERSONA_PROT"/);
    expect(() => loadConfig({ PERSONA_CONFIG_FILE: join(dir, 'missing.json') })).toThrow(
      /PERSONA_CONFIG_FILE/,
    );
  });

  it('parses rate limits as rate/s with an optional burst', () => {
    expect(loadConfig({ PERSONA_RATE_LIMIT_KEY: '50/s' }).rateLimits.key).toEqual({
      perSecond: 50,
      burst: 50,
    });
    expect(loadConfig({ PERSONA_RATE_LIMIT_KEY: '50/s:120' }).rateLimits.key).toEqual({
      perSecond: 50,
      burst: 120,
    });
  });

  it('takes PERSONA_LEDGER_ORIGIN as a schema-less URL without spaces or "+", or none', () => {
    expect(loadConfig({}).ledgerOrigin).toBeNull();
    expect(loadConfig({ PERSONA_LEDGER_ORIGIN: 'ledger.example.com/persona' }).ledgerOrigin).toBe(
      'ledger.example.com/persona',
    );
    for (const bad of ['https://ledger.example.com', 'ledger example', 'a+b']) {
      expect(() => loadConfig({ PERSONA_LEDGER_ORIGIN: bad })).toThrow(/^PERSONA_LEDGER_ORIGIN/);
    }
  });
});
