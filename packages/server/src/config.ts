import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { cosignatureVerifier } from '@personachain/ledger';
import { parseKey32 } from './key-text.js';

/** A configuration problem found at start; the message names the variable to fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface RateLimitConfig {
  /** Sustained requests per second (the token refill rate). */
  perSecond: number;
  /** Bucket size: how many requests may arrive at once. */
  burst: number;
}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `sqlite:<absolute path>` or a `postgres://` URL. */
  databaseUrl: string;
  publicUrl: string;
  tls: { cert: string; key: string } | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimitBytes: number;
  corsOrigins: string[];
  bootstrapKey: string | null;
  redisUrl: string | null;
  metricsToken: string | null;
  trustProxy: boolean;
  /** `Server-Timing: hash;dur=…` on responses that hashed a password, for benchmarks; off by default. */
  serverTiming: boolean;
  rateLimits: {
    key: RateLimitConfig;
    project: RateLimitConfig;
    anonymous: RateLimitConfig;
    /** Per client address, on the public ledger endpoints. */
    public: RateLimitConfig;
  };
  shutdownTimeoutMs: number;
  /** 32 bytes from PERSONA_MASTER_KEY; null means the development key file in the data dir. */
  masterKey: Uint8Array | null;
  /** Null: the origin the log was created with (on first start, derived from the public URL). */
  ledgerOrigin: string | null;
  /** Hosts whose did:web documents may be fetched although they resolve to non-public addresses. */
  didWebTrustedHosts: string[];
  /**
   * Hosts that webhook deliveries, connectors and verification providers may reach although they resolve
   * to non-public addresses (and over plain HTTP); all others must be public HTTPS hosts.
   */
  outboundTrustedHosts: string[];
  /** Where verification documents (ciphertext only) are kept: a directory, or an S3-compatible bucket. */
  blobStore: BlobStoreConfig;
  /** Worker threads issuing and verifying Data Integrity credentials; 0 does it on the main thread. */
  credentialThreads: number;
  /** Worker threads checking VC-JOSE-COSE signatures in batches; 0 checks them on the main thread. */
  signatureThreads: number;
  /** Witnesses asked to cosign checkpoints; none: the latest signed checkpoint is served as is. */
  ledgerWitnesses: LedgerWitness[];
  /** How many witnesses must cosign a checkpoint before it is published (1..witnesses). */
  ledgerWitnessQuorum: number;
  /** Outgoing mail for email codes and magic links; null turns those features off. */
  smtp: SmtpConfig | null;
}

export type BlobStoreConfig =
  | { kind: 'file'; dir: string }
  | { kind: 's3'; bucket: string; endpoint: string | null; region: string; prefix: string };

export interface SmtpConfig {
  /** smtp:// or smtps:// with optional credentials: a secret, never logged. */
  url: string;
  /** The From address of the messages. */
  from: string;
}

export interface LedgerWitness {
  /** The witness's cosigner verifier key (type 0x04). */
  verifierKey: string;
  /** Its submission prefix: requests go to `<url>/add-checkpoint`. */
  url: string;
}

type Env = Record<string, string | undefined>;

/** The variables we read, in the order of the README's configuration table. */
export const CONFIG_VARIABLES = [
  'PERSONA_CONFIG_FILE',
  'PERSONA_HOST',
  'PERSONA_PORT',
  'PERSONA_DATA_DIR',
  'PERSONA_DATABASE_URL',
  'PERSONA_PUBLIC_URL',
  'PERSONA_TLS_CERT',
  'PERSONA_TLS_KEY',
  'PERSONA_LOG_LEVEL',
  'PERSONA_BODY_LIMIT',
  'PERSONA_CORS_ORIGINS',
  'PERSONA_BOOTSTRAP_KEY',
  'PERSONA_REDIS_URL',
  'PERSONA_METRICS_TOKEN',
  'PERSONA_TRUST_PROXY',
  'PERSONA_SERVER_TIMING',
  'PERSONA_RATE_LIMIT_KEY',
  'PERSONA_RATE_LIMIT_PROJECT',
  'PERSONA_RATE_LIMIT_ANONYMOUS',
  'PERSONA_RATE_LIMIT_PUBLIC',
  'PERSONA_SHUTDOWN_TIMEOUT_MS',
  'PERSONA_MASTER_KEY',
  'PERSONA_LEDGER_ORIGIN',
  'PERSONA_LEDGER_WITNESSES',
  'PERSONA_LEDGER_WITNESS_QUORUM',
  'PERSONA_DID_WEB_TRUSTED_HOSTS',
  'PERSONA_OUTBOUND_TRUSTED_HOSTS',
  'PERSONA_BLOB_STORE',
  'PERSONA_CREDENTIAL_THREADS',
  'PERSONA_SIGNATURE_THREADS',
  'PERSONA_SMTP_URL',
  'PERSONA_SMTP_FROM',
] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const BOOTSTRAP_KEY_PATTERN = /^sk_[A-Za-z0-9_-]{43,}$/;

/**
 * Reads PERSONA_* variables, falling back to the JSON file named by PERSONA_CONFIG_FILE (same names as
 * keys), then to the embedded defaults. Environment wins over the file.
 */
export function loadConfig(env: Env = process.env): Config {
  const source = { ...readConfigFile(env.PERSONA_CONFIG_FILE), ...definedOnly(env) };
  const get = (name: (typeof CONFIG_VARIABLES)[number]): string | undefined => {
    const value = source[name];
    return value === undefined || value === '' ? undefined : value;
  };

  const dataDir = resolve(get('PERSONA_DATA_DIR') ?? './data');
  const host = get('PERSONA_HOST') ?? '127.0.0.1';
  const port = integer('PERSONA_PORT', get('PERSONA_PORT'), 8080, 0, 65_535);
  const tls = tlsFiles(get('PERSONA_TLS_CERT'), get('PERSONA_TLS_KEY'));
  const scheme = tls ? 'https' : 'http';
  const witnesses = ledgerWitnesses(get('PERSONA_LEDGER_WITNESSES'));

  return {
    host,
    port,
    dataDir,
    databaseUrl: databaseUrl(get('PERSONA_DATABASE_URL'), dataDir),
    publicUrl: publicUrl(get('PERSONA_PUBLIC_URL') ?? `${scheme}://${defaultPublicHost(host)}:${port}`),
    tls,
    logLevel: oneOf('PERSONA_LOG_LEVEL', get('PERSONA_LOG_LEVEL') ?? 'info', LOG_LEVELS),
    bodyLimitBytes: integer('PERSONA_BODY_LIMIT', get('PERSONA_BODY_LIMIT'), 1_048_576, 1024, 104_857_600),
    corsOrigins: corsOrigins(get('PERSONA_CORS_ORIGINS')),
    bootstrapKey: bootstrapKey(get('PERSONA_BOOTSTRAP_KEY')),
    redisUrl: url('PERSONA_REDIS_URL', get('PERSONA_REDIS_URL'), ['redis:', 'rediss:']),
    metricsToken: get('PERSONA_METRICS_TOKEN') ?? null,
    trustProxy: boolean('PERSONA_TRUST_PROXY', get('PERSONA_TRUST_PROXY'), false),
    serverTiming: boolean('PERSONA_SERVER_TIMING', get('PERSONA_SERVER_TIMING'), false),
    rateLimits: {
      key: rate('PERSONA_RATE_LIMIT_KEY', get('PERSONA_RATE_LIMIT_KEY'), { perSecond: 100, burst: 200 }),
      project: rate('PERSONA_RATE_LIMIT_PROJECT', get('PERSONA_RATE_LIMIT_PROJECT'), {
        perSecond: 1000,
        burst: 2000,
      }),
      anonymous: rate('PERSONA_RATE_LIMIT_ANONYMOUS', get('PERSONA_RATE_LIMIT_ANONYMOUS'), {
        perSecond: 20,
        burst: 40,
      }),
      public: rate('PERSONA_RATE_LIMIT_PUBLIC', get('PERSONA_RATE_LIMIT_PUBLIC'), {
        perSecond: 200,
        burst: 400,
      }),
    },
    shutdownTimeoutMs: integer(
      'PERSONA_SHUTDOWN_TIMEOUT_MS',
      get('PERSONA_SHUTDOWN_TIMEOUT_MS'),
      10_000,
      100,
      600_000,
    ),
    masterKey: masterKey(get('PERSONA_MASTER_KEY')),
    ledgerOrigin: ledgerOrigin(get('PERSONA_LEDGER_ORIGIN')),
    didWebTrustedHosts: hostList('PERSONA_DID_WEB_TRUSTED_HOSTS', get('PERSONA_DID_WEB_TRUSTED_HOSTS')),
    outboundTrustedHosts: hostList('PERSONA_OUTBOUND_TRUSTED_HOSTS', get('PERSONA_OUTBOUND_TRUSTED_HOSTS')),
    blobStore: blobStoreOf(get('PERSONA_BLOB_STORE'), dataDir),
    credentialThreads: integer(
      'PERSONA_CREDENTIAL_THREADS',
      get('PERSONA_CREDENTIAL_THREADS'),
      // Each thread holds its own JSON-LD state (~230 MiB at peak in bench/credentials.mjs).
      Math.min(availableParallelism(), 8),
      0,
      64,
    ),
    // One thread checks ~13,000 Ed25519 signatures per second with libsodium: more than one main thread can
    // hand it (bench/credentials.mjs).
    signatureThreads: integer('PERSONA_SIGNATURE_THREADS', get('PERSONA_SIGNATURE_THREADS'), 1, 0, 64),
    ledgerWitnesses: witnesses,
    ledgerWitnessQuorum: witnessQuorum(get('PERSONA_LEDGER_WITNESS_QUORUM'), witnesses.length),
    smtp: smtp(get('PERSONA_SMTP_URL'), get('PERSONA_SMTP_FROM')),
  };
}

/** Both variables or neither: a half-configured mailer would fail only when the first code is sent. */
function smtp(rawUrl: string | undefined, from: string | undefined): SmtpConfig | null {
  if (rawUrl === undefined && from === undefined) return null;
  if (rawUrl === undefined || from === undefined) {
    throw new ConfigError('PERSONA_SMTP_URL and PERSONA_SMTP_FROM must be set together');
  }
  const url = urlOf('PERSONA_SMTP_URL', rawUrl, ['smtp:', 'smtps:']);
  // A bare address, or `Name <address>`; no line breaks (header injection).
  if (!/^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(from) || from.length > 320) {
    throw new ConfigError(
      `PERSONA_SMTP_FROM must be an email address, e.g. "PersonaChain <no-reply@example.com>"`,
    );
  }
  return { url, from };
}

/** The origin a new log gets when PERSONA_LEDGER_ORIGIN is not set: the public URL without its scheme. */
export function defaultLedgerOrigin(config: Pick<Config, 'publicUrl'>): string {
  const url = new URL(config.publicUrl);
  return `${url.host}${url.pathname.replace(/\/+$/, '')}/ledger`;
}

function masterKey(raw: string | undefined): Uint8Array | null {
  if (raw === undefined) return null;
  const bytes = parseKey32(raw);
  if (!bytes) {
    throw new ConfigError(
      'PERSONA_MASTER_KEY must be 32 random bytes as 64 hex characters or 43 base64url characters; ' +
        "generate one with: node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\"",
    );
  }
  return bytes;
}

/** Comma-separated `host` or `host:port` entries. */
function hostList(name: string, raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const hosts = raw
    .split(',')
    .map((host) => host.trim())
    .filter(Boolean);
  for (const host of hosts) {
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host)) {
      throw new ConfigError(
        `${name} entries must look like intranet.example or intranet.example:8443 (got "${host}")`,
      );
    }
  }
  return hosts;
}

/** c2sp.org/tlog-checkpoint: a schema-less URL-like identity without spaces or `+`. */
function ledgerOrigin(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  if (!/^[\x21-\x7e]+$/.test(raw) || raw.includes('+') || /^[a-z]+:\/\//i.test(raw)) {
    throw new ConfigError(
      `PERSONA_LEDGER_ORIGIN must be a schema-less URL such as "ledger.example.com/persona", without ` +
        `spaces or "+" (got "${raw}")`,
    );
  }
  return raw;
}

/**
 * PERSONA_LEDGER_WITNESSES: comma-separated entries `<cosigner vkey> <url>` (what `persona witness`
 * prints, a space, and the witness's submission prefix).
 */
function ledgerWitnesses(raw: string | undefined): LedgerWitness[] {
  if (raw === undefined) return [];
  const witnesses: LedgerWitness[] = [];
  for (const entry of raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const [verifierKey = '', address, ...rest] = entry.split(/\s+/);
    if (address === undefined || rest.length > 0) {
      throw new ConfigError(
        'PERSONA_LEDGER_WITNESSES entries must be "<cosigner verifier key> <url>", separated by commas ' +
          `(an entry has ${rest.length + (address === undefined ? 1 : 2)} space-separated parts)`,
      );
    }
    try {
      cosignatureVerifier(verifierKey);
    } catch (error) {
      throw new ConfigError(
        `PERSONA_LEDGER_WITNESSES: "${verifierKey}" is not a witness cosigner key (type 0x04): ${(error as Error).message}`,
      );
    }
    if (witnesses.some((witness) => witness.verifierKey === verifierKey)) {
      throw new ConfigError(`PERSONA_LEDGER_WITNESSES lists the witness ${verifierKey} twice`);
    }
    const prefix = url('PERSONA_LEDGER_WITNESSES', address.replace(/\/+$/, ''), [
      'http:',
      'https:',
    ]) as string;
    witnesses.push({ verifierKey, url: prefix });
  }
  return witnesses;
}

function witnessQuorum(raw: string | undefined, witnesses: number): number {
  if (raw === undefined) return witnesses;
  if (witnesses === 0) {
    throw new ConfigError('PERSONA_LEDGER_WITNESS_QUORUM needs witnesses in PERSONA_LEDGER_WITNESSES');
  }
  return integer('PERSONA_LEDGER_WITNESS_QUORUM', raw, witnesses, 1, witnesses);
}

/** Where clients reach a server listening on `host` by default: wildcards become localhost. */
function defaultPublicHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    // An empty variable counts as unset, so it cannot hide the config file's value.
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

function readConfigFile(path: string | undefined): Record<string, string> {
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`PERSONA_CONFIG_FILE: cannot read ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`PERSONA_CONFIG_FILE: ${path} must hold a JSON object of PERSONA_* settings`);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!(CONFIG_VARIABLES as readonly string[]).includes(name) || name === 'PERSONA_CONFIG_FILE') {
      throw new ConfigError(`PERSONA_CONFIG_FILE: unknown setting "${name}" in ${path}`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(`${name} (in ${path}) must be a string, number or boolean`);
    }
    out[name] = String(value);
  }
  return out;
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

function boolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false (got "${raw}")`);
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
}

function url(name: string, raw: string | undefined, protocols: string[]): string | null {
  return raw === undefined ? null : urlOf(name, raw, protocols);
}

function urlOf(name: string, raw: string, protocols: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL (got "${redactUrl(raw)}")`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')} (got "${parsed.protocol}")`);
  }
  return raw;
}

/**
 * `file:<dir>` (default `<data dir>/blobs`) or `s3://<bucket>[/<prefix>]?region=…&endpoint=…` for an
 * S3-compatible store; S3 credentials come from the AWS SDK's usual sources (environment, profile, role).
 */
function blobStoreOf(raw: string | undefined, dataDir: string): BlobStoreConfig {
  if (raw === undefined || raw === '') return { kind: 'file', dir: resolve(dataDir, 'blobs') };
  if (raw.startsWith('file:')) return { kind: 'file', dir: resolve(raw.slice('file:'.length)) };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`PERSONA_BLOB_STORE must be file:<dir> or s3://<bucket>[/prefix] (got "${raw}")`);
  }
  if (url.protocol !== 's3:' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(url.hostname)) {
    throw new ConfigError(`PERSONA_BLOB_STORE must be file:<dir> or s3://<bucket>[/prefix] (got "${raw}")`);
  }
  const endpoint = url.searchParams.get('endpoint');
  if (endpoint !== null && !/^https?:\/\//.test(endpoint)) {
    throw new ConfigError(`PERSONA_BLOB_STORE endpoint must be an http(s) URL (got "${endpoint}")`);
  }
  return {
    kind: 's3',
    bucket: url.hostname,
    endpoint,
    region: url.searchParams.get('region') ?? 'us-east-1',
    prefix: url.pathname.replace(/^\/+/, ''),
  };
}

function databaseUrl(raw: string | undefined, dataDir: string): string {
  if (raw === undefined) return `sqlite:${resolve(dataDir, 'persona.db')}`;
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length);
    if (!path)
      throw new ConfigError('PERSONA_DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./data/persona.db');
    return path === ':memory:' ? raw : `sqlite:${isAbsolute(path) ? path : resolve(path)}`;
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    url('PERSONA_DATABASE_URL', raw, ['postgres:', 'postgresql:']);
    return raw;
  }
  throw new ConfigError(
    `PERSONA_DATABASE_URL must start with sqlite: or postgres:// (got "${redactUrl(raw)}")`,
  );
}

function publicUrl(raw: string): string {
  const value = url('PERSONA_PUBLIC_URL', raw, ['http:', 'https:']) as string;
  return value.replace(/\/+$/, '');
}

function tlsFiles(cert: string | undefined, key: string | undefined): Config['tls'] {
  if (cert === undefined && key === undefined) return null;
  if (cert === undefined) throw new ConfigError('PERSONA_TLS_CERT must be set when PERSONA_TLS_KEY is set');
  if (key === undefined) throw new ConfigError('PERSONA_TLS_KEY must be set when PERSONA_TLS_CERT is set');
  return { cert: readPem('PERSONA_TLS_CERT', cert), key: readPem('PERSONA_TLS_KEY', key) };
}

function readPem(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${name}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

function corsOrigins(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    const parsed = url('PERSONA_CORS_ORIGINS', origin, ['http:', 'https:']) as string;
    if (new URL(parsed).origin !== parsed) {
      throw new ConfigError(
        `PERSONA_CORS_ORIGINS entries must be bare origins like https://app.example (got "${origin}")`,
      );
    }
  }
  return origins;
}

function bootstrapKey(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  if (!BOOTSTRAP_KEY_PATTERN.test(raw)) {
    throw new ConfigError(
      'PERSONA_BOOTSTRAP_KEY must be "sk_" followed by at least 43 base64url characters (256 bits); ' +
        "generate one with: node -e \"console.log('sk_'+require('crypto').randomBytes(32).toString('base64url'))\"",
    );
  }
  return raw;
}

function rate(name: string, raw: string | undefined, fallback: RateLimitConfig): RateLimitConfig {
  if (raw === undefined) return fallback;
  const match = /^(\d+)\/s(?::(\d+))?$/.exec(raw.trim());
  const perSecond = Number(match?.[1]);
  const burst = match?.[2] === undefined ? perSecond : Number(match[2]);
  if (!match || perSecond < 1 || burst < 1) {
    throw new ConfigError(
      `${name} must look like "100/s" or "100/s:200" (rate per second, optional burst) (got "${raw}")`,
    );
  }
  return { perSecond, burst };
}

/** Hides the password of a URL so it can appear in messages and logs. */
export function redactUrl(raw: string): string {
  try {
    const parsed = new URL(raw);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Unparseable: it may still hold a password, so show only what precedes any credentials.
    return `${raw.split('@')[0]?.split('://')[0] ?? ''}://<redacted>`;
  }
}
