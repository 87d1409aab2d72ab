import * as bbs from '@digitalbazaar/bbs-signatures';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { CryptoError } from '../errors.js';
import { defineScheme } from './define.js';

/**
 * BLS signatures on BLS12-381 with the public key in G2 (96 bytes compressed) and signatures in G1 (48
 * bytes compressed): the "minimal-signature-size" variant of draft-irtf-cfrg-bls-signature, basic scheme,
 * ciphersuite `BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_`. Keys in G2 are what the `bls12_381-g2-pub`
 * Multikey (0xeb) and the bbs-2023 cryptosuite use, so one key pair serves both; bbs-2023 itself signs
 * with BBS (draft-irtf-cfrg-bbs-signatures), not with this scheme. Noble only (OpenSSL has no pairings).
 * The secret key is the 32-byte big-endian scalar.
 */
const bls = bls12_381.shortSignatures;
const G2 = bls12_381.G2.Point;

function publicKeyBytes(secretKey: Uint8Array): Uint8Array {
  return bls.getPublicKey(secretKey).toBytes(true);
}

/** A point on the curve, in the prime-order subgroup, and not the identity (which would accept forgeries). */
export function isValidBlsG2PublicKey(publicKey: Uint8Array): boolean {
  try {
    const point = G2.fromBytes(publicKey);
    point.assertValidity();
    return !point.is0() && point.isTorsionFree();
  } catch {
    return false;
  }
}

/** A 32-byte big-endian scalar in [1, r − 1]; noble would silently reduce larger values modulo r. */
export function isValidBlsSecretKey(secretKey: Uint8Array): boolean {
  const scalar = bytesToNumberBE(secretKey);
  return scalar > 0n && scalar < bls12_381.fields.Fr.ORDER;
}

export const nobleBls12381G2 = defineScheme({
  algorithm: 'BLS12-381-G2',
  backend: 'noble',
  publicKeyLength: 96,
  secretKeyLength: 32,
  signatureLength: 48,
  generateKeyPair() {
    const secretKey = bls12_381.utils.randomSecretKey();
    return { secretKey, publicKey: publicKeyBytes(secretKey) };
  },
  publicKeyFromSecretKey: publicKeyBytes,
  sign: (secretKey, message) => bls.Signature.toBytes(bls.sign(bls.hash(message), secretKey)),
  verify: (publicKey, message, signature) =>
    bls.verify(bls.Signature.fromBytes(signature), bls.hash(message), G2.fromBytes(publicKey)),
  isValidPublicKey: isValidBlsG2PublicKey,
  checkPublicKeyFirst: true,
  isValidSecretKey: isValidBlsSecretKey,
});

/** What a BBS signature covers: a header and an ordered list of messages, each signed separately. */
export interface BbsMessages {
  header: Uint8Array;
  messages: readonly Uint8Array[];
}

/** BBS signatures on BLS12-381 are one G1 point and one scalar: 48 + 32 bytes. */
export const BBS_SIGNATURE_LENGTH = 80;

/**
 * A BBS signature (draft-irtf-cfrg-bbs-signatures, ciphersuite BBS-BLS12-381-SHA-256, the one bbs-2023
 * uses) with the same key pair as above: the secret scalar and its compressed G2 public key. Signed by
 * `@digitalbazaar/bbs-signatures`, the implementation the bbs-2023 cryptosuite derives and verifies with;
 * deterministic, so the same input always gives the same signature.
 */
export async function bbsSign(
  secretKey: Uint8Array,
  publicKey: Uint8Array,
  input: BbsMessages,
): Promise<Uint8Array> {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32 || !isValidBlsSecretKey(secretKey)) {
    throw new CryptoError('invalid-key', 'BLS12-381 secret key must be a 32-byte scalar in [1, r - 1]');
  }
  const { header, messages } = input ?? {};
  if (
    !(header instanceof Uint8Array) ||
    !Array.isArray(messages) ||
    !messages.every((message) => message instanceof Uint8Array)
  ) {
    throw new CryptoError('invalid-argument', 'BBS signs a header (bytes) and an array of messages (bytes)');
  }
  try {
    return await bbs.sign({
      secretKey,
      publicKey,
      header,
      messages: [...messages],
      ciphersuite: bbs.CIPHERSUITES.BLS12381_SHA256,
    });
  } catch (cause) {
    throw new CryptoError('invalid-key', 'BBS signing failed', { cause });
  }
}
