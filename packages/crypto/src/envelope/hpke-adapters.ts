import { type AeadEncryptionContext, AeadId, type AeadInterface, HkdfSha256 } from '@hpke/core';
import {
  AES_GCM_KEY_LENGTH,
  AES_GCM_NONCE_LENGTH,
  AES_GCM_TAG_LENGTH,
  aesGcmDecrypt,
  aesGcmEncrypt,
} from '../aead.js';
import { hkdfSha256, hkdfSha256Expand, hkdfSha256Extract } from '../kdf.js';

/*
 * Drop-in replacements for @hpke/core's HKDF-SHA256 and AES-256-GCM. The library's versions make one
 * async WebCrypto call (with a key import) per step: about ten per seal and ten per open, which cost more
 * than the KEM itself. These run the same functions synchronously (HKDF on @noble/hashes, AES-GCM on
 * node:crypto, WebCrypto in browsers). @hpke/core keeps doing the RFC 9180 key schedule and the labels:
 * only the primitives underneath change, and the RFC 9180 vectors in the tests check the result.
 */

type BytesLike = ArrayBufferLike | ArrayBufferView;

export function asBytes(input: BytesLike): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  return new Uint8Array(input);
}

export function asArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes.buffer;
  }
  return bytes.slice().buffer as ArrayBuffer;
}

/** HKDF-SHA256 for HPKE (KDF id 0x0001), synchronous underneath. */
export class FastHkdfSha256 extends HkdfSha256 {
  override async extract(salt: BytesLike, ikm: BytesLike): Promise<ArrayBuffer> {
    const saltBytes = asBytes(salt);
    return asArrayBuffer(hkdfSha256Extract(asBytes(ikm), saltBytes.length === 0 ? undefined : saltBytes));
  }

  override async expand(prk: BytesLike, info: BytesLike, len: number): Promise<ArrayBuffer> {
    return asArrayBuffer(hkdfSha256Expand(asBytes(prk), asBytes(info), len));
  }

  override async extractAndExpand(
    salt: BytesLike,
    ikm: BytesLike,
    info: BytesLike,
    len: number,
  ): Promise<ArrayBuffer> {
    return asArrayBuffer(hkdfSha256(asBytes(ikm), asBytes(salt), asBytes(info), len));
  }
}

class AesGcmContext implements AeadEncryptionContext {
  readonly #key: Uint8Array;
  constructor(key: Uint8Array) {
    this.#key = key.slice();
  }
  async seal(iv: BytesLike, data: BytesLike, aad: BytesLike): Promise<ArrayBuffer> {
    return asArrayBuffer(await aesGcmEncrypt(this.#key, asBytes(iv), asBytes(data), asBytes(aad)));
  }
  async open(iv: BytesLike, data: BytesLike, aad: BytesLike): Promise<ArrayBuffer> {
    return asArrayBuffer(await aesGcmDecrypt(this.#key, asBytes(iv), asBytes(data), asBytes(aad)));
  }
}

/** AES-256-GCM for HPKE (AEAD id 0x0002). */
export class FastAes256Gcm implements AeadInterface {
  readonly id = AeadId.Aes256Gcm;
  readonly keySize = AES_GCM_KEY_LENGTH;
  readonly nonceSize = AES_GCM_NONCE_LENGTH;
  readonly tagSize = AES_GCM_TAG_LENGTH;
  createEncryptionContext(key: BytesLike): AeadEncryptionContext {
    return new AesGcmContext(asBytes(key));
  }
}
