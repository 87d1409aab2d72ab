import { AeadKey, fromBase64Url, hkdfSha256, toBase64Url } from '@personachain/crypto';

const encoder = new TextEncoder();

/**
 * Encrypts small secrets that the server must read back (TOTP seeds) with AES-256-GCM under a key
 * derived from the platform master key. The associated data binds each ciphertext to its owner, so a
 * ciphertext copied to another row does not decrypt.
 */
export class SecretBox {
  private readonly key: AeadKey;

  constructor(masterKey: Uint8Array, purpose: string) {
    this.key = new AeadKey(
      hkdfSha256(masterKey, undefined, encoder.encode(`personachain ${purpose} v1`), 32),
    );
  }

  async seal(plaintext: Uint8Array, owner: string): Promise<string> {
    return toBase64Url(await this.key.encrypt(plaintext, encoder.encode(owner)));
  }

  open(sealed: string, owner: string): Promise<Uint8Array> {
    return this.key.decrypt(fromBase64Url(sealed), encoder.encode(owner));
  }
}
