import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { isValidBlsG2PublicKey, isValidBlsSecretKey } from '../signatures/bls12-381.js';
import {
  isRsaModulus,
  isValidRsaSecretKey,
  RSA_MODULUS_BYTES,
  RSA_SECRET_KEY_BYTES,
} from '../signatures/rsa.js';
import type { KemAlgorithm, SignatureAlgorithm } from '../types.js';

/** Every algorithm whose keys this package encodes: the signature algorithms, X25519 and the KEMs. */
export type KeyAlgorithm = SignatureAlgorithm | 'X25519' | KemAlgorithm;

export interface KeyType {
  publicKeyLength: number;
  secretKeyLength: number;
  /** Multicodec codes (multiformats/multicodec table.csv); absent where the table has no entry for our raw form. */
  publicCodec?: number;
  secretCodec?: number;
  isValidPublicKey?(publicKey: Uint8Array): boolean;
  isValidSecretKey?(secretKey: Uint8Array): boolean;
}

const ecdsa = (
  curve: typeof p256,
  scalarLength: number,
  publicCodec: number,
  secretCodec: number,
): KeyType => ({
  publicKeyLength: scalarLength + 1,
  secretKeyLength: scalarLength,
  publicCodec,
  secretCodec,
  isValidPublicKey: (publicKey) => curve.utils.isValidPublicKey(publicKey, true),
  isValidSecretKey: (secretKey) => curve.utils.isValidSecretKey(secretKey),
});

/**
 * Raw key sizes and multicodec codes. Codes checked against multiformats/multicodec table.csv: ed25519-pub
 * 0xed, x25519-pub 0xec, secp256k1-pub 0xe7, bls12_381-g2-pub 0xeb, p256-pub 0x1200, p384-pub 0x1201,
 * p521-pub 0x1202, mlkem-768-pub 0x120c, mlkem-1024-pub 0x120d, mldsa-44/65/87-pub 0x1210–0x1212,
 * slhdsa-sha2-128s-pub 0x1220; ed25519-priv 0x1300, secp256k1-priv 0x1301, x25519-priv 0x1302, p256-priv
 * 0x1306, p384-priv 0x1307, p521-priv 0x1308, bls12_381-g2-priv 0x130a, mldsa-44/65/87-priv-seed
 * 0x131a–0x131c, slhdsa-sha2-128s-priv 0x131d. The NIST curves' public keys are compressed points (the
 * table says so): 33, 49 and 67 bytes.
 * ML-KEM secret keys have no seed code (mlkem-*-priv is the expanded key) and Falcon has no codes at all.
 * RSA-3072 gets none either: its raw forms are ours (signatures/rsa.ts), not multicodec's DER, and no DID
 * method here needs an RSA Multikey, so Multikey encoding refuses it with `unsupported-algorithm`.
 */
export const keyTypes: Record<KeyAlgorithm, KeyType> = {
  Ed25519: {
    publicKeyLength: 32,
    secretKeyLength: 32,
    publicCodec: 0xed,
    secretCodec: 0x1300,
    isValidPublicKey: (publicKey) => ed25519.utils.isValidPublicKey(publicKey, false),
  },
  X25519: { publicKeyLength: 32, secretKeyLength: 32, publicCodec: 0xec, secretCodec: 0x1302 },
  'P-256': ecdsa(p256, 32, 0x1200, 0x1306),
  'P-384': ecdsa(p384, 48, 0x1201, 0x1307),
  'P-521': ecdsa(p521, 66, 0x1202, 0x1308),
  secp256k1: ecdsa(secp256k1, 32, 0xe7, 0x1301),
  'BLS12-381-G2': {
    publicKeyLength: 96,
    secretKeyLength: 32,
    publicCodec: 0xeb,
    secretCodec: 0x130a,
    isValidPublicKey: isValidBlsG2PublicKey,
    isValidSecretKey: isValidBlsSecretKey,
  },
  'ML-DSA-44': { publicKeyLength: 1312, secretKeyLength: 32, publicCodec: 0x1210, secretCodec: 0x131a },
  'ML-DSA-65': { publicKeyLength: 1952, secretKeyLength: 32, publicCodec: 0x1211, secretCodec: 0x131b },
  'ML-DSA-87': { publicKeyLength: 2592, secretKeyLength: 32, publicCodec: 0x1212, secretCodec: 0x131c },
  'SLH-DSA-SHA2-128s': { publicKeyLength: 32, secretKeyLength: 64, publicCodec: 0x1220, secretCodec: 0x131d },
  'ML-KEM-768': { publicKeyLength: 1184, secretKeyLength: 64, publicCodec: 0x120c },
  'ML-KEM-1024': { publicKeyLength: 1568, secretKeyLength: 64, publicCodec: 0x120d },
  'Falcon-512': { publicKeyLength: 897, secretKeyLength: 1281 },
  'RSA-3072': {
    publicKeyLength: RSA_MODULUS_BYTES,
    secretKeyLength: RSA_SECRET_KEY_BYTES,
    isValidPublicKey: isRsaModulus,
    isValidSecretKey: isValidRsaSecretKey,
  },
};
