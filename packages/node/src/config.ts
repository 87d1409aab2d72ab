/**
 * The node's configuration from the environment: REPRAM's variables keep their names and meaning (so a
 * REPRAM deployment can switch over), new settings are PERSONA_NODE_*. Every value is validated; a bad
 * one fails start with a message naming the variable.
 */

export class NodeConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'NodeConfigError';
  }
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface PlatformLedgerConfig {
  readonly url: string;
  readonly apiKey: string;
  readonly project: string;
}

export interface NodeConfig {
  /** HTTP bind address (PERSONA_NODE_HOST). */
  readonly host: string;
  /** HTTP port (REPRAM_HTTP_PORT); 0 picks a free port. */
  readonly httpPort: number;
  /** Host other nodes and clients reach this node at (REPRAM_ADDRESS); undefined = derive from the bind. */
  readonly advertisedAddress?: string;
  /** Seeds: `host:httpPort` (REPRAM form) or multiaddrs (REPRAM_PEERS). */
  readonly peers: readonly string[];
  readonly replication: number;
  readonly enclave: string;
  readonly minTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly defaultTtlSeconds: number;
  readonly writeTimeoutMs: number;
  /** Requests per second per client IP; 0 disables rate limiting. */
  readonly rateLimitPerSecond: number;
  readonly rateBurst: number;
  /** Memory budget for stored values and keys in bytes; 0 = unlimited (REPRAM_MAX_STORAGE_MB). */
  readonly maxStorageBytes: number;
  readonly maxValueBytes: number;
  /** Trust X-Forwarded-For / X-Real-IP from the connecting proxy (REPRAM_TRUST_PROXY). */
  readonly trustProxy: boolean;
  /** libp2p TCP port (REPRAM_GOSSIP_PORT); 0 = any. */
  readonly gossipPort: number;
  readonly dataDir: string;
  readonly enclaveKeyFile?: string;
  readonly allowedPeers: readonly string[];
  readonly platform?: PlatformLedgerConfig;
  readonly logLevel: LogLevel;
}

type Env = Readonly<Record<string, string | undefined>>;

const MIB = 1024 * 1024;

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value))
    throw new NodeConfigError(name, `must be an integer from ${min} to ${max}, got "${value}"`);
  const parsed = Number(value);
  if (parsed < min || parsed > max) {
    throw new NodeConfigError(name, `must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

function boolean(env: Env, name: string): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return false;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new NodeConfigError(name, `must be true or false, got "${value}"`);
}

function list(env: Env, name: string): string[] {
  const value = raw(env, name);
  if (value === undefined) return [];
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** "5" (seconds, REPRAM's form), "5s", "500ms", "1m" → milliseconds. */
export function parseDuration(name: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  if (!match) throw new NodeConfigError(name, `must be a duration like "5", "5s" or "500ms", got "${value}"`);
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = Math.round(unit === 'ms' ? amount : unit === 's' ? amount * 1000 : amount * 60_000);
  if (ms < 1 || ms > 600_000) throw new NodeConfigError(name, `must be between 1ms and 10m, got "${value}"`);
  return ms;
}

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function checkPeer(name: string, peer: string): string {
  if (peer.startsWith('/')) {
    // Full multiaddr parsing belongs to the network part; reject only what can never be one.
    if (/\s/.test(peer)) throw new NodeConfigError(name, `"${peer}" is not a multiaddr`);
    return peer;
  }
  const match = HOST_PORT.exec(peer);
  const port = match ? Number(match[1]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new NodeConfigError(name, `"${peer}" is neither host:port nor a multiaddr`);
  }
  return peer;
}

function platformConfig(env: Env): PlatformLedgerConfig | undefined {
  const url = raw(env, 'PERSONA_NODE_PLATFORM_URL');
  const apiKey = raw(env, 'PERSONA_NODE_PLATFORM_API_KEY');
  const project = raw(env, 'PERSONA_NODE_PLATFORM_PROJECT');
  if (url === undefined) {
    if (apiKey !== undefined || project !== undefined) {
      throw new NodeConfigError('PERSONA_NODE_PLATFORM_URL', 'is required when an API key or project is set');
    }
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new NodeConfigError('PERSONA_NODE_PLATFORM_URL', `is not a URL: "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new NodeConfigError('PERSONA_NODE_PLATFORM_URL', 'must be an http(s) URL');
  }
  if (apiKey === undefined)
    throw new NodeConfigError('PERSONA_NODE_PLATFORM_API_KEY', 'is required with a platform URL');
  if (project === undefined)
    throw new NodeConfigError('PERSONA_NODE_PLATFORM_PROJECT', 'is required with a platform URL');
  return { url: parsed.toString().replace(/\/$/, ''), apiKey, project };
}

/** Reads and validates the node configuration; throws NodeConfigError naming the first bad variable. */
export function loadNodeConfig(env: Env = process.env): NodeConfig {
  const minTtlSeconds = integer(env, 'REPRAM_MIN_TTL', 300, 1, 31_536_000);
  const maxTtlSeconds = integer(env, 'REPRAM_MAX_TTL', 86_400, 1, 31_536_000);
  if (maxTtlSeconds < minTtlSeconds) {
    throw new NodeConfigError(
      'REPRAM_MAX_TTL',
      `(${maxTtlSeconds}) must not be below REPRAM_MIN_TTL (${minTtlSeconds})`,
    );
  }
  const defaultTtlSeconds = integer(env, 'PERSONA_NODE_DEFAULT_TTL', 3600, 1, 31_536_000);
  if (defaultTtlSeconds < minTtlSeconds || defaultTtlSeconds > maxTtlSeconds) {
    throw new NodeConfigError(
      'PERSONA_NODE_DEFAULT_TTL',
      `(${defaultTtlSeconds}) must lie within REPRAM_MIN_TTL..REPRAM_MAX_TTL (${minTtlSeconds}..${maxTtlSeconds})`,
    );
  }
  const rateLimitPerSecond = integer(env, 'REPRAM_RATE_LIMIT', 100, 0, 1_000_000);
  const rateBurst = integer(env, 'PERSONA_NODE_RATE_BURST', rateLimitPerSecond * 2, 0, 2_000_000);
  if (rateLimitPerSecond > 0 && rateBurst < 1) {
    throw new NodeConfigError('PERSONA_NODE_RATE_BURST', 'must be at least 1 while rate limiting is on');
  }
  const writeTimeout = raw(env, 'REPRAM_WRITE_TIMEOUT');
  const logLevel = (raw(env, 'PERSONA_NODE_LOG_LEVEL') ?? 'warn') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new NodeConfigError(
      'PERSONA_NODE_LOG_LEVEL',
      `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`,
    );
  }
  const enclave = raw(env, 'REPRAM_ENCLAVE') ?? 'default';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(enclave)) {
    throw new NodeConfigError('REPRAM_ENCLAVE', 'must be 1..64 characters of A-Z a-z 0-9 . _ -');
  }
  const allowedPeers = list(env, 'PERSONA_NODE_ALLOWED_PEERS');
  for (const peer of allowedPeers) {
    // libp2p peer ids are base58btc (12D3KooW… / Qm…) or CIDv1 base32 (b…); full decoding is the network's job.
    if (!/^[1-9A-HJ-NP-Za-km-z]{40,128}$|^b[a-z2-7]{40,128}$/.test(peer)) {
      throw new NodeConfigError('PERSONA_NODE_ALLOWED_PEERS', `"${peer}" is not a libp2p peer id`);
    }
  }
  const advertisedAddress = raw(env, 'REPRAM_ADDRESS');
  if (advertisedAddress !== undefined && /[\s/]/.test(advertisedAddress)) {
    throw new NodeConfigError(
      'REPRAM_ADDRESS',
      `must be a host name or IP address, got "${advertisedAddress}"`,
    );
  }
  const platform = platformConfig(env);
  const enclaveKeyFile = raw(env, 'PERSONA_NODE_ENCLAVE_KEY_FILE');
  return {
    host: raw(env, 'PERSONA_NODE_HOST') ?? '0.0.0.0',
    httpPort: integer(env, 'REPRAM_HTTP_PORT', 8080, 0, 65535),
    ...(advertisedAddress !== undefined ? { advertisedAddress } : {}),
    peers: list(env, 'REPRAM_PEERS').map((peer) => checkPeer('REPRAM_PEERS', peer)),
    replication: integer(env, 'REPRAM_REPLICATION', 3, 1, 15),
    enclave,
    minTtlSeconds,
    maxTtlSeconds,
    defaultTtlSeconds,
    writeTimeoutMs: writeTimeout === undefined ? 5000 : parseDuration('REPRAM_WRITE_TIMEOUT', writeTimeout),
    rateLimitPerSecond,
    rateBurst,
    maxStorageBytes: integer(env, 'REPRAM_MAX_STORAGE_MB', 0, 0, 16 * 1024 * 1024) * MIB,
    maxValueBytes: integer(env, 'PERSONA_NODE_MAX_VALUE_BYTES', 10 * MIB, 1, 512 * MIB),
    trustProxy: boolean(env, 'REPRAM_TRUST_PROXY'),
    gossipPort: integer(env, 'REPRAM_GOSSIP_PORT', 9090, 0, 65535),
    dataDir: raw(env, 'PERSONA_NODE_DATA_DIR') ?? './data/node',
    ...(enclaveKeyFile !== undefined ? { enclaveKeyFile } : {}),
    allowedPeers,
    ...(platform !== undefined ? { platform } : {}),
    logLevel,
  };
}
