import { cosignatureVerifierFor } from './cosignature.js';
import { toBase64, utf8 } from './encoding.js';
import { LedgerError } from './errors.js';
import {
  checkKeyId,
  checkName,
  ED25519_KEY_LENGTH,
  ed25519,
  noteKeyId,
  SIGNATURE_TYPE_COSIGNATURE_ED25519,
  SIGNATURE_TYPE_ED25519,
  splitKey,
  typed,
  verifierKeyFor,
} from './key-format.js';
import { hex8, type NoteSigner, type NoteVerifier } from './note.js';

/** Parses a verifier key: type 0x01 (Ed25519 note signatures) or 0x04 (Ed25519 cosignatures). */
export function noteVerifier(verifierKey: string): NoteVerifier {
  const { name, keyId, type, key } = splitKey(verifierKey, 'verifier key');
  if (type === SIGNATURE_TYPE_COSIGNATURE_ED25519) return cosignatureVerifierFor(name, keyId, key);
  if (type !== SIGNATURE_TYPE_ED25519) {
    throw new LedgerError(
      'invalid-argument',
      `unsupported verifier key type 0x${type.toString(16).padStart(2, '0')}`,
    );
  }
  if (key.length !== ED25519_KEY_LENGTH)
    throw new LedgerError('invalid-argument', 'Ed25519 verifier key must be 32 bytes');
  checkKeyId(name, keyId, type, key, 'verifier key');
  const scheme = ed25519();
  return { name, keyId, verify: (text, blob) => scheme.verify(key, utf8(text), blob) };
}

/** An Ed25519 note signer (type 0x01) from a 32-byte seed; the blob is the bare 64-byte signature. */
export async function ed25519NoteSigner(name: string, seed: Uint8Array): Promise<NoteSigner> {
  checkName(name);
  const scheme = ed25519();
  const publicKey = await scheme.publicKeyFromSecretKey(seed);
  const secret = Uint8Array.from(seed);
  return {
    name,
    keyId: noteKeyId(name, SIGNATURE_TYPE_ED25519, publicKey),
    sign: (text) => scheme.sign(secret, utf8(text)),
  };
}

const SIGNER_PREFIX = 'PRIVATE+KEY+';

/** Parses Go's signer key `PRIVATE+KEY+name+hex8+base64(0x01 ‖ seed)` and checks its key ID. */
export async function noteSigner(signerKey: string): Promise<NoteSigner> {
  if (typeof signerKey !== 'string' || !signerKey.startsWith(SIGNER_PREFIX)) {
    throw new LedgerError('invalid-argument', `signer key must start with ${SIGNER_PREFIX}`);
  }
  const { name, keyId, type, key } = splitKey(signerKey.slice(SIGNER_PREFIX.length), 'signer key');
  if (type !== SIGNATURE_TYPE_ED25519 || key.length !== ED25519_KEY_LENGTH) {
    throw new LedgerError('invalid-argument', 'signer key must be an Ed25519 seed (type 0x01, 32 bytes)');
  }
  const signer = await ed25519NoteSigner(name, key);
  if (signer.keyId !== keyId)
    throw new LedgerError('invalid-argument', 'signer key ID does not match its key');
  return signer;
}

/** A fresh Ed25519 note key pair in Go's formats (signerKey for noteSigner, verifierKey for noteVerifier). */
export async function generateNoteKey(name: string): Promise<{ signerKey: string; verifierKey: string }> {
  checkName(name);
  const { publicKey, secretKey } = await ed25519().generateKeyPair();
  const keyId = hex8(noteKeyId(name, SIGNATURE_TYPE_ED25519, publicKey));
  return {
    signerKey: `${SIGNER_PREFIX}${name}+${keyId}+${toBase64(typed(SIGNATURE_TYPE_ED25519, secretKey))}`,
    verifierKey: verifierKeyFor(name, publicKey),
  };
}
