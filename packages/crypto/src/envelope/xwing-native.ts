import type { KeyObject } from 'node:crypto';
import type { KemInterface, RecipientContextParams, SenderContextParams } from '@hpke/core';
import { KemId } from '@hpke/core';
import { concatBytes } from '@noble/hashes/utils.js';
import { type NodeCrypto, nativeSupports, nodeCrypto } from '../backends/node-crypto.js';
import { type Sodium, sodium } from '../backends/sodium.js';
import { CryptoError } from '../errors.js';
import { randomBytes } from '../random.js';
import { asArrayBuffer, asBytes } from './hpke-adapters.js';

/*
 * The X-Wing KEM (draft-connolly-cfrg-xwing-kem, the revision @hpke/hybridkem-x-wing 0.7 implements:
 * 32-byte seed secret key, combiner SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ XWingLabel)) composed from
 * node:crypto's native ML-KEM-768, X25519, SHA3-256 and SHAKE256 (OpenSSL 3.5), with the X25519 of
 * encapsulation and decapsulation on libsodium where it loads (on raw keys: no key import per call). It is
 * byte-compatible with @hpke/hybridkem-x-wing (pure JS, ~20× slower); tests check the draft's vectors and
 * interop both ways.
 *
 *   expandDecapsulationKey(sk): e = SHAKE256(sk, 96); (pk_M, sk_M) = ML-KEM-768.KeyGen_internal(e[0:32], e[32:64]);
 *                               sk_X = e[64:96]; pk_X = X25519(sk_X, 9)
 *   public key  = pk_M (1184) ‖ pk_X (32)                  ciphertext = ct_M (1088) ‖ ct_X (32)
 *   Encapsulate(pk): ek_X random; ct_X = X25519(ek_X, 9); ss_X = X25519(ek_X, pk_X); (ss_M, ct_M) = ML-KEM.Encaps(pk_M)
 *   Decapsulate(sk, ct): ss_M = ML-KEM.Decaps(sk_M, ct_M); ss_X = X25519(sk_X, ct_X)
 *   shared secret = SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ "\.//^\")
 */

// @hpke/core's interfaces use the DOM key types; these aliases name them without the DOM lib.
type HpkeKey = Parameters<KemInterface['serializePublicKey']>[0];
type HpkeKeyPair = Awaited<ReturnType<KemInterface['generateKeyPair']>>;
type HpkeJwk = Exclude<Parameters<KemInterface['importKey']>[1], ArrayBuffer>;

/** node:crypto's typings ask for a Buffer where any Uint8Array works at run time. */
const nodeBytes = (bytes: Uint8Array) => bytes as Buffer;

const XWING_LABEL = new Uint8Array([0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c]);
const ML_KEM_PUBLIC_KEY = 1184;
const ML_KEM_CIPHERTEXT = 1088;
export const XWING_PUBLIC_KEY_LENGTH = ML_KEM_PUBLIC_KEY + 32;
export const XWING_SECRET_KEY_LENGTH = 32;
export const XWING_ENC_LENGTH = ML_KEM_CIPHERTEXT + 32;

/** Whether this runtime can run X-Wing natively: OpenSSL 3.5 ML-KEM with raw-seed import, and X25519. */
export function nativeXWingAvailable(): boolean {
  return nativeSupports('x-wing', (crypto) => {
    crypto.createPrivateKey({
      key: nodeBytes(new Uint8Array(64)),
      format: 'raw-seed',
      asymmetricKeyType: 'ml-kem-768',
    });
    crypto.createPublicKey({
      key: nodeBytes(new Uint8Array(32).fill(9)),
      format: 'raw-public',
      asymmetricKeyType: 'x25519',
    });
    crypto.createHash('shake256', { outputLength: 96 }).update(new Uint8Array(32)).digest();
    crypto.createHash('sha3-256').update(new Uint8Array(1)).digest();
  });
}

interface PublicParts {
  mlKem: KeyObject;
  x25519: KeyObject;
  x25519Raw: Uint8Array;
}

interface PrivateParts {
  mlKem: KeyObject;
  x25519: KeyObject;
  /** The same X25519 secret as bytes, for libsodium. */
  x25519Secret: Uint8Array;
  publicKey: Uint8Array;
  x25519PublicRaw: Uint8Array;
}

/**
 * A CryptoKey-shaped holder for an X-Wing key as @hpke/core passes it around. It keeps the native key
 * objects, so that importing a key once (and reusing the CryptoKey) pays the ML-KEM key expansion once.
 */
class XWingKey {
  readonly algorithm = { name: 'X-Wing' };
  readonly extractable = true;
  readonly usages: string[];
  publicParts?: PublicParts;
  privateParts?: PrivateParts;
  constructor(
    readonly type: 'public' | 'private',
    readonly key: Uint8Array,
  ) {
    this.usages = type === 'private' ? ['deriveBits'] : [];
  }
}

function xwingKey(key: HpkeKey, type: 'public' | 'private'): XWingKey {
  if (!(key instanceof XWingKey) || key.type !== type) {
    throw new CryptoError('invalid-key', `expected an X-Wing ${type} key from this KEM`);
  }
  return key;
}

export class NativeXWing implements KemInterface {
  readonly id = KemId.XWing;
  readonly secretSize = 32;
  readonly encSize = XWING_ENC_LENGTH;
  readonly publicKeySize = XWING_PUBLIC_KEY_LENGTH;
  readonly privateKeySize = XWING_SECRET_KEY_LENGTH;
  readonly #crypto: NodeCrypto;
  readonly #sodium: Sodium | undefined;

  /** `libsodium`: the X25519 backend, where it loaded; null runs X25519 on node:crypto as well. */
  constructor(libsodium: Sodium | null | undefined = sodium()) {
    this.#sodium = libsodium ?? undefined;
    const crypto = nodeCrypto();
    if (!crypto || !nativeXWingAvailable()) {
      throw new CryptoError(
        'unsupported-algorithm',
        'native X-Wing needs node:crypto with ML-KEM-768 (Node 24)',
      );
    }
    this.#crypto = crypto;
  }

  #x25519Public(raw: Uint8Array): KeyObject {
    return this.#crypto.createPublicKey({
      key: nodeBytes(raw),
      format: 'raw-public',
      asymmetricKeyType: 'x25519',
    });
  }

  #publicParts(key: XWingKey): PublicParts {
    if (!key.publicParts) {
      const x25519Raw = key.key.subarray(ML_KEM_PUBLIC_KEY);
      key.publicParts = {
        mlKem: this.#crypto.createPublicKey({
          key: nodeBytes(key.key.subarray(0, ML_KEM_PUBLIC_KEY)),
          format: 'raw-public',
          asymmetricKeyType: 'ml-kem-768',
        }),
        x25519: this.#x25519Public(x25519Raw),
        x25519Raw,
      };
    }
    return key.publicParts;
  }

  /** The draft's expandDecapsulationKey, run once per key object. */
  #privateParts(key: XWingKey): PrivateParts {
    if (!key.privateParts) {
      const crypto = this.#crypto;
      const expanded = crypto.createHash('shake256', { outputLength: 96 }).update(key.key).digest();
      const mlKem = crypto.createPrivateKey({
        key: expanded.subarray(0, 64),
        format: 'raw-seed',
        asymmetricKeyType: 'ml-kem-768',
      });
      const x25519 = crypto.createPrivateKey({
        key: expanded.subarray(64, 96),
        format: 'raw-private',
        asymmetricKeyType: 'x25519',
      });
      const x25519Secret = new Uint8Array(expanded.subarray(64, 96));
      expanded.fill(0);
      const mlKemPublic = crypto.createPublicKey(mlKem).export({ format: 'raw-public' });
      const x25519PublicRaw = crypto.createPublicKey(x25519).export({ format: 'raw-public' });
      key.privateParts = {
        mlKem,
        x25519,
        x25519Secret,
        publicKey: concatBytes(mlKemPublic, x25519PublicRaw),
        x25519PublicRaw: new Uint8Array(x25519PublicRaw),
      };
    }
    return key.privateParts;
  }

  #combine(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): ArrayBuffer {
    const hash = this.#crypto.createHash('sha3-256');
    for (const part of [ssM, ssX, ctX, pkX, XWING_LABEL]) hash.update(part);
    return asArrayBuffer(hash.digest());
  }

  /** The public key of a private key (as the draft derives it from the seed). */
  publicKeyOf(privateKey: HpkeKey): Uint8Array {
    return this.#privateParts(xwingKey(privateKey, 'private')).publicKey.slice();
  }

  async serializePublicKey(key: HpkeKey): Promise<ArrayBuffer> {
    return asArrayBuffer(xwingKey(key, 'public').key.slice());
  }

  async deserializePublicKey(key: ArrayBufferLike | ArrayBufferView): Promise<HpkeKey> {
    return this.importKey('raw', asArrayBuffer(asBytes(key)), true);
  }

  async serializePrivateKey(key: HpkeKey): Promise<ArrayBuffer> {
    return asArrayBuffer(xwingKey(key, 'private').key.slice());
  }

  async deserializePrivateKey(key: ArrayBufferLike | ArrayBufferView): Promise<HpkeKey> {
    return this.importKey('raw', asArrayBuffer(asBytes(key)), false);
  }

  async importKey(format: 'raw' | 'jwk', key: ArrayBuffer | HpkeJwk, isPublic = true): Promise<HpkeKey> {
    if (format !== 'raw' || !(key instanceof ArrayBuffer || ArrayBuffer.isView(key))) {
      throw new CryptoError('unsupported-algorithm', 'native X-Wing imports raw keys only');
    }
    const bytes = asBytes(key).slice();
    const expected = isPublic ? XWING_PUBLIC_KEY_LENGTH : XWING_SECRET_KEY_LENGTH;
    if (bytes.length !== expected) {
      throw new CryptoError(
        'invalid-key',
        `an X-Wing ${isPublic ? 'public' : 'secret'} key has ${expected} bytes`,
      );
    }
    const imported = new XWingKey(isPublic ? 'public' : 'private', bytes);
    // Parse now, so that a malformed key fails here rather than in the middle of a seal.
    if (isPublic) this.#publicParts(imported);
    return imported as unknown as HpkeKey;
  }

  async generateKeyPair(): Promise<HpkeKeyPair> {
    return this.#keyPairFromSeed(randomBytes(XWING_SECRET_KEY_LENGTH));
  }

  /** RFC 9180 DeriveKeyPair for X-Wing: the seed is SHAKE256(ikm, 32). */
  async deriveKeyPair(ikm: ArrayBufferLike | ArrayBufferView): Promise<HpkeKeyPair> {
    const seed = this.#crypto.createHash('shake256', { outputLength: 32 }).update(asBytes(ikm)).digest();
    return this.#keyPairFromSeed(new Uint8Array(seed));
  }

  async #keyPairFromSeed(seed: Uint8Array): Promise<HpkeKeyPair> {
    const privateKey = new XWingKey('private', seed);
    const publicKey = new XWingKey('public', this.#privateParts(privateKey).publicKey.slice());
    return { privateKey: privateKey as unknown as HpkeKey, publicKey: publicKey as unknown as HpkeKey };
  }

  async encap(params: SenderContextParams): Promise<{ sharedSecret: ArrayBuffer; enc: ArrayBuffer }> {
    if (params.ekm !== undefined) {
      // OpenSSL draws the ML-KEM encapsulation randomness itself; deterministic vectors run on the JS KEM.
      throw new CryptoError(
        'unsupported-algorithm',
        'native X-Wing cannot encapsulate with fixed randomness',
      );
    }
    const crypto = this.#crypto;
    const recipient = this.#publicParts(xwingKey(params.recipientPublicKey, 'public'));
    const { ctX, ssX } = this.#x25519Ephemeral(recipient);
    const { sharedKey: ssM, ciphertext: ctM } = crypto.encapsulate(recipient.mlKem);
    return {
      sharedSecret: this.#combine(ssM, ssX, ctX, recipient.x25519Raw),
      enc: asArrayBuffer(concatBytes(ctM, ctX)),
    };
  }

  async decap(params: RecipientContextParams): Promise<ArrayBuffer> {
    const enc = asBytes(params.enc);
    if (enc.length !== XWING_ENC_LENGTH) {
      throw new CryptoError('malformed-input', `an X-Wing ciphertext has ${XWING_ENC_LENGTH} bytes`);
    }
    const recipientKey =
      'privateKey' in params.recipientKey ? params.recipientKey.privateKey : params.recipientKey;
    const own = this.#privateParts(xwingKey(recipientKey, 'private'));
    const ctM = enc.subarray(0, ML_KEM_CIPHERTEXT);
    const ctX = enc.subarray(ML_KEM_CIPHERTEXT);
    const ssM = this.#crypto.decapsulate(own.mlKem, ctM);
    const ssX = this.#x25519Shared(own, ctX);
    return this.#combine(ssM, ssX, ctX, own.x25519PublicRaw);
  }

  /** An ephemeral X25519 key's public half (ct_X) and its shared secret with the recipient (ss_X). */
  #x25519Ephemeral(recipient: PublicParts): { ctX: Uint8Array; ssX: Uint8Array } {
    const libsodium = this.#sodium;
    if (libsodium) {
      const ephemeral = randomBytes(32);
      try {
        const ctX = new Uint8Array(32);
        const ssX = new Uint8Array(32);
        libsodium.crypto_scalarmult_base(ctX, ephemeral);
        libsodium.crypto_scalarmult(ssX, ephemeral, recipient.x25519Raw);
        return { ctX, ssX };
      } finally {
        ephemeral.fill(0);
      }
    }
    const ephemeral = this.#crypto.generateKeyPairSync('x25519');
    return {
      ctX: ephemeral.publicKey.export({ format: 'raw-public' }),
      ssX: this.#crypto.diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient.x25519 }),
    };
  }

  /** X25519(sk_X, ct_X). Both backends throw on an all-zero result (a low-order ct_X). */
  #x25519Shared(own: PrivateParts, ctX: Uint8Array): Uint8Array {
    const libsodium = this.#sodium;
    if (libsodium) {
      const ssX = new Uint8Array(32);
      libsodium.crypto_scalarmult(ssX, own.x25519Secret, ctX);
      return ssX;
    }
    return this.#crypto.diffieHellman({ privateKey: own.x25519, publicKey: this.#x25519Public(ctX) });
  }
}
