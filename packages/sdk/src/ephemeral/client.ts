import { sha256 } from '@noble/hashes/sha2.js';
import { type EnvelopeKeyPair, type EnvelopeRecipient, randomBytes, toBase64Url } from '@personachain/crypto';
import { type EphemeralAttestation, verifyEphemeralAttestation } from './attestation.js';
import { ephemeralKeyCommitment } from './commitment.js';
import { EphemeralError } from './errors.js';
import {
  checkStorageKey,
  dataPath,
  decodeSecret,
  type EphemeralMode,
  type EphemeralReference,
  formatLink,
  normalizeNodeUrl,
  parseEphemeralLink,
} from './link.js';
import { LINK_SECRET_BYTES, type Opener, openSealed, sealToRecipient, sealWithSecret } from './seal.js';

/** The node's default value limit (PERSONA_NODE_MAX_VALUE_BYTES): 10 MiB. */
export const DEFAULT_MAX_VALUE_BYTES = 10 * 1024 * 1024;
/** Storage keys are 128 random bits. */
const STORAGE_KEY_BYTES = 16;
const WRITE_TOKEN_BYTES = 32;
const COMPLIANCE_SALT_BYTES = 32;
/** Error bodies are read up to this many bytes; the rest is not needed to explain a failure. */
const MAX_ERROR_BODY_BYTES = 4096;
const MAX_JSON_BODY_BYTES = 1024 * 1024;

export interface EphemeralClientOptions {
  /** Base URL of a node's client API, e.g. `https://node.example.com` (a path prefix is kept). */
  nodeUrl: string;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof fetch;
  /**
   * The largest sealed value this client uploads or downloads, in bytes. Set it to the node's
   * PERSONA_NODE_MAX_VALUE_BYTES; the default is the node's default, 10 MiB.
   */
  maxValueBytes?: number;
  /** Per-request timeout; 30 s by default. */
  timeoutMs?: number;
}

export interface PutOptions {
  /** Seconds to live; the node's default (3600) when absent. The node refuses one outside its range. */
  ttl?: number;
  /** The link asks the reader to burn the value: the first read deletes it cluster-wide. */
  readOnce?: boolean;
  /** Ask the replicas for signed deletion attestations, filed under a salted key commitment. */
  compliance?: boolean;
  /**
   * Seal to this public key (HPKE, X-Wing by default) instead of a link secret: only the recipient's
   * key pair opens it, and the link carries no secret (the sender cannot decrypt either).
   */
  recipient?: EnvelopeRecipient;
}

export interface ReplicaCount {
  acknowledged: number;
  required: number;
  total: number;
}

export interface EphemeralReceipt {
  /** The share link; its fragment holds the secret in `aes` mode. Treat it as the secret itself. */
  link: string;
  key: string;
  mode: EphemeralMode;
  readOnce: boolean;
  createdAt: Date;
  expiresAt: Date;
  ttl: number;
  replicas: ReplicaCount;
  /** True when the node answered 201 (a majority of replicas holds the value), false on 202. */
  quorum: boolean;
  /** Proves ownership for `delete` (and overwrites). Keep it; it is not in the link. */
  writeToken: string;
  /** For compliance writes: the salt (keep it private) and the commitment attestations are filed under. */
  commitment?: { keyCommitment: string; salt: string };
}

export interface EphemeralValue {
  bytes: Uint8Array;
  /** The bytes as UTF-8 (invalid sequences throw). */
  text(): string;
  createdAt?: Date;
  expiresAt?: Date;
}

export interface GetOptions {
  /** Recipient mode: the key pair the value was sealed to. */
  recipientKey?: EnvelopeKeyPair;
  /** Overrides the link's read-once flag. */
  burn?: boolean;
}

export interface EphemeralAttestations {
  keyCommitment: string;
  /** The answering node's peer id. */
  nodeId: string;
  /** Each with `verified`: its Ed25519 signature checks against the key in its nodeId. */
  attestations: (EphemeralAttestation & { verified: boolean })[];
  /** The node's whole answer (inclusion proofs, its log checkpoint), for verification. */
  raw: Record<string, unknown>;
}

function toBytes(value: Uint8Array | string): Uint8Array {
  if (typeof value === 'string') return new TextEncoder().encode(value);
  if (value instanceof Uint8Array) return value;
  throw new EphemeralError('invalid-argument', 'a value is a Uint8Array or a string');
}

function parseTime(value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value);
  if (typeof value !== 'string') return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** Reads at most `limit` bytes of a body; more is an error, so a hostile server cannot exhaust memory. */
async function readCapped(response: Response, limit: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    throw new EphemeralError(
      'too-large',
      `the node answered ${declared} bytes, over the ${limit}-byte limit`,
    );
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new EphemeralError('too-large', `the node answered more than the ${limit}-byte limit`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

async function readJson(response: Response): Promise<Record<string, unknown>> {
  const text = new TextDecoder().decode(await readCapped(response, MAX_JSON_BODY_BYTES));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new EphemeralError('http', `the node answered ${response.status} without JSON`, {
      cause,
      status: response.status,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new EphemeralError('http', 'the node answered JSON that is not an object', {
      status: response.status,
    });
  }
  return parsed as Record<string, unknown>;
}

/** The node's explanation of a failure: `detail`, `error` or `message` of a JSON body, else its text. */
async function failureDetail(response: Response): Promise<string> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readCapped(response, MAX_ERROR_BODY_BYTES));
  } catch {
    return '';
  }
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    for (const field of ['detail', 'error', 'message']) {
      if (typeof body[field] === 'string') return body[field];
    }
  } catch {
    // Not JSON: the text itself.
  }
  return text.slice(0, 500);
}

const STATUS_CODES: Record<number, EphemeralError['code']> = {
  400: 'rejected',
  401: 'forbidden',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  413: 'too-large',
  429: 'rate-limited',
  507: 'storage-full',
};

async function failure(response: Response, action: string): Promise<EphemeralError> {
  const detail = await failureDetail(response);
  const retryAfter = Number(response.headers.get('retry-after'));
  const message = `${action}: the node answered ${response.status}${detail ? `: ${detail}` : ''}`;
  return new EphemeralError(STATUS_CODES[response.status] ?? 'http', message, {
    status: response.status,
    ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
  });
}

function replicaCount(value: unknown): ReplicaCount {
  const replicas = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const count = (field: string) => (Number.isSafeInteger(replicas[field]) ? (replicas[field] as number) : 0);
  return { acknowledged: count('acknowledged'), required: count('required'), total: count('total') };
}

/**
 * A client of the ephemeral store: encrypts on this side, stores ciphertext on a node, and returns
 * a share link whose fragment (never sent to a server) holds the key. Runs in Node 22+ and browsers.
 */
export class EphemeralClient {
  readonly nodeUrl: string;
  readonly maxValueBytes: number;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: EphemeralClientOptions) {
    this.nodeUrl = normalizeNodeUrl(options.nodeUrl);
    this.maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    if (!Number.isSafeInteger(this.maxValueBytes) || this.maxValueBytes < 1) {
      throw new EphemeralError('invalid-argument', 'maxValueBytes is a positive integer');
    }
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    // Bound to globalThis: browsers throw "Illegal invocation" for a detached window.fetch.
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  #request(path: string, init: RequestInit): Promise<Response> {
    return this.#fetch(`${this.nodeUrl}${path}`, {
      ...init,
      // No cookies or HTTP auth: capabilities travel in headers, and the node allows any origin.
      credentials: 'omit',
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
  }

  /** Encrypts `value`, stores the ciphertext, and returns the share link and the owner's write token. */
  async put(value: Uint8Array | string, options: PutOptions = {}): Promise<EphemeralReceipt> {
    const plaintext = toBytes(value);
    const { ttl, readOnce = false, compliance = false, recipient } = options;
    if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 1)) {
      throw new EphemeralError('invalid-argument', 'ttl is a whole number of seconds');
    }
    const key = toBase64Url(randomBytes(STORAGE_KEY_BYTES));
    const mode: EphemeralMode = recipient ? 'hpke' : 'aes';
    const secret = recipient ? undefined : randomBytes(LINK_SECRET_BYTES);
    const sealed = secret
      ? await sealWithSecret(secret, key, plaintext)
      : await sealToRecipient(recipient as EnvelopeRecipient, key, plaintext);
    if (sealed.length > this.maxValueBytes) {
      throw new EphemeralError(
        'too-large',
        `the sealed value has ${sealed.length} bytes, over the ${this.maxValueBytes}-byte limit`,
      );
    }

    const writeToken = randomBytes(WRITE_TOKEN_BYTES);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'x-write-capability': `token-sha256=${toBase64Url(sha256(writeToken))}`,
    };
    if (ttl !== undefined) headers['x-ttl'] = String(ttl);
    // The node then refuses every read that does not burn the value.
    if (readOnce) headers['x-read-once'] = 'true';
    let commitment: EphemeralReceipt['commitment'];
    if (compliance) {
      const salt = randomBytes(COMPLIANCE_SALT_BYTES);
      headers['x-compliance-salt'] = toBase64Url(salt);
      commitment = { keyCommitment: ephemeralKeyCommitment(salt, key), salt: toBase64Url(salt) };
    }

    const response = await this.#request(dataPath(key), { method: 'PUT', headers, body: sealed });
    if (response.status !== 201 && response.status !== 202) throw await failure(response, 'put');
    const body = await readJson(response);
    const createdAt = parseTime(body.created_at) ?? new Date();
    const expiresAt = parseTime(body.expires_at) ?? parseTime(response.headers.get('x-expires-at'));
    if (!expiresAt) throw new EphemeralError('http', 'the node did not say when the value expires');
    const receipt: EphemeralReceipt = {
      link: formatLink(this.nodeUrl, key, mode, secret, readOnce),
      key,
      mode,
      readOnce,
      createdAt,
      expiresAt,
      ttl: Number.isSafeInteger(body.ttl) ? (body.ttl as number) : (ttl ?? 0),
      replicas: replicaCount(body.replicas),
      quorum: response.status === 201,
      writeToken: toBase64Url(writeToken),
    };
    if (commitment) receipt.commitment = commitment;
    secret?.fill(0);
    return receipt;
  }

  /**
   * Fetches (burning it when the link is read-once), decrypts and authenticates a value. Reads from this
   * client's node, whatever host the link names: any node of the network serves every key, and a link
   * from someone else cannot make this client call an arbitrary URL.
   */
  async get(link: string | EphemeralReference, options: GetOptions = {}): Promise<EphemeralValue> {
    const reference = typeof link === 'string' ? parseEphemeralLink(link) : link;
    checkStorageKey(reference.key);
    let opener: Opener;
    if (options.recipientKey) opener = { recipientKey: options.recipientKey };
    else if (reference.secret !== undefined) opener = { secret: decodeSecret(reference.secret) };
    else {
      throw new EphemeralError(
        'invalid-argument',
        'this link carries no secret: pass the recipient key pair (options.recipientKey)',
      );
    }
    const burn = options.burn ?? reference.readOnce ?? false;
    const response = await this.#request(`${dataPath(reference.key)}${burn ? '?burn=true' : ''}`, {
      method: 'GET',
    });
    if (response.status !== 200) {
      const error = await failure(response, 'get');
      if (error.code === 'not-found') {
        throw new EphemeralError(
          'not-found',
          `no value under this key: it expired, was deleted${burn || reference.readOnce ? ', was already read once' : ''} or never existed`,
          { status: 404 },
        );
      }
      throw error;
    }
    const createdAt = parseTime(response.headers.get('x-created-at'));
    const expiresAt = parseTime(response.headers.get('x-expires-at'));
    // The sealed value is a few dozen bytes (secret key) or ~1.2 KB (X-Wing) larger than the plaintext.
    const sealed = await readCapped(response, this.maxValueBytes);
    const bytes = await openSealed(sealed, reference.key, opener);
    const value: EphemeralValue = {
      bytes,
      text: () => new TextDecoder('utf-8', { fatal: true }).decode(bytes),
    };
    if (createdAt) value.createdAt = createdAt;
    if (expiresAt) value.expiresAt = expiresAt;
    return value;
  }

  /** `get`, decoded as UTF-8. */
  async getText(link: string | EphemeralReference, options: GetOptions = {}): Promise<string> {
    return (await this.get(link, options)).text();
  }

  /**
   * Deletes a value cluster-wide with its write token (a receipt carries both). True when it was
   * deleted, false when it was already gone; EphemeralError `forbidden` for a wrong token.
   */
  async delete(
    keyOrReceipt: string | Pick<EphemeralReceipt, 'key' | 'writeToken'>,
    writeToken?: string,
  ): Promise<boolean> {
    const key = typeof keyOrReceipt === 'string' ? keyOrReceipt : keyOrReceipt.key;
    const token = typeof keyOrReceipt === 'string' ? writeToken : keyOrReceipt.writeToken;
    checkStorageKey(key);
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{1,512}$/.test(token)) {
      throw new EphemeralError('invalid-argument', 'the write token is base64url');
    }
    const response = await this.#request(dataPath(key), {
      method: 'DELETE',
      headers: { 'x-write-token': token },
    });
    if (response.status === 204 || response.status === 200) {
      await response.body?.cancel();
      return true;
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return false;
    }
    throw await failure(response, 'delete');
  }

  /** The deletion attestations this client's node holds for a compliance write's key commitment. */
  async attestations(keyCommitment: string): Promise<EphemeralAttestations> {
    if (typeof keyCommitment !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(keyCommitment)) {
      throw new EphemeralError(
        'invalid-argument',
        'a key commitment is base64url of 32 bytes (43 characters)',
      );
    }
    const response = await this.#request(`/v1/attestations/${keyCommitment}`, { method: 'GET' });
    if (response.status !== 200) throw await failure(response, 'attestations');
    const raw = await readJson(response);
    const list = Array.isArray(raw.attestations) ? raw.attestations : [];
    const attestations: EphemeralAttestations['attestations'] = [];
    for (const item of list as Record<string, unknown>[]) {
      const { keyCommitment: commitment, deletedAt, reason, nodeId, signature } = item ?? {};
      if (
        commitment !== keyCommitment ||
        typeof deletedAt !== 'string' ||
        (reason !== 'expired' && reason !== 'deleted' && reason !== 'burned') ||
        typeof nodeId !== 'string' ||
        typeof signature !== 'string'
      ) {
        throw new EphemeralError('http', 'the node answered a malformed attestation');
      }
      const attestation: EphemeralAttestation = {
        keyCommitment: commitment,
        deletedAt,
        reason,
        nodeId,
        signature,
      };
      attestations.push({ ...attestation, verified: await verifyEphemeralAttestation(attestation) });
    }
    return {
      keyCommitment,
      nodeId: typeof raw.node_id === 'string' ? raw.node_id : '',
      attestations,
      raw,
    };
  }
}
