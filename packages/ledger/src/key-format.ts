import { sha256 } from '@noble/hashes/sha2.js';
import { signatureScheme } from '@personachain/crypto';
import { fromBase64, isValidKeyName, toBase64, utf8 } from './encoding.js';
import { LedgerError } from './errors.js';
import { hex8 } from './note.js';

/** signed-note signature type bytes implemented here. */
export const SIGNATURE_TYPE_ED25519 = 0x01;
export const SIGNATURE_TYPE_COSIGNATURE_ED25519 = 0x04;
export type KeyType = typeof SIGNATURE_TYPE_ED25519 | typeof SIGNATURE_TYPE_COSIGNATURE_ED25519;

export const ED25519_KEY_LENGTH = 32;

export const ed25519 = () => signatureScheme('Ed25519');

/** key ID = SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4], big-endian (signed-note §Signatures). */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const nameBytes = utf8(name);
  const input = new Uint8Array(nameBytes.length + 2 + publicKey.length);
  input.set(nameBytes, 0);
  input[nameBytes.length] = 0x0a;
  input[nameBytes.length + 1] = type;
  input.set(publicKey, nameBytes.length + 2);
  const digest = sha256(input);
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0);
}

export function checkName(name: string): void {
  if (typeof name !== 'string' || !isValidKeyName(name)) {
    throw new LedgerError('invalid-argument', `invalid key name ${JSON.stringify(name)}: no spaces or "+"`);
  }
}

/** type ‖ key, the key material of vkeys and Go skeys. */
export function typed(type: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + key.length);
  out[0] = type;
  out.set(key, 1);
  return out;
}

/** Verifier key string `name+hex8(keyID)+base64(type ‖ public key)` (Go's vkey format). */
export function verifierKeyFor(
  name: string,
  publicKey: Uint8Array,
  type: KeyType = SIGNATURE_TYPE_ED25519,
): string {
  checkName(name);
  if (type !== SIGNATURE_TYPE_ED25519 && type !== SIGNATURE_TYPE_COSIGNATURE_ED25519) {
    throw new LedgerError('invalid-argument', 'key type must be 0x01 or 0x04');
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_KEY_LENGTH) {
    throw new LedgerError('invalid-argument', 'Ed25519 public key must be 32 bytes');
  }
  return `${name}+${hex8(noteKeyId(name, type, publicKey))}+${toBase64(typed(type, publicKey))}`;
}

/** Splits `name+hex8+base64`: the base64 may itself contain "+", so only the first two "+" separate. */
export function splitKey(
  text: string,
  what: string,
): { name: string; keyId: number; type: number; key: Uint8Array } {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw new LedgerError('invalid-argument', `${what} must be name+keyid+key`);
  const name = text.slice(0, first);
  const idText = text.slice(first + 1, second);
  checkName(name);
  if (!/^[0-9a-fA-F]{8}$/.test(idText))
    throw new LedgerError('invalid-argument', `${what} key ID must be 8 hex digits`);
  let data: Uint8Array;
  try {
    data = fromBase64(text.slice(second + 1));
  } catch {
    throw new LedgerError('invalid-argument', `${what} is not valid base64`);
  }
  if (data.length < 2) throw new LedgerError('invalid-argument', `${what} has no key material`);
  return { name, keyId: Number.parseInt(idText, 16), type: data[0] as number, key: data.slice(1) };
}

/** Key IDs in key strings are checked, as Go does: a mismatch means a corrupted or forged key string. */
export function checkKeyId(
  name: string,
  keyId: number,
  type: number,
  publicKey: Uint8Array,
  what: string,
): void {
  if (noteKeyId(name, type, publicKey) !== keyId) {
    throw new LedgerError('invalid-argument', `${what} key ID does not match its key`);
  }
}
