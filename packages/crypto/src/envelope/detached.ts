import { AES_GCM_KEY_LENGTH, AeadKey } from '../aead.js';
import { CryptoError } from '../errors.js';
import { randomBytes } from '../random.js';
import { type EnvelopeOptions, type EnvelopeRecipient, openEnvelope, sealEnvelope } from './envelope.js';

/**
 * A payload encrypted under a fresh data key, and that data key sealed to a recipient in an envelope,
 * kept apart: the large ciphertext can live in blob storage while the small sealed key lives in a
 * database row. Deleting the sealed key destroys the payload (crypto-shredding) even where copies of the
 * ciphertext survive, e.g. in storage backups.
 */
export interface DetachedEnvelope {
  /** A single-recipient envelope holding the 32-byte AES-256-GCM data key. */
  sealedKey: Uint8Array;
  /** nonce ‖ AES-256-GCM ciphertext ‖ tag of the payload under the data key. */
  ciphertext: Uint8Array;
}

const SEALED_KEY_AAD = new TextEncoder().encode('PersonaChain detached data key v1\n');

function keyAad(aad: Uint8Array | undefined): Uint8Array {
  const bytes = new Uint8Array(SEALED_KEY_AAD.length + (aad?.length ?? 0));
  bytes.set(SEALED_KEY_AAD);
  if (aad) bytes.set(aad, SEALED_KEY_AAD.length);
  return bytes;
}

/** Encrypts `plaintext` for `recipient`; `options.aad` binds both parts to their context (not stored). */
export async function sealDetached(
  recipient: EnvelopeRecipient,
  plaintext: Uint8Array,
  options: EnvelopeOptions = {},
): Promise<DetachedEnvelope> {
  const dataKey = randomBytes(AES_GCM_KEY_LENGTH);
  try {
    const ciphertext = await new AeadKey(dataKey).encrypt(plaintext, options.aad);
    const sealedKey = await sealEnvelope(recipient, dataKey, { ...options, aad: keyAad(options.aad) });
    return { sealedKey, ciphertext };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Opens a detached envelope with the recipient's key pair and the same `aad`. Errors are CryptoErrors:
 * 'decryption-failed' for a wrong key, a different aad, or a key and ciphertext that do not belong together.
 */
export async function openDetached(
  keyPair: EnvelopeRecipient & { secretKey: Uint8Array },
  envelope: DetachedEnvelope,
  options: EnvelopeOptions = {},
): Promise<Uint8Array> {
  const dataKey = await openEnvelope(keyPair, envelope.sealedKey, { ...options, aad: keyAad(options.aad) });
  try {
    if (dataKey.length !== AES_GCM_KEY_LENGTH) {
      throw new CryptoError('malformed-input', 'detached envelope: the sealed key is not a data key');
    }
    return await new AeadKey(dataKey).decrypt(envelope.ciphertext, options.aad);
  } finally {
    dataKey.fill(0);
  }
}
