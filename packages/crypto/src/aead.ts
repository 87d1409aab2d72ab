import type { KeyObject } from 'node:crypto';
import { type NodeCrypto, nodeCrypto } from './backends/node-crypto.js';
import { CryptoError } from './errors.js';
import { randomBytes } from './random.js';

/** AES-256-GCM parameters: 32-byte key, 96-bit nonce, 128-bit tag. */
export const AES_GCM_KEY_LENGTH = 32;
export const AES_GCM_NONCE_LENGTH = 12;
export const AES_GCM_TAG_LENGTH = 16;

/**
 * NIST SP 800-38D §8.3: with random 96-bit nonces, one key must not be used for more than 2^32
 * encryptions (so that the chance of a repeated nonce stays below 2^-32).
 */
export const AES_GCM_RANDOM_NONCE_LIMIT = 2 ** 32;

function checkKey(key: Uint8Array): void {
  if (key.length !== AES_GCM_KEY_LENGTH) {
    throw new CryptoError(
      'invalid-key',
      `AES-256-GCM needs a ${AES_GCM_KEY_LENGTH}-byte key, got ${key.length}`,
    );
  }
}

/**
 * The key as a KeyObject. Given raw bytes, Node 24's createCipheriv first asks whether they are a KeyObject
 * or a CryptoKey by throwing and catching inside node: ~14 µs per call, more than encrypting 4 KiB.
 * createSecretKey takes ~1 µs and the cipher then skips that.
 */
function secretKey(native: NodeCrypto, key: Uint8Array): KeyObject {
  return native.createSecretKey(key);
}

/**
 * One AES-256-GCM encryption with a caller-supplied nonce; returns `ciphertext ‖ tag`.
 * Internal building block: the nonce must never repeat under one key (HPKE derives it; `AeadKey` draws it).
 */
export async function aesGcmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): Promise<Uint8Array> {
  checkKey(key);
  const native = nodeCrypto();
  if (native) {
    const cipher = native.createCipheriv('aes-256-gcm', secretKey(native, key), nonce, {
      authTagLength: AES_GCM_TAG_LENGTH,
    });
    cipher.setAAD(aad);
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    const out = new Uint8Array(head.length + tail.length + AES_GCM_TAG_LENGTH);
    out.set(head, 0);
    out.set(tail, head.length);
    out.set(cipher.getAuthTag(), head.length + tail.length);
    return out;
  }
  const cryptoKey = await globalThis.crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
  const sealed = await globalThis.crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 },
    cryptoKey,
    plaintext,
  );
  return new Uint8Array(sealed);
}

/**
 * Decrypts `ciphertext ‖ tag`. Any failure (wrong key, nonce, AAD, tampered or truncated input) is
 * CryptoError('decryption-failed'), and no plaintext is returned: node's decipher output is released only
 * after `final()` has checked the tag.
 */
export async function aesGcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): Promise<Uint8Array> {
  checkKey(key);
  if (nonce.length !== AES_GCM_NONCE_LENGTH || sealed.length < AES_GCM_TAG_LENGTH) {
    throw new CryptoError('decryption-failed', 'AES-256-GCM input is too short');
  }
  const native = nodeCrypto();
  try {
    if (native) {
      const body = sealed.subarray(0, sealed.length - AES_GCM_TAG_LENGTH);
      const decipher = native.createDecipheriv('aes-256-gcm', secretKey(native, key), nonce, {
        authTagLength: AES_GCM_TAG_LENGTH,
      });
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - AES_GCM_TAG_LENGTH));
      const head = decipher.update(body);
      const tail = decipher.final();
      const out = new Uint8Array(head.length + tail.length);
      out.set(head, 0);
      out.set(tail, head.length);
      return out;
    }
    const cryptoKey = await globalThis.crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
    const opened = await globalThis.crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 },
      cryptoKey,
      sealed,
    );
    return new Uint8Array(opened);
  } catch (cause) {
    throw new CryptoError('decryption-failed', 'AES-256-GCM authentication failed', { cause });
  }
}

export interface AeadKeyOptions {
  /** Encryptions allowed under this key; at most (and by default) 2^32, per NIST SP 800-38D. */
  usageLimit?: number;
}

/**
 * An AES-256-GCM key with random nonces. Message format: `nonce (12) ‖ ciphertext ‖ tag (16)`, i.e. the
 * output is 28 bytes longer than the plaintext. The key counts its encryptions and refuses, with
 * CryptoError('key-usage-exceeded'), once `usageLimit` is reached: rotate to a new key then.
 * Decryption is not counted (it cannot repeat a nonce).
 */
export class AeadKey {
  readonly usageLimit: number;
  #key: Uint8Array;
  #used = 0;

  constructor(key: Uint8Array, options: AeadKeyOptions = {}) {
    checkKey(key);
    const limit = options.usageLimit ?? AES_GCM_RANDOM_NONCE_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > AES_GCM_RANDOM_NONCE_LIMIT) {
      throw new CryptoError('invalid-argument', `usageLimit must be an integer from 1 to 2^32, got ${limit}`);
    }
    this.usageLimit = limit;
    this.#key = key.slice();
  }

  static generate(options?: AeadKeyOptions): AeadKey {
    return new AeadKey(randomBytes(AES_GCM_KEY_LENGTH), options);
  }

  /** Encryptions made so far with this key object. */
  get encryptions(): number {
    return this.#used;
  }

  async encrypt(plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
    if (this.#used >= this.usageLimit) {
      throw new CryptoError(
        'key-usage-exceeded',
        `this key reached its limit of ${this.usageLimit} encryptions`,
      );
    }
    this.#used++;
    const nonce = randomBytes(AES_GCM_NONCE_LENGTH);
    const sealed = await aesGcmEncrypt(this.#key, nonce, plaintext, aad);
    const out = new Uint8Array(AES_GCM_NONCE_LENGTH + sealed.length);
    out.set(nonce, 0);
    out.set(sealed, AES_GCM_NONCE_LENGTH);
    return out;
  }

  async decrypt(message: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
    if (message.length < AES_GCM_NONCE_LENGTH + AES_GCM_TAG_LENGTH) {
      throw new CryptoError('decryption-failed', 'AES-256-GCM message is shorter than nonce and tag');
    }
    return aesGcmDecrypt(
      this.#key,
      message.subarray(0, AES_GCM_NONCE_LENGTH),
      message.subarray(AES_GCM_NONCE_LENGTH),
      aad,
    );
  }
}
