import {
  AeadKey,
  CryptoError,
  constantTimeEqual,
  type EnvelopeKeyPair,
  type EnvelopeRecipient,
  envelopeKeyId,
  hkdfSha256,
  inspectEnvelope,
  openEnvelope,
  sealEnvelope,
} from '@personachain/crypto';
import { EphemeralError } from './errors.js';

/*
 * The bytes an ephemeral value is stored as (format version 1). docs/ephemeral-sdk.md is the normative
 * description:
 *
 *   secret-key mode:  0x01 ‖ 0x01 ‖ key_check(32) ‖ nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16)
 *   recipient mode:   0x01 ‖ 0x02 ‖ PersonaChain envelope (single recipient, HPKE X-Wing by default)
 *
 * Both modes authenticate the AAD  "personachain/ephemeral/v1\0" ‖ version ‖ mode ‖ UTF-8(storage key),
 * so a ciphertext copied to another storage key, or relabelled to the other mode, does not open.
 *
 * Secret-key mode derives two values from the link's 32-byte secret with HKDF-SHA-256 (no salt, info
 * "personachain/ephemeral/v1 aes-256-gcm"): bytes 0..32 are the AES key, bytes 32..64 the key check.
 * The key check makes the encryption key-committing (AES-GCM alone is not: a crafted ciphertext can open
 * under two keys) and lets a reader tell a wrong key from tampered bytes.
 */

export const SEALED_FORMAT_VERSION = 1;
export const MODE_SECRET_KEY = 0x01;
export const MODE_RECIPIENT = 0x02;
/** Bytes of the random secret carried in a secret-key link. */
export const LINK_SECRET_BYTES = 32;
const KEY_CHECK_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 2;
/** What secret-key mode adds to the plaintext: header, key check, nonce and tag. */
export const SECRET_KEY_OVERHEAD = HEADER_BYTES + KEY_CHECK_BYTES + NONCE_BYTES + TAG_BYTES;

const encoder = new TextEncoder();
const AAD_CONTEXT = encoder.encode('personachain/ephemeral/v1\0');
const KDF_INFO = encoder.encode('personachain/ephemeral/v1 aes-256-gcm');

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The AAD both modes authenticate: context ‖ the two header bytes ‖ UTF-8(storage key). */
export function sealedAad(mode: number, storageKey: string): Uint8Array {
  return concat(AAD_CONTEXT, Uint8Array.of(SEALED_FORMAT_VERSION, mode), encoder.encode(storageKey));
}

function deriveSecretKey(secret: Uint8Array): { aesKey: Uint8Array; keyCheck: Uint8Array } {
  if (!(secret instanceof Uint8Array) || secret.length !== LINK_SECRET_BYTES) {
    throw new EphemeralError('invalid-argument', `a link secret has ${LINK_SECRET_BYTES} bytes`);
  }
  const okm = hkdfSha256(secret, undefined, KDF_INFO, 64);
  return { aesKey: okm.subarray(0, 32), keyCheck: okm.subarray(32, 64) };
}

/** Encrypts for whoever holds `secret` (the link's fragment key). */
export async function sealWithSecret(
  secret: Uint8Array,
  storageKey: string,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const { aesKey, keyCheck } = deriveSecretKey(secret);
  // A fresh secret seals exactly one value, so one random nonce per key is far inside GCM's limit.
  const aead = new AeadKey(aesKey, { usageLimit: 1 });
  aesKey.fill(0);
  const body = await aead.encrypt(plaintext, sealedAad(MODE_SECRET_KEY, storageKey));
  return concat(Uint8Array.of(SEALED_FORMAT_VERSION, MODE_SECRET_KEY), keyCheck, body);
}

/** Encrypts to a recipient's public key: the sender keeps nothing that could decrypt it. */
export async function sealToRecipient(
  recipient: EnvelopeRecipient,
  storageKey: string,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  let envelope: Uint8Array;
  try {
    envelope = await sealEnvelope(recipient, plaintext, { aad: sealedAad(MODE_RECIPIENT, storageKey) });
  } catch (cause) {
    if (cause instanceof CryptoError) {
      throw new EphemeralError('invalid-argument', `the recipient key is unusable: ${cause.message}`, {
        cause,
      });
    }
    throw cause;
  }
  return concat(Uint8Array.of(SEALED_FORMAT_VERSION, MODE_RECIPIENT), envelope);
}

/** What opens a sealed value: the link's secret, or the recipient's key pair. */
export type Opener = { secret: Uint8Array } | { recipientKey: EnvelopeKeyPair };

function parseHeader(sealed: Uint8Array): number {
  if (sealed.length < HEADER_BYTES) throw new EphemeralError('tampered', 'the stored value is truncated');
  if (sealed[0] !== SEALED_FORMAT_VERSION) {
    throw new EphemeralError(
      'unsupported-format',
      `the stored value has format version ${sealed[0]}; this SDK reads version ${SEALED_FORMAT_VERSION}`,
    );
  }
  const mode = sealed[1] as number;
  if (mode !== MODE_SECRET_KEY && mode !== MODE_RECIPIENT) {
    throw new EphemeralError('unsupported-format', `the stored value has an unknown mode ${mode}`);
  }
  return mode;
}

/**
 * Decrypts and authenticates a stored value read from `storageKey`. Throws EphemeralError `wrong-key`,
 * `tampered` or `unsupported-format`; never returns unauthenticated bytes.
 */
export async function openSealed(
  sealed: Uint8Array,
  storageKey: string,
  opener: Opener,
): Promise<Uint8Array> {
  const mode = parseHeader(sealed);
  const aad = sealedAad(mode, storageKey);
  if (mode === MODE_SECRET_KEY) {
    if (!('secret' in opener)) {
      throw new EphemeralError(
        'wrong-key',
        'this value was sealed with a link secret, not to a recipient key',
      );
    }
    if (sealed.length < SECRET_KEY_OVERHEAD)
      throw new EphemeralError('tampered', 'the stored value is truncated');
    const { aesKey, keyCheck } = deriveSecretKey(opener.secret);
    if (!constantTimeEqual(keyCheck, sealed.subarray(HEADER_BYTES, HEADER_BYTES + KEY_CHECK_BYTES))) {
      aesKey.fill(0);
      throw new EphemeralError('wrong-key', 'the link secret is not the key this value was sealed with');
    }
    const aead = new AeadKey(aesKey, { usageLimit: 1 });
    aesKey.fill(0);
    try {
      return await aead.decrypt(sealed.subarray(HEADER_BYTES + KEY_CHECK_BYTES), aad);
    } catch (cause) {
      throw new EphemeralError('tampered', 'the stored value does not authenticate under its storage key', {
        cause,
      });
    }
  }
  if (!('recipientKey' in opener)) {
    throw new EphemeralError(
      'wrong-key',
      "this value was sealed to a recipient's public key; open it with their key pair",
    );
  }
  const envelope = sealed.subarray(HEADER_BYTES);
  const recipientKey = opener.recipientKey;
  let addressedTo: Uint8Array[];
  try {
    const info = inspectEnvelope(envelope);
    if (info.suite !== recipientKey.suite) {
      throw new EphemeralError(
        'wrong-key',
        `the value was sealed with ${info.suite}, this key is ${recipientKey.suite}`,
      );
    }
    addressedTo = info.recipientKeyIds;
  } catch (cause) {
    if (cause instanceof EphemeralError) throw cause;
    const unsupported = cause instanceof CryptoError && cause.code === 'unsupported-algorithm';
    throw new EphemeralError(
      unsupported ? 'unsupported-format' : 'tampered',
      'the stored envelope does not parse',
      {
        cause,
      },
    );
  }
  const ownId = envelopeKeyId(recipientKey.suite, recipientKey.publicKey);
  if (!addressedTo.some((id) => constantTimeEqual(id, ownId))) {
    throw new EphemeralError('wrong-key', 'the value was sealed to another recipient key');
  }
  try {
    return await openEnvelope(recipientKey, envelope, { aad });
  } catch (cause) {
    throw new EphemeralError('tampered', 'the stored envelope does not authenticate under its storage key', {
      cause,
    });
  }
}
