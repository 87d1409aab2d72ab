import { describe, expect, it } from 'vitest';
import { loadNodeConfig, NodeConfigError, parseDuration } from '../src/index.js';

function failure(env: Record<string, string>): NodeConfigError {
  try {
    loadNodeConfig(env);
  } catch (error) {
    if (error instanceof NodeConfigError) return error;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('loadNodeConfig', () => {
  it('defaults to REPRAM values and the new PERSONA_NODE_* defaults', () => {
    expect(loadNodeConfig({})).toEqual({
      host: '0.0.0.0',
      httpPort: 8080,
      peers: [],
      replication: 3,
      enclave: 'default',
      minTtlSeconds: 300,
      maxTtlSeconds: 86_400,
      defaultTtlSeconds: 3600,
      writeTimeoutMs: 5000,
      rateLimitPerSecond: 100,
      rateBurst: 200,
      maxStorageBytes: 0,
      maxValueBytes: 10 * 1024 * 1024,
      trustProxy: false,
      gossipPort: 9090,
      dataDir: './data/node',
      allowedPeers: [],
      logLevel: 'warn',
    });
  });

  it('reads every variable', () => {
    const config = loadNodeConfig({
      PERSONA_NODE_HOST: '127.0.0.1',
      REPRAM_HTTP_PORT: '0',
      REPRAM_ADDRESS: 'node1.example',
      REPRAM_PEERS:
        'seed.example:8080, /ip4/10.0.0.2/tcp/9090/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp',
      REPRAM_REPLICATION: '5',
      REPRAM_ENCLAVE: 'eu-prod',
      REPRAM_MIN_TTL: '60',
      REPRAM_MAX_TTL: '604800',
      PERSONA_NODE_DEFAULT_TTL: '600',
      REPRAM_WRITE_TIMEOUT: '500ms',
      REPRAM_RATE_LIMIT: '50',
      REPRAM_MAX_STORAGE_MB: '512',
      PERSONA_NODE_MAX_VALUE_BYTES: '65536',
      REPRAM_TRUST_PROXY: 'true',
      REPRAM_GOSSIP_PORT: '0',
      PERSONA_NODE_DATA_DIR: '/var/lib/persona-node',
      PERSONA_NODE_ENCLAVE_KEY_FILE: '/etc/persona/swarm.key',
      PERSONA_NODE_ALLOWED_PEERS: '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp',
      PERSONA_NODE_PLATFORM_URL: 'https://persona.example/',
      PERSONA_NODE_PLATFORM_API_KEY: 'pk_test',
      PERSONA_NODE_PLATFORM_PROJECT: 'prj_1',
      PERSONA_NODE_LOG_LEVEL: 'info',
    });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      httpPort: 0,
      advertisedAddress: 'node1.example',
      replication: 5,
      enclave: 'eu-prod',
      minTtlSeconds: 60,
      maxTtlSeconds: 604_800,
      defaultTtlSeconds: 600,
      writeTimeoutMs: 500,
      rateLimitPerSecond: 50,
      rateBurst: 100, // twice the rate unless set
      maxStorageBytes: 512 * 1024 * 1024,
      maxValueBytes: 65_536,
      trustProxy: true,
      gossipPort: 0,
      dataDir: '/var/lib/persona-node',
      enclaveKeyFile: '/etc/persona/swarm.key',
      allowedPeers: ['12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'],
      platform: { url: 'https://persona.example', apiKey: 'pk_test', project: 'prj_1' },
      logLevel: 'info',
    });
    expect(config.peers).toHaveLength(2);
    expect(loadNodeConfig({ REPRAM_RATE_LIMIT: '0' }).rateLimitPerSecond).toBe(0);
    expect(loadNodeConfig({ PERSONA_NODE_RATE_BURST: '7' }).rateBurst).toBe(7);
  });

  it('accepts REPRAM write timeouts in seconds and with units', () => {
    expect(parseDuration('X', '5')).toBe(5000);
    expect(parseDuration('X', '5s')).toBe(5000);
    expect(parseDuration('X', '2.5s')).toBe(2500);
    expect(parseDuration('X', '250ms')).toBe(250);
    expect(parseDuration('X', '1m')).toBe(60_000);
  });

  it.each([
    [{ REPRAM_HTTP_PORT: '70000' }, 'REPRAM_HTTP_PORT'],
    [{ REPRAM_HTTP_PORT: '80a' }, 'REPRAM_HTTP_PORT'],
    [{ REPRAM_REPLICATION: '0' }, 'REPRAM_REPLICATION'],
    [{ REPRAM_MIN_TTL: '-1' }, 'REPRAM_MIN_TTL'],
    [{ REPRAM_MIN_TTL: '500', REPRAM_MAX_TTL: '400' }, 'REPRAM_MAX_TTL'],
    [{ PERSONA_NODE_DEFAULT_TTL: '100' }, 'PERSONA_NODE_DEFAULT_TTL'],
    [{ REPRAM_MAX_TTL: '1000' }, 'PERSONA_NODE_DEFAULT_TTL'],
    [{ REPRAM_WRITE_TIMEOUT: 'soon' }, 'REPRAM_WRITE_TIMEOUT'],
    [{ REPRAM_WRITE_TIMEOUT: '0' }, 'REPRAM_WRITE_TIMEOUT'],
    [{ REPRAM_RATE_LIMIT: '1.5' }, 'REPRAM_RATE_LIMIT'],
    [{ PERSONA_NODE_RATE_BURST: '0' }, 'PERSONA_NODE_RATE_BURST'],
    [{ REPRAM_MAX_STORAGE_MB: 'lots' }, 'REPRAM_MAX_STORAGE_MB'],
    [{ PERSONA_NODE_MAX_VALUE_BYTES: '0' }, 'PERSONA_NODE_MAX_VALUE_BYTES'],
    [{ REPRAM_TRUST_PROXY: 'maybe' }, 'REPRAM_TRUST_PROXY'],
    [{ REPRAM_PEERS: 'seed.example' }, 'REPRAM_PEERS'],
    [{ REPRAM_PEERS: 'seed.example:0' }, 'REPRAM_PEERS'],
    [{ REPRAM_ENCLAVE: 'has space' }, 'REPRAM_ENCLAVE'],
    [{ REPRAM_ADDRESS: 'http://node' }, 'REPRAM_ADDRESS'],
    [{ PERSONA_NODE_ALLOWED_PEERS: 'not-a-peer' }, 'PERSONA_NODE_ALLOWED_PEERS'],
    [{ PERSONA_NODE_PLATFORM_URL: 'ftp://x' }, 'PERSONA_NODE_PLATFORM_URL'],
    [{ PERSONA_NODE_PLATFORM_API_KEY: 'pk' }, 'PERSONA_NODE_PLATFORM_URL'],
    [{ PERSONA_NODE_PLATFORM_URL: 'https://p.example' }, 'PERSONA_NODE_PLATFORM_API_KEY'],
    [{ PERSONA_NODE_LOG_LEVEL: 'loud' }, 'PERSONA_NODE_LOG_LEVEL'],
  ])('refuses %o naming %s', (env, variable) => {
    const error = failure(env);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
  });
});
