import { AeadId, CipherSuite, DhkemX25519HkdfSha256, KdfId, KemId, type KemInterface } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { BoundedCache } from '../bounded-cache.js';
import { constantTimeEqual } from '../compare.js';
import { toBase64Url } from '../encoding.js';
import { CryptoError } from '../errors.js';
import { sha256 } from '../hash.js';
import { FastAes256Gcm, FastHkdfSha256 } from './hpke-adapters.js';
import { NativeXWing, nativeXWingAvailable } from './xwing-native.js';

/**
 * The HPKE suites an envelope can use. Both use KDF HKDF-SHA256 (0x0001) and AEAD AES-256-GCM (0x0002):
 * - `X-Wing` (default): KEM X-Wing (0x647a), hybrid X25519 + ML-KEM-768, post-quantum.
 * - `DHKEM-X25519`: KEM DHKEM(X25519, HKDF-SHA256) (0x0020), classical, for peers without X-Wing.
 */
export type EnvelopeSuiteName = 'X-Wing' | 'DHKEM-X25519';

/**
 * Which X-Wing code runs: `native` composes node:crypto (OpenSSL 3.5) primitives, `js` is
 * @hpke/hybridkem-x-wing. Both produce the same bytes; `native` silently becomes `js` where node:crypto
 * lacks ML-KEM (browsers, Node < 24). DHKEM-X25519 always runs on @hpke/core (WebCrypto X25519).
 */
export type EnvelopeBackend = 'native' | 'js';

type HpkeKey = Awaited<ReturnType<KemInterface['deserializePublicKey']>>;

interface SuiteDefinition {
  name: EnvelopeSuiteName;
  kemId: number;
  publicKeyLength: number;
  secretKeyLength: number;
  encLength: number;
}

export const SUITE_DEFINITIONS: readonly SuiteDefinition[] = [
  { name: 'X-Wing', kemId: KemId.XWing, publicKeyLength: 1216, secretKeyLength: 32, encLength: 1120 },
  {
    name: 'DHKEM-X25519',
    kemId: KemId.DhkemX25519HkdfSha256,
    publicKeyLength: 32,
    secretKeyLength: 32,
    encLength: 32,
  },
];

export const ENVELOPE_KDF_ID = KdfId.HkdfSha256;
export const ENVELOPE_AEAD_ID = AeadId.Aes256Gcm;

/**
 * Public keys kept by their bytes, the oldest forgotten first: callers often decode the same recipient
 * key afresh for each envelope (a new array each time), and importing an X-Wing public key costs ~150 µs.
 */
const PUBLIC_KEYS_BY_CONTENT = 256;

/**
 * Remembers the imported key for a byte array, re-checking the bytes so a mutated array is re-imported;
 * for public keys, also by the bytes themselves (never for secret keys: that would keep them in strings).
 */
class KeyCache {
  readonly #entries = new WeakMap<Uint8Array, { bytes: Uint8Array; key: HpkeKey }>();
  readonly #byContent: BoundedCache<string, HpkeKey> | null;

  constructor(publicKeys: boolean) {
    this.#byContent = publicKeys ? new BoundedCache(PUBLIC_KEYS_BY_CONTENT) : null;
  }

  async get(bytes: Uint8Array, load: (bytes: Uint8Array) => Promise<HpkeKey>): Promise<HpkeKey> {
    const hit = this.#entries.get(bytes);
    if (hit && constantTimeEqual(hit.bytes, bytes)) return hit.key;
    const copy = bytes.slice();
    const content = this.#byContent ? toBase64Url(copy) : '';
    const key = this.#byContent?.get(content) ?? (await load(copy));
    this.#byContent?.set(content, key);
    this.#entries.set(bytes, { bytes: copy, key });
    return key;
  }
}

export class EnvelopeSuite {
  readonly hpke: CipherSuite;
  readonly #publicKeys = new KeyCache(true);
  readonly #privateKeys = new KeyCache(false);

  constructor(
    readonly definition: SuiteDefinition,
    readonly backend: EnvelopeBackend,
    readonly kem: KemInterface,
  ) {
    this.hpke = new CipherSuite({ kem, kdf: new FastHkdfSha256(), aead: new FastAes256Gcm() });
  }

  get name(): EnvelopeSuiteName {
    return this.definition.name;
  }

  async importPublicKey(publicKey: Uint8Array): Promise<HpkeKey> {
    if (publicKey.length !== this.definition.publicKeyLength) {
      throw new CryptoError(
        'invalid-key',
        `a ${this.name} public key has ${this.definition.publicKeyLength} bytes`,
      );
    }
    try {
      return await this.#publicKeys.get(publicKey, (bytes) => this.kem.deserializePublicKey(bytes));
    } catch (cause) {
      throw new CryptoError('invalid-key', `not a valid ${this.name} public key`, { cause });
    }
  }

  async importPrivateKey(secretKey: Uint8Array): Promise<HpkeKey> {
    if (secretKey.length !== this.definition.secretKeyLength) {
      throw new CryptoError(
        'invalid-key',
        `a ${this.name} secret key has ${this.definition.secretKeyLength} bytes`,
      );
    }
    try {
      return await this.#privateKeys.get(secretKey, (bytes) => this.kem.deserializePrivateKey(bytes));
    } catch (cause) {
      throw new CryptoError('invalid-key', `not a valid ${this.name} secret key`, { cause });
    }
  }
}

const suites = new Map<string, EnvelopeSuite>();

function createKem(
  name: EnvelopeSuiteName,
  backend: EnvelopeBackend,
): { kem: KemInterface; backend: EnvelopeBackend } {
  if (name === 'DHKEM-X25519') return { kem: new DhkemX25519HkdfSha256(), backend: 'native' };
  if (backend === 'native' && nativeXWingAvailable()) return { kem: new NativeXWing(), backend: 'native' };
  return { kem: new XWing(), backend: 'js' };
}

/** The suite object for a name (one per name and backend, created on first use). */
export function envelopeSuite(name: EnvelopeSuiteName, backend: EnvelopeBackend = 'native'): EnvelopeSuite {
  const definition = SUITE_DEFINITIONS.find((candidate) => candidate.name === name);
  if (!definition) throw new CryptoError('unsupported-algorithm', `unknown envelope suite ${String(name)}`);
  const cacheKey = `${name}/${backend}`;
  let suite = suites.get(cacheKey);
  if (!suite) {
    const created = createKem(name, backend);
    suite = new EnvelopeSuite(definition, created.backend, created.kem);
    suites.set(cacheKey, suite);
  }
  return suite;
}

export function suiteDefinitionByKemId(kemId: number): SuiteDefinition | undefined {
  return SUITE_DEFINITIONS.find((candidate) => candidate.kemId === kemId);
}

export const RECIPIENT_KEY_ID_LENGTH = 16;
const keyIds = new Map<EnvelopeSuiteName, WeakMap<Uint8Array, { bytes: Uint8Array; id: Uint8Array }>>(
  SUITE_DEFINITIONS.map((definition) => [definition.name, new WeakMap()]),
);

/**
 * The recipient key id written into envelopes: the first 16 bytes of SHA-256(kem_id as 2 bytes,
 * big-endian ‖ the raw public key). It names a key so that a holder of several keys knows which to use;
 * it is not a secret and not a commitment (the HPKE decryption is what authenticates).
 */
export function envelopeKeyId(suite: EnvelopeSuiteName, publicKey: Uint8Array): Uint8Array {
  const definition = envelopeSuite(suite).definition;
  const cache = keyIds.get(suite) as WeakMap<Uint8Array, { bytes: Uint8Array; id: Uint8Array }>;
  const hit = cache.get(publicKey);
  if (hit && constantTimeEqual(hit.bytes, publicKey)) return hit.id.slice();
  const input = new Uint8Array(2 + publicKey.length);
  input[0] = definition.kemId >> 8;
  input[1] = definition.kemId & 0xff;
  input.set(publicKey, 2);
  const id = sha256(input).subarray(0, RECIPIENT_KEY_ID_LENGTH).slice();
  cache.set(publicKey, { bytes: publicKey.slice(), id });
  return id.slice();
}
