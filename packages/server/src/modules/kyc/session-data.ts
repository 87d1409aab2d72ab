import { AeadKey, fromBase64Url, randomBytes, toBase64Url } from '@personachain/crypto';
import { SecretBox } from '../identity/secret-box.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Each session has its own data key, sealed under the master key. What the session keeps that may hold
 * personal data (the provider's raw result, the credential offer's tx_code) is encrypted under it, so
 * destroying that one sealed key at the end of the retention period makes all of it unreadable at once.
 */
export class SessionData {
  private readonly box: SecretBox;

  constructor(masterKey: Uint8Array) {
    this.box = new SecretBox(masterKey, 'kyc session data keys');
  }

  /** A fresh sealed data key for a new session. */
  async newKey(sessionId: string): Promise<string> {
    const key = randomBytes(32);
    try {
      return await this.box.seal(key, sessionId);
    } finally {
      key.fill(0);
    }
  }

  async seal(sessionId: string, sealedKey: string, value: unknown): Promise<string> {
    const key = await this.box.open(sealedKey, sessionId);
    try {
      return toBase64Url(
        await new AeadKey(key).encrypt(encoder.encode(JSON.stringify(value)), encoder.encode(sessionId)),
      );
    } finally {
      key.fill(0);
    }
  }

  async open<T>(sessionId: string, sealedKey: string, sealed: string): Promise<T> {
    const key = await this.box.open(sealedKey, sessionId);
    try {
      const plain = await new AeadKey(key).decrypt(fromBase64Url(sealed), encoder.encode(sessionId));
      return JSON.parse(decoder.decode(plain)) as T;
    } finally {
      key.fill(0);
    }
  }
}
