import { AES_GCM_NONCE_LENGTH, AES_GCM_TAG_LENGTH } from '../aead.js';
import { CryptoError } from '../errors.js';
import {
  ENVELOPE_AEAD_ID,
  ENVELOPE_KDF_ID,
  type EnvelopeSuiteName,
  RECIPIENT_KEY_ID_LENGTH,
  suiteDefinitionByKemId,
} from './suites.js';

/*
 * The binary envelope format, version 1. docs/crypto-envelope.md is the normative description; in short:
 *
 *   single:  version(1)=0x01 ‖ type(1)=0x01 ‖ kem_id(2) ‖ kdf_id(2) ‖ aead_id(2) ‖ key_id(16) ‖ enc ‖ ciphertext
 *   multi:   version(1)=0x01 ‖ type(1)=0x02 ‖ kem_id(2) ‖ kdf_id(2) ‖ aead_id(2) ‖ count(1)
 *            ‖ count × ( key_id(16) ‖ enc ‖ wrapped_key(48) ) ‖ nonce(12) ‖ payload ciphertext ‖ tag(16)
 *
 * Integers are big-endian; enc has the KEM's fixed length (X-Wing 1120, DHKEM(X25519) 32).
 */

export const ENVELOPE_VERSION = 1;
export const ENVELOPE_TYPE_SINGLE = 1;
export const ENVELOPE_TYPE_MULTI = 2;
/** Bytes before the per-type fields: version, type, kem_id, kdf_id, aead_id. */
export const FIXED_HEADER_LENGTH = 8;
export const SINGLE_HEADER_LENGTH = FIXED_HEADER_LENGTH + RECIPIENT_KEY_ID_LENGTH;
export const MULTI_HEADER_LENGTH = FIXED_HEADER_LENGTH + 1;
/** A 32-byte data key sealed with AES-256-GCM by HPKE: 32 + 16 tag. */
export const WRAPPED_KEY_LENGTH = 32 + AES_GCM_TAG_LENGTH;
export const MAX_RECIPIENTS = 255;

export interface RecipientEntry {
  keyId: Uint8Array;
  enc: Uint8Array;
  /** HPKE ciphertext: the sealed payload (single) or the sealed data key (multi). */
  sealed: Uint8Array;
  /** The bytes the HPKE AAD starts with for this entry. */
  hpkeAad: Uint8Array;
}

export interface ParsedEnvelope {
  version: number;
  type: 'single' | 'multi';
  suite: EnvelopeSuiteName;
  recipients: RecipientEntry[];
  /** Multi only: everything before the payload, the payload's AAD prefix. */
  header: Uint8Array;
  /** Multi only: nonce ‖ ciphertext ‖ tag of the payload. */
  payload: Uint8Array;
}

export function fixedHeader(type: number, kemId: number): Uint8Array {
  return Uint8Array.of(
    ENVELOPE_VERSION,
    type,
    kemId >> 8,
    kemId & 0xff,
    ENVELOPE_KDF_ID >> 8,
    ENVELOPE_KDF_ID & 0xff,
    ENVELOPE_AEAD_ID >> 8,
    ENVELOPE_AEAD_ID & 0xff,
  );
}

function malformed(message: string): CryptoError {
  return new CryptoError('malformed-input', `envelope: ${message}`);
}

function u16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] as number) << 8) | (bytes[offset + 1] as number);
}

/**
 * Parses an envelope without decrypting. Unknown version, type or suite → 'unsupported-algorithm';
 * too short or inconsistent → 'malformed-input'. A parsed envelope can still fail to decrypt.
 */
export function parseEnvelope(bytes: Uint8Array): ParsedEnvelope {
  if (!(bytes instanceof Uint8Array)) throw malformed('expected bytes');
  if (bytes.length < 1) throw malformed('empty input');
  if (bytes[0] !== ENVELOPE_VERSION) {
    throw new CryptoError('unsupported-algorithm', `envelope: unknown format version ${bytes[0]}`);
  }
  if (bytes.length < FIXED_HEADER_LENGTH) throw malformed('truncated header');
  const type = bytes[1];
  if (type !== ENVELOPE_TYPE_SINGLE && type !== ENVELOPE_TYPE_MULTI) {
    throw new CryptoError('unsupported-algorithm', `envelope: unknown envelope type ${type}`);
  }
  const kemId = u16(bytes, 2);
  const kdfId = u16(bytes, 4);
  const aeadId = u16(bytes, 6);
  const definition = suiteDefinitionByKemId(kemId);
  if (!definition || kdfId !== ENVELOPE_KDF_ID || aeadId !== ENVELOPE_AEAD_ID) {
    throw new CryptoError(
      'unsupported-algorithm',
      `envelope: unknown HPKE suite kem 0x${kemId.toString(16)} kdf 0x${kdfId.toString(16)} aead 0x${aeadId.toString(16)}`,
    );
  }
  const encLength = definition.encLength;

  if (type === ENVELOPE_TYPE_SINGLE) {
    if (bytes.length < SINGLE_HEADER_LENGTH + encLength + AES_GCM_TAG_LENGTH) throw malformed('truncated');
    return {
      version: ENVELOPE_VERSION,
      type: 'single',
      suite: definition.name,
      recipients: [
        {
          keyId: bytes.subarray(FIXED_HEADER_LENGTH, SINGLE_HEADER_LENGTH),
          enc: bytes.subarray(SINGLE_HEADER_LENGTH, SINGLE_HEADER_LENGTH + encLength),
          sealed: bytes.subarray(SINGLE_HEADER_LENGTH + encLength),
          hpkeAad: bytes.subarray(0, SINGLE_HEADER_LENGTH),
        },
      ],
      header: bytes.subarray(0, SINGLE_HEADER_LENGTH + encLength),
      payload: new Uint8Array(0),
    };
  }

  if (bytes.length < MULTI_HEADER_LENGTH) throw malformed('truncated header');
  const count = bytes[FIXED_HEADER_LENGTH] as number;
  if (count === 0) throw malformed('no recipients');
  const entryLength = RECIPIENT_KEY_ID_LENGTH + encLength + WRAPPED_KEY_LENGTH;
  const headerLength = MULTI_HEADER_LENGTH + count * entryLength;
  if (bytes.length < headerLength + AES_GCM_NONCE_LENGTH + AES_GCM_TAG_LENGTH) throw malformed('truncated');
  const prefix = bytes.subarray(0, MULTI_HEADER_LENGTH);
  const recipients: RecipientEntry[] = [];
  for (let i = 0, offset = MULTI_HEADER_LENGTH; i < count; i++, offset += entryLength) {
    const keyId = bytes.subarray(offset, offset + RECIPIENT_KEY_ID_LENGTH);
    const hpkeAad = new Uint8Array(MULTI_HEADER_LENGTH + RECIPIENT_KEY_ID_LENGTH);
    hpkeAad.set(prefix, 0);
    hpkeAad.set(keyId, MULTI_HEADER_LENGTH);
    recipients.push({
      keyId,
      enc: bytes.subarray(offset + RECIPIENT_KEY_ID_LENGTH, offset + RECIPIENT_KEY_ID_LENGTH + encLength),
      sealed: bytes.subarray(offset + RECIPIENT_KEY_ID_LENGTH + encLength, offset + entryLength),
      hpkeAad,
    });
  }
  return {
    version: ENVELOPE_VERSION,
    type: 'multi',
    suite: definition.name,
    recipients,
    header: bytes.subarray(0, headerLength),
    payload: bytes.subarray(headerLength),
  };
}
