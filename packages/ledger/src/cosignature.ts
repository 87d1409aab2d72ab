import { parseCheckpoint } from './checkpoint.js';
import { utf8 } from './encoding.js';
import { LedgerError } from './errors.js';
import {
  checkKeyId,
  checkName,
  ed25519,
  noteKeyId,
  SIGNATURE_TYPE_COSIGNATURE_ED25519,
  splitKey,
} from './key-format.js';
import type { NoteSigner, NoteVerifier } from './note.js';

// c2sp.org/tlog-cosignature, Ed25519 (type 0x04): blob = u64be timestamp ‖ 64-byte signature over
// "cosignature/v1\ntime <timestamp>\n" ‖ checkpoint body.
const BLOB_LENGTH = 8 + 64;

function signedMessage(timestamp: number, text: string): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp}\n${text}`);
}

/** A witness cosigner. `now` returns POSIX seconds; only checkpoint bodies are cosigned. */
export async function cosignatureSigner(
  name: string,
  seed: Uint8Array,
  now: () => number,
): Promise<NoteSigner> {
  checkName(name);
  const scheme = ed25519();
  const publicKey = await scheme.publicKeyFromSecretKey(seed);
  const secret = Uint8Array.from(seed);
  return {
    name,
    keyId: noteKeyId(name, SIGNATURE_TYPE_COSIGNATURE_ED25519, publicKey),
    async sign(text) {
      parseCheckpoint(text);
      const timestamp = now();
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
        throw new LedgerError(
          'invalid-argument',
          `cosignature timestamp must be a non-negative safe integer, got ${timestamp}`,
        );
      }
      const signature = await scheme.sign(secret, signedMessage(timestamp, text));
      const blob = new Uint8Array(BLOB_LENGTH);
      new DataView(blob.buffer).setBigUint64(0, BigInt(timestamp));
      blob.set(signature, 8);
      return blob;
    },
  };
}

function timestampOf(blob: Uint8Array): number {
  if (blob.length !== BLOB_LENGTH) return Number.NaN;
  const value = new DataView(blob.buffer, blob.byteOffset, blob.length).getBigUint64(0);
  // Timestamps beyond 2^53 - 1 seconds are not plausible and could not be reported exactly.
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.NaN : Number(value);
}

export function cosignatureVerifierFor(name: string, keyId: number, publicKey: Uint8Array): NoteVerifier {
  if (publicKey.length !== 32)
    throw new LedgerError('invalid-argument', 'Ed25519 cosigner key must be 32 bytes');
  checkKeyId(name, keyId, SIGNATURE_TYPE_COSIGNATURE_ED25519, publicKey, 'cosignature verifier');
  const scheme = ed25519();
  return {
    name,
    keyId,
    async verify(text, blob) {
      const timestamp = timestampOf(blob);
      if (Number.isNaN(timestamp)) return false;
      return scheme.verify(publicKey, signedMessage(timestamp, text), blob.subarray(8));
    },
    timestampOf,
  };
}

/** Parses a cosigner verifier key `name+hex8+base64(0x04 ‖ pub32)`; openNote reports its timestamps. */
export function cosignatureVerifier(verifierKey: string): NoteVerifier {
  const { name, keyId, type, key } = splitKey(verifierKey, 'cosignature verifier key');
  if (type !== SIGNATURE_TYPE_COSIGNATURE_ED25519) {
    throw new LedgerError('invalid-argument', 'cosignature verifier key must have type 0x04');
  }
  return cosignatureVerifierFor(name, keyId, key);
}
