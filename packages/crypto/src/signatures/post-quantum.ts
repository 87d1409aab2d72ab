import { falcon512 } from '@noble/post-quantum/falcon.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js';
import { bufferOf, bytesOf, lazyNative } from '../backends/node-crypto.js';
import { randomBytes } from '../random.js';
import type { SignatureScheme } from '../types.js';
import { defineScheme } from './define.js';

type MlDsaAlgorithm = 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87';

/**
 * ML-DSA (FIPS 204), pure mode with an empty context. The secret key is the 32-byte seed ξ (what the JOSE
 * AKP `priv` member and the `mldsa-*-priv-seed` multicodec hold); the expanded key is derived per call.
 */
const mlDsa = {
  'ML-DSA-44': { noble: ml_dsa44, nodeName: 'ml-dsa-44', publicKeyLength: 1312, signatureLength: 2420 },
  'ML-DSA-65': { noble: ml_dsa65, nodeName: 'ml-dsa-65', publicKeyLength: 1952, signatureLength: 3309 },
  'ML-DSA-87': { noble: ml_dsa87, nodeName: 'ml-dsa-87', publicKeyLength: 2592, signatureLength: 4627 },
} as const;

const ML_DSA_SEED_LENGTH = 32;

function nobleMlDsa(algorithm: MlDsaAlgorithm): SignatureScheme {
  const { noble, publicKeyLength, signatureLength } = mlDsa[algorithm];
  return defineScheme({
    algorithm,
    backend: 'noble',
    publicKeyLength,
    secretKeyLength: ML_DSA_SEED_LENGTH,
    signatureLength,
    generateKeyPair() {
      const seed = randomBytes(ML_DSA_SEED_LENGTH);
      return { secretKey: seed, publicKey: noble.keygen(seed).publicKey };
    },
    publicKeyFromSecretKey: (seed) => noble.keygen(seed).publicKey,
    sign: (seed, message) => noble.sign(message, noble.keygen(seed).secretKey),
    verify: (publicKey, message, signature) => noble.verify(signature, message, publicKey),
  });
}

export const nobleMlDsa44 = nobleMlDsa('ML-DSA-44');
export const nobleMlDsa65 = nobleMlDsa('ML-DSA-65');
export const nobleMlDsa87 = nobleMlDsa('ML-DSA-87');

/** A native signature scheme over a Node key type whose secret key imports as `raw-seed` or `raw-private`. */
function nativePqSignature(
  algorithm: MlDsaAlgorithm | 'SLH-DSA-SHA2-128s',
  nodeName: string,
  secretFormat: 'raw-seed' | 'raw-private',
  lengths: { publicKeyLength: number; secretKeyLength: number; signatureLength: number },
) {
  return lazyNative(
    nodeName,
    (crypto) => {
      const { privateKey, publicKey } = crypto.generateKeyPairSync(nodeName as 'ml-dsa-44');
      const message = new Uint8Array(1);
      if (!crypto.verify(null, message, publicKey, crypto.sign(null, message, privateKey))) throw new Error();
      privateKey.export({ format: secretFormat });
    },
    (crypto) => {
      const keyType = { asymmetricKeyType: nodeName } as { asymmetricKeyType: 'ml-dsa-44' };
      const privateKey = (secretKey: Uint8Array) =>
        crypto.createPrivateKey({ key: bufferOf(secretKey), format: secretFormat, ...keyType });
      return defineScheme({
        algorithm,
        backend: 'native',
        ...lengths,
        generateKeyPair() {
          const pair = crypto.generateKeyPairSync(nodeName as 'ml-dsa-44');
          return {
            secretKey: bytesOf(pair.privateKey.export({ format: secretFormat })),
            publicKey: bytesOf(pair.publicKey.export({ format: 'raw-public' })),
          };
        },
        publicKeyFromSecretKey: (secretKey) =>
          bytesOf(crypto.createPublicKey(privateKey(secretKey)).export({ format: 'raw-public' })),
        sign: (secretKey, message) => bytesOf(crypto.sign(null, message, privateKey(secretKey))),
        // Importing a seed expands the whole key (about as costly as a signature): import it once.
        signer(secretKey) {
          const key = privateKey(secretKey);
          return (message) => bytesOf(crypto.sign(null, message, key));
        },
        verify(publicKey, message, signature) {
          const key = crypto.createPublicKey({ key: bufferOf(publicKey), format: 'raw-public', ...keyType });
          return crypto.verify(null, message, key, signature);
        },
      });
    },
  );
}

function nativeMlDsa(algorithm: MlDsaAlgorithm) {
  const { nodeName, publicKeyLength, signatureLength } = mlDsa[algorithm];
  return nativePqSignature(algorithm, nodeName, 'raw-seed', {
    publicKeyLength,
    secretKeyLength: ML_DSA_SEED_LENGTH,
    signatureLength,
  });
}

export const nativeMlDsa44 = nativeMlDsa('ML-DSA-44');
export const nativeMlDsa65 = nativeMlDsa('ML-DSA-65');
export const nativeMlDsa87 = nativeMlDsa('ML-DSA-87');

/**
 * SLH-DSA-SHA2-128s (FIPS 205), pure mode, empty context: small signatures (7,856 bytes), slow signing
 * (~0.3 s native, ~1.5 s noble) — for rarely used long-lived keys. The secret key is the 64-byte FIPS 205
 * encoding SK.seed ‖ SK.prf ‖ PK.seed ‖ PK.root, the public key PK.seed ‖ PK.root (32 bytes).
 */
const slhDsaLengths = { publicKeyLength: 32, secretKeyLength: 64, signatureLength: 7856 };

export const nobleSlhDsa = defineScheme({
  algorithm: 'SLH-DSA-SHA2-128s',
  backend: 'noble',
  ...slhDsaLengths,
  generateKeyPair: () => slh_dsa_sha2_128s.keygen(),
  publicKeyFromSecretKey: (secretKey) => slh_dsa_sha2_128s.getPublicKey(secretKey),
  sign: (secretKey, message) => slh_dsa_sha2_128s.sign(message, secretKey),
  verify: (publicKey, message, signature) => slh_dsa_sha2_128s.verify(signature, message, publicKey),
});

export const nativeSlhDsa = nativePqSignature(
  'SLH-DSA-SHA2-128s',
  'slh-dsa-sha2-128s',
  'raw-private',
  slhDsaLengths,
);

/**
 * Falcon-512 — NON-STANDARD: Round-3 Falcon as implemented by `@noble/post-quantum` (variable-length
 * "compressed" signatures, at most 752 bytes), not FIPS 206 FN-DSA, which is not final; expect no
 * interoperability with FN-DSA. Noble only (OpenSSL has no Falcon). Keys use noble's Round-3 encodings:
 * public 897 bytes, secret 1,281 bytes. Key generation takes ~150 ms.
 */
export const nobleFalcon512 = defineScheme({
  algorithm: 'Falcon-512',
  backend: 'noble',
  publicKeyLength: 897,
  secretKeyLength: 1281,
  // Header byte + 40-byte nonce + at least one byte of compressed s2, up to the Round-3 maximum.
  signatureLength: { min: 42, max: 752 },
  generateKeyPair: () => falcon512.keygen(),
  publicKeyFromSecretKey: (secretKey) => falcon512.getPublicKey(secretKey),
  sign: (secretKey, message) => falcon512.sign(message, secretKey),
  verify: (publicKey, message, signature) => falcon512.verify(signature, message, publicKey),
});
